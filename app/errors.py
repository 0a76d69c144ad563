"""Errors raised by services, and how every error reaches a person or a client:
an HTML page in Vietnamese, or the API's ``{"error": {...}}`` body."""

from __future__ import annotations

from flask import g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db


class PortalError(Exception):
    """A refused request with a message for the user and optional per-field messages."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None, more: dict | None = None):
        self.message = str(message or ERROR_MESSAGES.get(self.status, ""))
        self.fields = {name: str(text) for name, text in (fields or {}).items()}
        self.headers = headers or {}
        self.more = more or {}  # further members of the API's error object (e.g. an import's problems)
        super().__init__(self.message)


class ValidationFailed(PortalError):
    status = 400
    code = "validation_error"


class NotFound(PortalError):
    status = 404
    code = "not_found"


class Conflict(PortalError):
    status = 409
    code = "conflict"


class UnsupportedType(PortalError):
    status = 415
    code = "unsupported_media_type"


class TooManyAttempts(PortalError):
    status = 429
    code = "too_many_requests"


class DatabaseUnavailable(PortalError):
    status = 503
    code = "database_unavailable"


ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    429: "too_many_requests", 500: "server_error", 503: "storage_unavailable",
}

ERROR_MESSAGES = {
    400: _l("The request could not be understood. Please check what you entered."),
    401: _l("Please sign in."),
    403: _l("You do not have permission to do this."),
    404: _l("The page or record was not found."),
    405: _l("This action is not available here."),
    409: _l("This conflicts with data that already exists."),
    413: _l("The file or form is too large."),
    415: _l("This file type is not allowed."),
    429: _l("Too many attempts. Please wait and try again."),
    500: _l("Something went wrong on the server. Your saved data is safe; please try again."),
    503: _l("The file store is not answering. Nothing was changed; please try again in a few minutes."),
}
DATABASE_UNAVAILABLE = _l("The database is not answering. What was not saved before is safe; please try again "
                          "in a minute.")


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def wants_json() -> bool:
    """Whether errors go back as the API's JSON body: API requests, and pages' scripts
    asking for JSON (the upload page's), which cannot read an HTML error page."""
    return is_api_request() or request.accept_mimetypes.best == "application/json"


def api_error(status: int, message: str | None = None, fields: dict | None = None, code: str | None = None,
              more: dict | None = None):
    """The API error response: ``{"error": {"code", "message", "fields", **more}}``."""
    body = {"error": {
        "code": code or ERROR_CODES.get(status, "error"),
        "message": str(message or ERROR_MESSAGES.get(status, "")),
        "fields": fields or {},
        **(more or {}),
    }}
    return jsonify(body), status


def flatten_messages(messages, prefix: str = "") -> dict[str, str]:
    """Turn marshmallow/webargs nested messages into ``{"field.sub": "message"}``."""
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, name))
    elif isinstance(messages, (list, tuple)) and all(not isinstance(m, (dict, list)) for m in messages):
        flat[prefix or "_schema"] = " ".join(str(m) for m in messages)
    elif isinstance(messages, (list, tuple)):
        for index, value in enumerate(messages):
            flat.update(flatten_messages(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or "_schema"] = str(messages)
    return flat


def _webargs_fields(error: HTTPException) -> dict[str, str]:
    data = getattr(error, "data", None) or {}
    if isinstance(data.get("exc"), ValueError):  # JSON or UTF-8 decoding failed: no fields to name
        return {}
    messages = data.get("messages") or data.get("errors") or {}
    # webargs keys messages by location ("json", "query", "form"); the client wants field names.
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "files", "headers", "view_args"}:
        merged: dict = {}
        for location_messages in messages.values():
            merged.update(location_messages if isinstance(location_messages, dict)
                          else {"_schema": location_messages})
        messages = merged
    return flatten_messages(messages)


def register_error_handlers(app) -> None:
    @app.errorhandler(PortalError)
    def handle_portal_error(error: PortalError):
        if wants_json():
            response, status = api_error(error.status, error.message, error.fields, error.code, error.more)
        else:
            response = app.make_response(
                (render_template("errors/error.html", status=error.status, message=error.message), error.status))
            status = error.status
        response.headers.update(error.headers)
        return response, status

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        status = error.code or 500
        if wants_json():
            fields = _webargs_fields(error)
            message = _("Some fields are not valid.") if fields else None
            if isinstance((getattr(error, "data", None) or {}).get("exc"), ValueError):
                message = _("The request body is not valid JSON.")
            response, status = api_error(status, message, fields)
            if status == 405 and error.valid_methods:
                response.headers["Allow"] = ", ".join(error.valid_methods)
            for name, value in ((getattr(error, "data", None) or {}).get("headers") or {}).items():
                response.headers[name] = value
            return response, status
        return render_template("errors/error.html", status=status, message=ERROR_MESSAGES.get(status)), status

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(error: IntegrityError):
        """Two people saving the same unique value at once: the second gets a 409, not a 500."""
        db.session.rollback()
        # The constraint's name, never the database's message: PostgreSQL's repeats the values.
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None) or "a constraint"
        app.logger.info("Refused by %s on %s %s", constraint, request.method, request.path)
        return handle_portal_error(Conflict())

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError):
        """The database did not answer (restarted, unreachable, busy past the wait): a 503
        that says so, never a traceback. The pool tests each connection before use
        (pool_pre_ping), so the next request after a restart gets a fresh one."""
        app.logger.error("Database unavailable on %s %s", request.method, request.path, exc_info=error)
        try:
            db.session.rollback()
        except OperationalError:
            db.session.close()
        if "_login_user" not in g:  # the page below must not ask the database who is signed in
            g._login_user = app.login_manager.anonymous_user()
        if wants_json():
            return api_error(503, str(DATABASE_UNAVAILABLE), code=DatabaseUnavailable.code)
        try:  # the layout reads the database (the unread notifications): it may fail again
            return render_template("errors/error.html", status=503, message=DATABASE_UNAVAILABLE), 503
        except OperationalError:
            db.session.close()
            return render_template("errors/plain.html", status=503, message=DATABASE_UNAVAILABLE), 503

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        message = _("The form expired or was sent from elsewhere. Please reload the page and send it again.")
        if wants_json():
            return api_error(400, message, code="csrf_failed")
        return render_template("errors/error.html", status=400, message=message), 400

    @app.errorhandler(InternalServerError)
    def handle_server_error(error: InternalServerError):
        app.logger.error("Unhandled error on %s %s", request.method, request.path,
                         exc_info=error.original_exception)
        db.session.rollback()  # the page below must not run on a broken transaction
        if wants_json():
            return api_error(500)
        return render_template("errors/error.html", status=500, message=ERROR_MESSAGES[500]), 500
