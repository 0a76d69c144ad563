"""What the OpenAPI document says about errors: the portal's one error body, and the
error statuses each operation can answer, worked out from how the request is handled
(the authorization gate, the request-text check, the body size limit, the database's
constraints) rather than written by hand on every endpoint."""

from __future__ import annotations

import http
import re

import marshmallow as ma

BEARER = [{"bearerAuth": []}]
_URL_VARIABLE = re.compile(r"<[^>]+>")
_BODY_METHODS = {"post", "put", "patch"}
_WRITE_METHODS = _BODY_METHODS | {"delete"}


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "validation_error"})
    message = ma.fields.String(required=True, metadata={"description": "For a person, in their language."})
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True,
                            metadata={"description": "A message per field (``name`` or ``items.0.name``); "
                                                     "may be empty."})
    problems = ma.fields.List(ma.fields.Nested("ImportProblemSchema"), metadata={
        "description": "A refused import's problems, each with its sheet, row and column."})
    more_problems = ma.fields.Integer(metadata={"description": "How many problems were left out of the list."})


class ImportProblemSchema(ma.Schema):
    sheet = ma.fields.String(required=True)
    row = ma.fields.Integer(allow_none=True, required=True)
    column = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class ErrorSchema(ma.Schema):
    """Every API error: ``{"error": {"code", "message", "fields"}}`` (see app.errors.api_error)."""

    error = ma.fields.Nested(ErrorDetailSchema, required=True)


def error_statuses(rule: str, method: str, action: str | None) -> set[int]:
    """The error statuses an operation answers, from its URL ``rule``, its HTTP ``method``
    and the ``action`` it declares with ``@requires``:

    - 400 always: query text with control characters is refused before any view runs,
      and so is a body that is not valid JSON or breaks the schema;
    - 401 unless public (no or a revoked token), 403 when some roles lack the action;
    - 404 when the URL names records (missing, or outside what the caller may see);
    - 409 for writes on shared data (unique values, records still in use);
    - 413 when a body is accepted (``MAX_CONTENT_LENGTH``).

    What only one endpoint answers (429 and wrong credentials on sign-in, 415 on uploads)
    it documents itself with ``@blp.alt_response(status, response=error_response(status))``."""
    from app.accounts.models import Role
    from app.accounts.policy import PERMISSIONS, PUBLIC, SIGNED_IN

    statuses = {400}
    if method in _BODY_METHODS:
        statuses.add(413)
    if action == PUBLIC:
        return statuses
    statuses.add(401)
    if action is None or PERMISSIONS.get(action, frozenset()) != frozenset(Role):
        statuses.add(403)
    if _URL_VARIABLE.search(rule):
        statuses.add(404)
    if method in _WRITE_METHODS and action != SIGNED_IN:
        statuses.add(409)
    return statuses


def error_response(status: int) -> str:
    """The name of the response component for an error ``status`` (flask-smorest registers
    one per HTTP status, with the portal's error body)."""
    return http.HTTPStatus(status).name


def document_errors(doc: dict, rule: str, method: str, action: str | None) -> None:
    """Add the error responses of :func:`error_statuses` (and the bearer security of a
    non-public operation) to one operation's doc info, keeping what the endpoint
    documented itself."""
    from app.accounts.policy import PUBLIC

    responses = doc.setdefault("response", {}).setdefault("responses", {})
    for status in sorted(error_statuses(rule, method, action)):
        if not responses.get(status):
            responses[status] = [error_response(status)]
    if action != PUBLIC:
        doc.setdefault("manual_doc", {}).setdefault("security", BEARER)
