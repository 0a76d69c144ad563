"""How a request becomes a user: session cookies for pages, bearer tokens for the API."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import login_user
from sqlalchemy import select

from app.accounts import services
from app.accounts.models import User
from app.errors import is_api_request, wants_json
from app.extensions import db, login_manager


class PortalSessionInterface(SecureCookieSessionInterface):
    """Marks the cookie Secure whenever the request came over HTTPS (also behind a
    trusted proxy), so a school LAN on plain HTTP still works."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


@login_manager.user_loader
def load_user_from_session(session_token: str) -> User | None:
    if is_api_request():
        return None  # the API takes bearer tokens only, so it needs no CSRF protection
    return db.session.scalar(select(User).where(User.session_token == session_token, User.active.is_(True)))


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    if not is_api_request():
        return None
    scheme, _sep, raw = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = services.token_for(raw.strip())
    if token is None:
        return None
    g.api_token = token
    return token.user


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json():  # the API, and pages' scripts asking for JSON, get 401, not the sign-in page
        from flask import abort
        abort(401)
    flash(_("Please sign in to continue."), "info")
    return redirect(url_for("accounts.login", next=request.full_path if request.query_string else request.path))


def sign_in(user: User) -> None:
    """Start a fresh session for ``user``: nothing of the old session is kept."""
    locale = session.get("locale")
    session.clear()
    login_user(user)
    session.permanent = True
    if user.locale or locale:
        session["locale"] = user.locale or locale


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
