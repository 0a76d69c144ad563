"""API sign-in: exchange email and password for a bearer token; revoke it; who am I."""

from __future__ import annotations

import marshmallow as ma
from flask import g, request
from flask_login import current_user

from app.accounts import services
from app.accounts.policy import PUBLIC, SIGNED_IN, requires
from app.api import ApiBlueprint
from app.api.docs import error_response
from app.api.messages import Length

blp = ApiBlueprint("api_auth", __name__, url_prefix="/", description="Tokens and the signed-in user")


class TokenRequest(ma.Schema):
    email = ma.fields.String(required=True, validate=Length(max=254))
    password = ma.fields.String(required=True, validate=Length(max=1000), load_only=True)
    name = ma.fields.String(load_default="API", validate=Length(max=100))


class TokenResponse(ma.Schema):
    token = ma.fields.String()
    expires_at = ma.fields.DateTime()


class Me(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    full_name = ma.fields.String()
    role = ma.fields.Function(lambda user: user.role.value)
    school_id = ma.fields.Integer(allow_none=True)
    district = ma.fields.Function(lambda user: user.district.name if user.district else None)


@blp.route("auth/token", methods=["POST"])
@requires(PUBLIC)
@blp.arguments(TokenRequest)
@blp.response(201, TokenResponse)
@blp.alt_response(401, response=error_response(401))  # wrong email or password, or a disabled account
@blp.alt_response(429, response=error_response(429))  # too many failed sign-ins from this client
def create_token(args):
    """Sign in; returns a bearer token (shown once). Throttled like the sign-in page."""
    user = services.authenticate(args["email"], args["password"], client=request.remote_addr)
    token, raw = services.issue_token(user, args["name"])
    return {"token": raw, "expires_at": token.expires_at}


@blp.route("auth/token", methods=["DELETE"])
@requires(SIGNED_IN)
@blp.response(204)
def revoke_token():
    """Revoke the token that authorises this request."""
    services.revoke_token(current_user, g.api_token)


@blp.route("me", methods=["GET"])
@requires(SIGNED_IN)
@blp.response(200, Me)
def me():
    return current_user
