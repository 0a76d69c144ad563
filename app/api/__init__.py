"""The JSON API (v1): shared pieces — the flask-smorest Api, blueprints that answer bad
input with 400 in the portal's error format and document the errors each operation can
answer (app.api.docs), pagination — and the registration under ``/api/v1`` of the
domains' API blueprints that the application factory passes."""

from __future__ import annotations

import flask_smorest
import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask

from app.api.docs import ErrorSchema, document_errors
from app.api.links import add_links
from app.api.messages import Range
from app.extensions import csrf, db


class PortalApi(flask_smorest.Api):
    """flask-smorest without its own error handlers: app.errors formats every error, and
    the document describes that body (``Error``) instead of flask-smorest's. No catch-all
    "default" response: each operation lists the error statuses it answers."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        pass


class ApiBlueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint whose bad input answers 400, and whose every operation
    is documented with its error responses and, unless public, bearer security."""

    ARGUMENTS_PARSER = flask_smorest.Blueprint.ARGUMENTS_PARSER.__class__()
    ARGUMENTS_PARSER.DEFAULT_VALIDATION_STATUS = 400

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
        action = getattr(view_func, "required_action", None)
        for method, doc in self._docs[self._endpoints[-1]].items():
            if method != "parameters":
                document_errors(doc, rule, method, action)

    def response_one_or_many(self, status_code, schema: type[ma.Schema]):
        """``response(status_code, schema)`` documented as one object or a list of them:
        the answer of a create that takes one object or a list (the view returns a list
        already serialised)."""
        decorate = self.response(status_code, schema)

        def decorator(func):
            wrapper = decorate(func)
            one = wrapper._apidoc["response"]["responses"][status_code][-1]
            one["schema"] = {"oneOf": [one["schema"], {"type": "array", "items": one["schema"]}]}
            return wrapper
        return decorator


def schema_name(schema) -> str:
    """OpenAPI component name: ``SchoolSchema`` → ``School``; a partial one → ``SchoolPatch``."""
    name = resolve_schema_cls(schema).__name__.removesuffix("Schema")
    return name + "Patch" if getattr(schema, "partial", False) else name


api = PortalApi(spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=20, validate=Range(min=1, max=100))


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The list envelope ``{"items": [...], "total": N}`` around ``item_schema``."""
    return type(item_schema.__name__.replace("Schema", "") + "PageSchema", (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "total": ma.fields.Integer(),
    })


def page_of(query, args: dict) -> dict:
    """One page of ``query`` (counted and sliced in the database)."""
    page = db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False, count=True)
    return {"items": page.items, "total": page.total}


def register_api(app: Flask, blueprints: list[ApiBlueprint]) -> None:
    """Register each domain's API ``blueprints`` under ``/api/v1`` (the application factory
    passes them, so this module imports no domain), link their operations (app.api.links),
    and serve the OpenAPI document publicly."""
    from app.accounts.policy import PUBLIC, requires

    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in blueprints:
        csrf.exempt(blueprint)  # bearer tokens only: no cookies, so no cross-site forgery
        api.register_blueprint(blueprint, url_prefix="/api/v1" + blueprint.url_prefix)
    document = api.spec.to_dict()  # apispec's own path objects: the links land in the served document
    add_links(document["paths"], document.get("components", {}).get("schemas", {}))
    openapi_json = app.view_functions["api-docs.openapi_json"]

    @requires(PUBLIC)
    def public_openapi_json():
        return openapi_json()

    app.view_functions["api-docs.openapi_json"] = public_openapi_json
