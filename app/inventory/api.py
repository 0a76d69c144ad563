"""``/api/v1/schools/{school_id}/<collection>`` for every inventory collection: list,
create (one object, or a list created in one transaction), read, change, delete. One
record's answer (read, change, create of one) also says what it counts towards in the
index (``supports``); lists leave that out, as it costs queries per record."""

from __future__ import annotations

import marshmallow as ma
from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.policy import requires
from app.api import ApiBlueprint, PageArgs, page_of, page_schema
from app.api.docs import error_response
from app.api.messages import Length
from app.db_types import is_record_id, parse_id
from app.errors import UnsupportedType, ValidationFailed
from app.extensions import db
from app.framework.services import framework
from app.framework.supports import supports
from app.inventory import imports, services
from app.inventory.listing import LISTINGS, list_request, listed
from app.inventory.services import COLLECTIONS, Collection
from app.schools.models import School

blp = ApiBlueprint("api_inventory", __name__, url_prefix="/schools", description="Inventory")
SECURITY = [{"bearerAuth": []}]


def json_body(expect_list_too: bool = False):
    """The request's JSON body: an object (or, when allowed, a list). Raises ValidationFailed."""
    body = request.get_json(silent=True)
    if body is None:
        raise ValidationFailed(_("The request body is not valid JSON."))
    if isinstance(body, dict) or (expect_list_too and isinstance(body, list)):
        return body
    raise ValidationFailed(_("The request body must be a JSON object."))


def expected_version(body: dict, current: int) -> int | None:
    """The version a change was based on: the body's ``version`` (taken out of it), or
    the ``If-Match`` header's. If-Match may list several ETags (``"2", "3"``): the
    ``current`` version when one of them is it, else one of them; a weak ETag
    (``W/"3"``) never matches, as RFC 9110 says, so only weak ones count as stale (0).
    None when neither is sent. Raises ValidationFailed when a version is not a version
    number."""
    if "version" in body:
        version = body.pop("version")
        versions = {version if isinstance(version, int) and not isinstance(version, bool) else None}
    elif "If-Match" in request.headers:
        if request.if_match.star_tag:
            return None
        if not request.if_match:  # present but not a list of ETags ('"1', ',')
            versions = {None}
        else:
            versions = {parse_id(tag) for tag in request.if_match.as_set()}
            if not versions:
                return 0
    else:
        return None
    if None in versions or not all(is_record_id(version) for version in versions):
        raise ValidationFailed(_("Some fields are not valid."),
                               fields={"version": _("Must be the record's version: a whole number from 1.")})
    return current if current in versions else min(versions)


IF_MATCH_DOC = blp.doc(parameters=[{
    "in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
    "description": 'The ETag of the version the change is based on (`"3"`); an older one answers 409.'}])


def with_etag(record):
    """The record as the API answers it, with its version as the ETag."""
    return record, 200, {"ETag": f'"{record.version}"'}


def json_request_doc(schema: dict):
    return blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": schema}}})


def list_args(model: type) -> type[ma.Schema]:
    """The query arguments of a collection's list: pages, ``q`` (search without
    diacritics), ``sort`` and ``dir``, and a filter per field the list page filters on
    (``?status=broken&kind=projector``). Values a filter does not know are ignored, as
    on the page."""
    listing = LISTINGS[model]
    sortable = [column.key for column in listing.columns if column.sortable]
    fields = {
        "q": ma.fields.String(load_default="", validate=Length(max=100),
                              metadata={"description": "Words to find, with or without diacritics."}),
        "sort": ma.fields.String(load_default="", metadata={"enum": sortable}),
        "dir": ma.fields.String(load_default="", metadata={"enum": ["asc", "desc"]}),
        **{choice.key: ma.fields.String(load_default="", validate=Length(max=40),
                                        metadata={"description": str(choice.label)}) for choice in listing.filters},
    }
    return type(f"{model.__name__}ListArgs", (PageArgs,), fields)


class SupportSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "The sub-item (or criterion) code, e.g. 1.7.a."})
    counts = ma.fields.Boolean(metadata={"description": "Whether the record counts towards it now."})
    reason = ma.fields.String(metadata={"description": "Why, or what is missing, in Vietnamese: "
                                                       "\"6A: phòng học có Internet và máy chiếu đang dùng → 1.7.a\"."})


class Supports(ma.fields.List):
    """The sub-items of the index the dumped record counts towards, or could count
    towards and why it does not (app.framework.supports), found when dumped."""

    def __init__(self):
        super().__init__(ma.fields.Nested(SupportSchema), dump_only=True, metadata={
            "description": "The index's sub-items this record counts towards, or could and does not yet, and why. "
                           "In one record's answers only, not in lists."})

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return supports(obj, framework())


def one_record_schema(schema: type[ma.Schema]) -> type[ma.Schema]:
    """``schema`` with ``supports``: the answer about one record (``RoomSchema`` →
    ``RoomDetail`` in the OpenAPI document)."""
    return type(schema.__name__.removesuffix("Schema") + "DetailSchema", (schema,), {"supports": Supports()})


def register(collection: Collection) -> None:
    """Add the five endpoints of ``collection`` to the blueprint."""
    base = f"/<id:school_id>/{collection.name}"
    one = f"{base}/<id:{collection.param}>"
    schema = collection.schema
    detail = one_record_schema(schema)
    name = collection.name

    def list_records(args, school_id):
        wanted = list_request(collection.model, args)
        return page_of(listed(collection.model, school_id, wanted, collection.order_by()), args)

    def create(school_id):
        body = json_body(expect_list_too=True)
        school = db.session.get(School, school_id)
        if isinstance(body, list):  # a list answers a list
            return jsonify(schema(many=True).dump(services.create_records(current_user, school, collection, body))), 201
        return services.create_record(current_user, school, collection, body)

    def read(school_id, **ids):
        return with_etag(db.session.get(collection.model, ids[collection.param]))

    def change(school_id, **ids):
        body = json_body()
        record = db.session.get(collection.model, ids[collection.param])
        return with_etag(services.update_record(current_user, record, body, expected_version(body, record.version)))

    def delete(school_id, **ids):
        record = db.session.get(collection.model, ids[collection.param])
        services.delete_record(current_user, record, expected_version({}, record.version))

    ref = {"$ref": f"#/components/schemas/{schema.__name__.removesuffix('Schema')}"}
    one_or_many = {"oneOf": [ref, {"type": "array", "items": ref}]}
    endpoints = [
        (base, "GET", f"list_{name}", list_records,
         [requires("inventory.view"), blp.arguments(list_args(collection.model), location="query"),
          blp.response(200, page_schema(schema))], f"List the school's {name}."),
        (base, "POST", f"create_{name}", create,
         [requires("inventory.edit"), json_request_doc(one_or_many), blp.response_one_or_many(201, detail)],
         f"Create one of the school's {name} (an object), or several in one transaction (a list)."),
        (one, "GET", f"get_{name}", read, [requires("inventory.view"), blp.response(200, detail)], None),
        (one, "PATCH", f"update_{name}", change,
         [requires("inventory.edit"), json_request_doc(ref), IF_MATCH_DOC, blp.response(200, detail)],
         "Change any of the fields; with `version` (or If-Match), only if nobody changed the record since."),
        (one, "DELETE", f"delete_{name}", delete, [requires("inventory.edit"), IF_MATCH_DOC, blp.response(204)],
         "Delete the record; with If-Match, only if nobody changed it since."),
    ]
    for rule, method, endpoint, view, decorators, summary in endpoints:
        view.__name__ = endpoint
        view.__doc__ = summary
        for decorate in reversed(decorators):
            view = decorate(view)
        blp.route(rule, methods=[method], endpoint=endpoint)(blp.doc(security=SECURITY)(view))


for _collection in COLLECTIONS.values():
    register(_collection)


class ImportedSchema(ma.Schema):
    created = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                             metadata={"description": "Records created per collection (rooms, equipment, …)."})
    total = ma.fields.Integer()


UPLOAD_DOC = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "The portal's XLSX template filled in, or a CSV of one of its sheets."}}}}}}


@blp.route("/<id:school_id>/inventory/import", methods=["POST"], endpoint="import_inventory")
@requires("inventory.edit")
@blp.doc(requestBody=UPLOAD_DOC)
@blp.response(201, ImportedSchema)
@blp.alt_response(415, response=error_response(415))  # neither .xlsx nor .csv
def import_inventory(school_id):
    """Import the inventory from a file (field ``file``), as the import page does: the
    whole file is checked first; any problem imports nothing and answers 400 with every
    problem (sheet, row, column, reason) in ``error.problems``."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(_("Some fields are not valid."), fields={"file": _("Choose a file.")})
    if not upload.filename.lower().endswith((".xlsx", ".csv")):
        raise UnsupportedType(_("Only .xlsx or .csv files can be imported."))
    result = imports.import_file(current_user, db.session.get(School, school_id), upload.filename, upload.read())
    if result.problems:
        raise ValidationFailed(
            _("Nothing was imported: the file has %(n)d problems.", n=len(result.problems) + result.more_problems),
            more={"problems": [vars(problem) for problem in result.problems], "more_problems": result.more_problems})
    return {"created": result.created, "total": sum(result.created.values())}
