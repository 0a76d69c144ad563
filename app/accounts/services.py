"""Account operations: sign-in with throttling, users, sessions and API tokens.

Each operation that changes state writes its audit entry and commits; validation
problems raise ValidationFailed / Conflict with per-field messages."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from app import audit
from app.accounts.models import SCHOOL_ROLES, ApiToken, LoginFailure, Role, User, new_session_token
from app.accounts.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Weakness,
    hash_password,
    needs_rehash,
    verify_password,
    weakness,
)
from app.errors import Conflict, PortalError, TooManyAttempts, ValidationFailed
from app.extensions import db, utcnow
from app.schools.models import District, School

TOKEN_PREFIX = "pt_"


class InvalidCredentials(PortalError):
    status = 401
    code = "invalid_credentials"


# --- validation helpers --------------------------------------------------------------

def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_problem(email: str) -> str | None:
    """A message when ``email`` is not a usable address, else None."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return _("Enter a valid email address, e.g. ten@truong.edu.vn.")
    return None


# Why a password is refused, in the person's language (zxcvbn's own feedback is English).
WEAKNESS_MESSAGES = {
    Weakness.PERSONAL: _l("The password contains the account's name or email, or the school's name or code, "
                          "which others can easily guess."),
    Weakness.VIETNAMESE: _l("The password is built on a word or password very common in Vietnam "
                            "(such as matkhau, anhyeuem, hocsinh)."),
    Weakness.COMMON: _l("This password is on the list of common passwords."),
    Weakness.SUBSTITUTED: _l("This password is a common password with a few letters swapped "
                             "(such as @ for a, 0 for o)."),
    Weakness.KEYBOARD: _l("Keyboard runs such as qwerty are easy to guess."),
    Weakness.REPEATED: _l("Repeated characters or groups (such as aaa, abcabc) are easy to guess."),
    Weakness.SEQUENCE: _l("Sequences such as abc or 1234 are easy to guess."),
    Weakness.DATE: _l("Dates and years are easy to guess."),
    Weakness.WORD: _l("A single word or name is easy to guess."),
    Weakness.SIMPLE: _l("The password is too short or too simple."),
}


def password_problem(password: str, details: Iterable[str | None] = (), *, check_strength: bool = True) -> str | None:
    """A message when ``password`` cannot be accepted, else None: outside 8..128
    characters, or (unless ``check_strength`` is False) too easy to guess as
    passwords.weakness rates it: under zxcvbn score 3, the person's ``details`` (email,
    name, school name and code…) counting as words an attacker tries first. The
    message says why, then what to do."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("The password must have at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)
    if check_strength and (why := weakness(password, details)):
        return f"{WEAKNESS_MESSAGES[why]} {_('Add a few unrelated words or characters.')}"
    return None


def _details(email: str, full_name: str, school: School | None, district: District | None) -> list[str]:
    """What someone who knows this person would try in their password."""
    return [email, full_name, *((school.name, school.code) if school else ()), *((district.name,) if district else ())]


# --- signing in --------------------------------------------------------------------

def _account_key(email: str) -> str:
    """What the throttle stores for the typed email: a hash, never the text (people
    sometimes type a password into the email field)."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def _start_attempt(email: str, client: str) -> tuple[str, str]:
    """Put a sign-in attempt on record as a failure before any password is checked, so
    parallel guesses are counted too; the caller clears it on success. Returns the
    (account, client) it is recorded under.

    Raises TooManyAttempts while this account has too many recent failures from this
    client, or this client has too many on any accounts. Locks are scoped to the client,
    so nobody can lock another person out from elsewhere, and they end when the window
    passes. The record may be gone by the time it is counted: a parallel sign-in to the
    same account from the same client that succeeded cleared it."""
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    now = utcnow()
    account, client = _account_key(email), (client or "unknown")[:64]
    attempt = LoginFailure(account=account, client=client, failed_at=now)
    db.session.execute(delete(LoginFailure).where(LoginFailure.failed_at < now - window))
    db.session.add(attempt)
    db.session.flush()
    attempt_id = attempt.id
    db.session.commit()

    def recent(*conditions) -> int:
        return db.session.scalar(select(func.count(LoginFailure.id))
                                 .where(*conditions, LoginFailure.failed_at >= now - window))
    if (recent(LoginFailure.account == account, LoginFailure.client == client)
            > config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
            or recent(LoginFailure.client == client) > config["LOGIN_MAX_FAILURES_PER_CLIENT"]):
        # A refused attempt does not extend the lock.
        db.session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
        db.session.commit()
        raise TooManyAttempts(
            _("Too many failed sign-ins. Please wait %(minutes)d minutes and try again.",
              minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"]),
            headers={"Retry-After": str(math.ceil(window.total_seconds()))},
        )
    return account, client


def _attempt_succeeded(account: str, client: str) -> None:
    """The right password: forget this client's failures on this account. Other
    clients' failures stay, so the owner signing in does not give a guesser elsewhere
    a fresh set of guesses."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.account == account, LoginFailure.client == client))


def authenticate(email: str, password: str, client: str) -> User:
    """The active user with these credentials; the sign-in is audited as
    ``user.signed_in``, and each refused one as ``user.sign_in_failed`` (with the email
    typed, never the password).

    Raises TooManyAttempts (429, whatever the password) while throttled, and
    InvalidCredentials with one message for an unknown email and a wrong password."""
    try:
        attempt = _start_attempt(email, client)
    except TooManyAttempts:
        _sign_in_failed(email, "throttled")
        raise
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if not verify_password(user.password_hash if user else None, password or ""):
        _sign_in_failed(email, "wrong_credentials", user)
        raise InvalidCredentials(_("Wrong email or password."))
    _attempt_succeeded(*attempt)
    if not user.active:
        db.session.commit()
        _sign_in_failed(email, "disabled", user)
        raise InvalidCredentials(_("This account is disabled. Please contact your school's principal "
                                   "or the administrator."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(user, "user.signed_in", user)
    db.session.commit()
    return user


def _sign_in_failed(email: str, reason: str, user: User | None = None) -> None:
    """Audit a refused sign-in (on the account tried, when it exists, so its school's log
    shows it). The typed email is kept only when it is an email address: people
    sometimes type their password into that field."""
    typed = normalise_email(email)[:254]
    if user is None:
        user = db.session.scalar(select(User).where(User.email == typed))
    audit.record_at_once(None, "user.sign_in_failed", user, email=None if email_problem(typed) else typed,
                         reason=reason)


def clear_login_failures(email: str) -> int:
    """Lift the sign-in throttle on an account at once (admin CLI); returns rows removed."""
    result = db.session.execute(delete(LoginFailure).where(LoginFailure.account == _account_key(email)))
    db.session.commit()
    return result.rowcount


def end_all_sessions(user: User) -> None:
    """Invalidate every session of ``user`` (their cookies carry the old token)."""
    user.session_token = new_session_token()


def revoke_all_tokens(user: User) -> None:
    """Revoke every API token of ``user`` (on a new password or a disabled account)."""
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def sign_out(user: User) -> None:
    end_all_sessions(user)
    audit.record(user, "user.signed_out", user)
    db.session.commit()


# --- users ---------------------------------------------------------------------------

def assignable_roles(actor: User) -> list[Role]:
    """Roles ``actor`` may give: an admin any, a principal the roles of a school."""
    if actor.role == Role.ADMIN:
        return list(Role)
    if actor.role == Role.PRINCIPAL:
        return [role for role in Role if role in SCHOOL_ROLES]
    return []


def _check_placement(actor: User, role: Role, school: School | None, district: District | None) -> dict:
    errors = {}
    if role not in assignable_roles(actor):
        errors["role"] = _("You cannot give this role.")
    if role in SCHOOL_ROLES and school is None:
        errors["school"] = _("Choose the school this person belongs to.")
    if role == Role.DISTRICT and district is None:
        errors["district"] = _("Choose the district this officer belongs to.")
    if actor.role == Role.PRINCIPAL and school is not None and school.id != actor.school_id:
        errors["school"] = _("You can only manage the users of your own school.")
    return errors


def create_user(actor: User | None, *, email: str, full_name: str, password: str, role: Role | str,
                school: School | None = None, district: District | None = None,
                check_strength: bool = True) -> User:
    """Create a user; ``actor`` None means the command line (acts as an admin).

    ``check_strength`` False skips the strength estimate (not the length limits): only
    for the demo, whose password is published anyway."""
    role = Role(role)
    email = normalise_email(email)
    full_name = (full_name or "").strip() or email.split("@")[0]
    errors = _check_placement(actor or _CLI_ADMIN, role, school, district)
    if problem := email_problem(email):
        errors["email"] = problem
    placed_school = school if role in SCHOOL_ROLES else None
    placed_district = district if role == Role.DISTRICT else None
    if problem := password_problem(password, _details(email, full_name, placed_school, placed_district),
                                   check_strength=check_strength):
        errors["password"] = problem
    if len(full_name) > 200:
        errors["full_name"] = _("At most %(n)d characters.", n=200)
    if errors:
        raise ValidationFailed(fields=errors)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(_("This email is already used by another account."),
                       fields={"email": _("This email is already used by another account.")})
    user = User(email=email, full_name=full_name, password_hash=hash_password(password), role=role,
                school=placed_school, district=placed_district)
    db.session.add(user)
    audit.record(actor, "user.created", user, email=email, role=role.value)
    db.session.commit()
    return user


class _CommandLineAdmin:
    """The actor for CLI operations: the server's operator, with an admin's reach."""
    id = None
    role = Role.ADMIN
    school_id = None


_CLI_ADMIN = _CommandLineAdmin()


def update_user(actor: User, user: User, *, full_name: str, role: Role | str, active: bool,
                school: School | None = None, district: District | None = None) -> User:
    """Change a user's name, role, placement or active flag.

    Nobody can disable themselves or change their own role (so an admin always remains)."""
    role = Role(role)
    errors = _check_placement(actor, role, school, district)
    if user.role not in assignable_roles(actor):
        errors["role"] = _("You cannot change this account.")
    if user.id == actor.id and (not active or role != user.role):
        errors["active" if not active else "role"] = _("You cannot disable your own account or change your own role.")
    full_name = (full_name or "").strip()
    if not full_name:
        errors["full_name"] = _("Enter the full name.")
    if errors:
        raise ValidationFailed(fields=errors)
    before = {"role": user.role.value, "active": user.active, "school_id": user.school_id,
              "district_id": user.district_id, "full_name": user.full_name}
    user.full_name = full_name
    user.role = role
    user.school = school if role in SCHOOL_ROLES else None
    user.district = district if role == Role.DISTRICT else None
    if user.active and not active:
        end_all_sessions(user)
        revoke_all_tokens(user)
    user.active = active
    after = {"role": role.value, "active": active, "school_id": user.school.id if user.school else None,
             "district_id": user.district.id if user.district else None, "full_name": full_name}
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    audit.record(actor, "user.updated", user, changes=changes)
    db.session.commit()
    return user


def set_password(actor: User | None, user: User, new_password: str) -> None:
    """Set ``user``'s password (admin, principal or CLI) and end all their sessions."""
    if actor is not None and user.role not in assignable_roles(actor):
        raise ValidationFailed(fields={"password": _("You cannot change this account.")})
    if problem := password_problem(new_password, _details(user.email, user.full_name, user.school, user.district)):
        raise ValidationFailed(fields={"password": problem})
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    revoke_all_tokens(user)
    audit.record(actor, "user.password_reset", user)
    db.session.commit()


def change_own_password(user: User, current_password: str, new_password: str, client: str) -> None:
    """Change one's own password; every other session and every API token of the user
    end (the caller signs the current session in again with the new session token).
    Wrong current passwords count against the sign-in throttle."""
    if problem := password_problem(new_password, _details(user.email, user.full_name, user.school, user.district)):
        raise ValidationFailed(fields={"new_password": problem})
    attempt = _start_attempt(user.email, client)
    if not verify_password(user.password_hash, current_password or ""):
        raise ValidationFailed(fields={"current_password": _("The current password is not correct.")})
    _attempt_succeeded(*attempt)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    revoke_all_tokens(user)
    audit.record(user, "user.password_changed", user)
    db.session.commit()


def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.commit()


def users_visible_to(actor: User):
    """A select of the users ``actor`` manages, by name."""
    query = select(User).order_by(User.full_name, User.email)
    if actor.role == Role.PRINCIPAL:
        query = query.where(User.school_id == actor.school_id)
    elif actor.role != Role.ADMIN:
        query = query.where(False)
    return query


def search_users(query, text: str):
    if text:
        pattern = f"%{text.strip().lower()}%"
        query = query.where(or_(func.lower(User.full_name).like(pattern), User.email.like(pattern)))
    return query


# --- API tokens --------------------------------------------------------------------

def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str = "API", days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the raw token, shown only once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    days = days or current_app.config["API_TOKEN_DAYS"]
    token = ApiToken(user=user, name=(name or "API").strip()[:100], token_hash=_token_hash(raw),
                     expires_at=utcnow() + timedelta(days=days))
    db.session.add(token)
    audit.record(user, "token.issued", token, school_id=user.school_id, name=token.name)
    db.session.commit()
    return token, raw


def token_for(raw: str) -> ApiToken | None:
    """The usable token matching ``raw`` (its user active), else None."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                              .where(ApiToken.token_hash == _token_hash(raw)))
    if token is None or not token.usable or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now  # coarse, so reads do not each cost a write
        try:
            db.session.commit()
        except OperationalError:  # a GET's read-only SQLite transaction lost a race to a writer
            db.session.rollback()  # the timestamp is bookkeeping; the request goes on
    return token


def revoke_token(actor: User, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "token.revoked", token, school_id=token.user.school_id)
        db.session.commit()


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc())))
