"""People who sign in, their API tokens, and the failed sign-ins that throttle guessing."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import enum_type
from app.extensions import UTCDateTime, db, utcnow
from app.schools.models import District, School
from app.scope import Scope


class Role(enum.StrEnum):
    STAFF = "staff"
    REVIEWER = "reviewer"
    PRINCIPAL = "principal"
    DISTRICT = "district"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @property
    def belongs_to_school(self) -> bool:
        return self in SCHOOL_ROLES


SCHOOL_ROLES = frozenset({Role.STAFF, Role.REVIEWER, Role.PRINCIPAL})

ROLE_LABELS = {
    Role.STAFF: _l("Staff"),
    Role.REVIEWER: _l("Reviewer"),
    Role.PRINCIPAL: _l("Principal"),
    Role.DISTRICT: _l("District officer"),
    Role.ADMIN: _l("Administrator"),
}


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    """A person. School roles belong to one school, a district officer to one district,
    an admin to neither (enforced by the ``role_scope`` constraint)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('staff', 'reviewer', 'principal') AND school_id IS NOT NULL AND district_id IS NULL)"
            " OR (role = 'district' AND district_id IS NOT NULL AND school_id IS NULL)"
            " OR (role = 'admin' AND school_id IS NULL AND district_id IS NULL)",
            name="role_scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Flask-Login keeps this in the session cookie; replacing it ends every session of the user.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    school: Mapped[School | None] = relationship()
    district: Mapped[District | None] = relationship()

    def get_id(self) -> str:
        return self.session_token

    def access_scope(self) -> Scope:
        if self.school is not None:
            return Scope(school_id=self.school.id, district_id=self.school.district_id)
        return Scope(district_id=self.district_id)

    @property
    def is_active(self) -> bool:
        return self.active

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored, so a leaked database reveals no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def access_scope(self) -> Scope:
        return Scope(owner_id=self.user_id)

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()


class LoginFailure(db.Model):
    """One failed sign-in; rows older than the throttle window are deleted as new ones come.
    ``account`` is the SHA-256 of the typed email, so no typed text is kept."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
