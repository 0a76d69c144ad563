"""Request hygiene shared by every route: text the database cannot keep is refused
before any view runs, and every response carries the portal's security headers."""

from __future__ import annotations

import re

from flask import Flask, request
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import ValidationFailed

# Control characters other than tab and line breaks, and lone UTF-16 surrogates: the
# database either refuses them (PostgreSQL and NUL) or cannot encode them.
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# The most a client that is not signed in may send: a sign-in form or a token request is
# far smaller. Only signed-in users upload, so a stranger on the school's Wi-Fi cannot hold
# a server thread with a large body trickled in slowly (app/ops/worker.py).
ANONYMOUS_BODY_LIMIT = 64 * 1024

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def strip_unprintable(text: str) -> str:
    """``text`` without the characters :data:`UNPRINTABLE` matches (for pasted form input)."""
    return UNPRINTABLE.sub("", text)


def _unprintable_fields(value, name: str = "") -> list[str]:
    if isinstance(value, str):
        return [name or "_schema"] if UNPRINTABLE.search(value) else []
    if isinstance(value, dict):
        return [field for key, item in value.items()
                for field in _unprintable_fields(key, name or "_schema") + _unprintable_fields(
                    item, f"{name}.{key}" if name else str(key))]
    if isinstance(value, list):
        return [field for index, item in enumerate(value)
                for field in _unprintable_fields(item, f"{name}.{index}" if name else str(index))]
    return []


def check_request_text() -> None:
    """Refuse (400) query parameters, JSON bodies and the API's form fields holding
    unprintable characters, and JSON nested too deeply to parse. The pages' form posts are
    cleaned by ``PortalForm`` (and app.text.clean) instead, so text pasted from a word
    processor is not lost."""
    message = _("This field contains characters that are not allowed.")
    problems = {name: message for name, value in request.args.items(multi=True)
                if UNPRINTABLE.search(name) or UNPRINTABLE.search(value)}
    if request.path.startswith("/api/") and request.mimetype in ("multipart/form-data",
                                                                 "application/x-www-form-urlencoded"):
        problems.update({name: message for name, value in request.form.items(multi=True)
                         if UNPRINTABLE.search(name) or UNPRINTABLE.search(value)})
    if request.is_json and request.content_length != 0:
        try:
            body = request.get_json(silent=True)  # cached for the view; invalid JSON reads as None
        except RecursionError:
            raise ValidationFailed(_("The request body is nested too deeply.")) from None
        problems.update(dict.fromkeys(_unprintable_fields(body), message))
    if problems:
        raise ValidationFailed(_("Some fields are not valid."), fields=problems)


def limit_anonymous_bodies() -> None:
    """A body over ANONYMOUS_BODY_LIMIT from a client not signed in is refused (413)
    before it is read."""
    if not current_user.is_authenticated:
        request.max_content_length = min(ANONYMOUS_BODY_LIMIT, request.max_content_length or ANONYMOUS_BODY_LIMIT)


def security_headers(response):
    """Headers on every response; pages and API answers are never stored by caches
    (they hold a school's data), static assets may be."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def register(app: Flask) -> None:
    """The authorization gate first (before CSRF, so a refused role gets 403 and never a
    CSRF message), then the limit on strangers' bodies, then the text check, then
    response headers."""
    from app.accounts.policy import authorize_request
    from app.accounts.sessions import PortalSessionInterface

    app.session_interface = PortalSessionInterface()
    app.before_request(authorize_request)
    app.before_request(limit_anonymous_bodies)
    app.before_request(check_request_text)
    app.after_request(security_headers)
