"""``flask --app wsgi accounts ...``: create users and tokens from the server's shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.accounts import services
from app.accounts.models import SCHOOL_ROLES, Role, User
from app.errors import PortalError
from app.extensions import db
from app.schools.models import District, School

accounts_cli = AppGroup("accounts", help="Manage user accounts.")


def _fail(error: PortalError) -> None:
    details = "".join(f"\n  {field}: {message}" for field, message in error.fields.items())
    raise click.ClickException(f"{error.message}{details}")


def _district(name: str, province: str | None) -> District:
    query = select(District).where(District.name == name)
    if province:
        query = query.where(District.province == province)
    matches = db.session.scalars(query).all()
    if len(matches) == 1:
        return matches[0]
    if not matches and province:
        from app.schools.services import district_for
        return district_for(name, province)
    known = ", ".join(f"'{d.name}' ({d.province})" for d in db.session.scalars(select(District))) or "none"
    if matches:
        raise click.ClickException(f"Several districts are called '{name}'; add --province. Known: {known}")
    raise click.ClickException(f"No district '{name}'. Add --province to create it. Known: {known}")


@accounts_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 8 characters and hard to guess.")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--school", "school_code", help="School code (staff, reviewer, principal).")
@click.option("--district", "district_name", help="District name (district officers).")
@click.option("--province", help="Province of the district, when the name is not unique or is new.")
@click.option("--name", "full_name", default="", help="Full name (defaults to the email's first part).")
def create(email, password, role, school_code, district_name, province, full_name):
    """Create a user account."""
    role = Role(role)
    school = district = None
    if role in SCHOOL_ROLES:
        if not school_code:
            raise click.UsageError(f"--school CODE is required for the role {role.value}.")
        school = db.session.scalar(select(School).where(School.code == school_code.strip().upper()))
        if school is None:
            raise click.ClickException(f"No school with code '{school_code}'.")
    elif role == Role.DISTRICT:
        if not district_name:
            raise click.UsageError("--district NAME is required for the role district.")
        district = _district(district_name.strip(), province and province.strip())
    elif school_code or district_name:
        raise click.UsageError("An admin belongs to no school or district.")
    try:
        user = services.create_user(None, email=email, full_name=full_name, password=password, role=role,
                                    school=school, district=district)
    except PortalError as error:
        _fail(error)
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == services.normalise_email(email)))
    if user is None:
        raise click.ClickException(f"No account with email '{email}'.")
    return user


@accounts_cli.command("token")
@click.argument("email")
@click.option("--name", default="CLI", help="What the token is for.")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Days until it expires.")
def token(email, name, days):
    """Print a new API token for EMAIL (it is stored only as a hash)."""
    user = _user(email)
    if not user.active:
        raise click.ClickException(f"The account '{email}' is disabled.")
    _row, raw = services.issue_token(user, name, days)
    click.echo(raw)


@accounts_cli.command("set-password")
@click.argument("email")
@click.password_option()
def set_password(email, password):
    """Set a new password for EMAIL and end their sessions."""
    try:
        services.set_password(None, _user(email), password)
    except PortalError as error:
        _fail(error)
    click.echo("Password set.")


@accounts_cli.command("unlock")
@click.argument("email")
def unlock(email):
    """Lift the sign-in throttle on EMAIL now, instead of waiting for it to pass."""
    removed = services.clear_login_failures(email)
    click.echo(f"Cleared {removed} failed sign-in(s).")
