"""``/api/v1/schools/{school_id}/evidence``: evidence documents, their file versions,
their links to criteria and the links' review status (api.md, Evidence)."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.policy import requires
from app.api import ApiBlueprint, page_of, page_schema
from app.api.docs import error_response
from app.errors import NotFound, ValidationFailed, flatten_messages
from app.evidence import services
from app.evidence.downloads import send_version
from app.evidence.listing import listed_documents
from app.evidence.models import EvidenceDocument, EvidenceFile
from app.evidence.schemas import DocumentSchema, EvidenceFileSchema, LinkSchema, ReviewSchema
from app.evidence.search import passages
from app.extensions import db
from app.inventory.api import IF_MATCH_DOC, expected_version, json_body, list_args, with_etag
from app.schools.models import School

blp = ApiBlueprint("api_evidence", __name__, url_prefix="/schools", description="Evidence")
BASE = "/<id:school_id>/evidence"
ONE = BASE + "/<id:evidence_id>"

FILE_FIELDS = {
    "title": {"type": "string"}, "doc_type": {"type": "string"}, "number": {"type": "string"},
    "issued_on": {"type": "string", "format": "date"}, "issuer": {"type": "string"},
    "description": {"type": "string"}, "url": {"type": "string"},
    "criteria": {"type": "array", "items": {"type": "string"}},
    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
}
CREATE_DOC = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": FILE_FIELDS}},
    "application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}}
FILE_DOC = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}
UPLOAD_ERRORS = [blp.alt_response(415, response=error_response(415)),
                 blp.alt_response(503, response=error_response(503))]


def _document(evidence_id: int) -> EvidenceDocument:
    return db.session.get(EvidenceDocument, evidence_id)


def _form_data() -> dict:
    """A multipart form's fields as DocumentSchema input (``criteria`` repeatable)."""
    data = {key: value for key, value in request.form.items() if key != "criteria"}
    data["criteria"] = request.form.getlist("criteria")
    return data


def _with_uploads(*decorators):
    def decorate(view):
        for decorator in reversed(decorators + tuple(UPLOAD_ERRORS)):
            view = decorator(view)
        return view
    return decorate


@blp.route(BASE, methods=["GET"], endpoint="list_evidence")
@requires("evidence.view")
@blp.arguments(list_args(EvidenceDocument), location="query")
@blp.response(200, page_schema(DocumentSchema))
def list_evidence(args, school_id):
    """The school's evidence (not deleted): search ``q`` without diacritics, filters
    ``criterion`` (1.3 also finds 1.3.a…), ``doc_type``, ``school_year``, ``link_status``."""
    page = page_of(listed_documents(school_id, args), args)
    found = passages(page["items"], args["q"])
    for document in page["items"]:
        document.passage = found.get(document.id)
    return page


@blp.route(BASE, methods=["POST"], endpoint="create_evidence")
@_with_uploads(requires("evidence.edit"), blp.doc(requestBody=CREATE_DOC), blp.response(201, DocumentSchema))
def create_evidence(school_id):
    """Create an evidence document: multipart with zero or more ``file`` parts, or JSON
    for link evidence. ``criteria`` links it (each link gets its evidence code)."""
    school = db.session.get(School, school_id)
    if request.mimetype == "multipart/form-data":
        return services.create_document(current_user, school, _form_data(), request.files.getlist("file"))
    return services.create_document(current_user, school, json_body())


@blp.route(ONE, methods=["GET"], endpoint="get_evidence")
@requires("evidence.view")
@blp.response(200, DocumentSchema)
def get_evidence(school_id, evidence_id):
    return with_etag(_document(evidence_id))


@blp.route(ONE, methods=["PATCH"], endpoint="update_evidence")
@requires("evidence.edit")
@IF_MATCH_DOC
@blp.doc(requestBody={"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Document"}}}})
@blp.response(200, DocumentSchema)
def update_evidence(school_id, evidence_id):
    """Change any field; ``criteria``, when sent, becomes the set of linked codes."""
    body = json_body()
    document = _document(evidence_id)
    return with_etag(services.update_document(current_user, document, body,
                                              expected_version(body, document.version)))


@blp.route(ONE, methods=["DELETE"], endpoint="delete_evidence")
@requires("evidence.edit")
@IF_MATCH_DOC
@blp.response(204)
def delete_evidence(school_id, evidence_id):
    """Delete (a principal can restore it)."""
    document = _document(evidence_id)
    services.remove_document(current_user, document, expected_version({}, document.version))


@blp.route(ONE + "/restore", methods=["POST"], endpoint="restore_evidence")
@requires("evidence.restore")
@blp.response(200, DocumentSchema)
def restore_evidence(school_id, evidence_id):
    document = _document(evidence_id)
    services.restore_document(current_user, document)
    return with_etag(document)


@blp.route(ONE + "/files", methods=["POST"], endpoint="add_evidence_file")
@_with_uploads(requires("evidence.edit"), blp.doc(requestBody=FILE_DOC), blp.response(201, EvidenceFileSchema),
               blp.alt_response(200, schema=EvidenceFileSchema, description="These bytes already are a version."))
def add_evidence_file(school_id, evidence_id):
    """A new version of the file (field ``file``); old versions are kept. The same bytes
    as an existing version answer 200 with that version."""
    version, added = services.add_file(current_user, _document(evidence_id), request.files.get("file"))
    return version, 201 if added else 200


def _version(evidence_id: int, file_id: int) -> EvidenceFile:
    version = db.session.get(EvidenceFile, file_id)
    if version.document_id != evidence_id:
        raise NotFound()
    return version


@blp.route(ONE + "/files/<id:file_id>/download", methods=["GET"], endpoint="download_evidence_file")
@requires("evidence.view")
@blp.response(200, description="The file, as an attachment (or a 302 to a short-lived URL serving it).")
@blp.alt_response(302, description="Redirect to a presigned URL (S3 with presigned downloads).")
@blp.alt_response(503, response=error_response(503))
def download_evidence_file(school_id, evidence_id, file_id):
    return send_version(_version(evidence_id, file_id))


class CriterionBody(ma.Schema):
    criterion = ma.fields.String(required=True, error_messages={
        "required": _l("Choose a criterion."), "invalid": _l("Choose a criterion.")})


@blp.route(ONE + "/links", methods=["POST"], endpoint="link_evidence")
@requires("evidence.edit")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["criterion"], "properties": {"criterion": {"type": "string"}}}}}})
@blp.response(201, LinkSchema)
def link_evidence(school_id, evidence_id):
    """Link to a criterion or sub-item (``{"criterion": "1.3"}``)."""
    try:  # the criterion alone: any other field (a status, a reviewer) is refused, as every API body does
        criterion = CriterionBody().load(json_body())["criterion"]
    except ma.ValidationError as error:
        raise ValidationFailed(_("Some fields are not valid."), fields=flatten_messages(error.messages)) from None
    return services.link_criterion(current_user, _document(evidence_id), criterion)


@blp.route(ONE + "/links/<criterion>", methods=["DELETE"], endpoint="unlink_evidence")
@requires("evidence.edit")
@blp.response(204)
def unlink_evidence(school_id, evidence_id, criterion):
    services.unlink_criterion(current_user, _document(evidence_id), criterion)


@blp.route(ONE + "/links/<criterion>/review", methods=["POST"], endpoint="review_evidence_link")
@requires("evidence.review")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ReviewSchema}}})
@blp.response(200, LinkSchema)
def review_evidence_link(school_id, evidence_id, criterion):
    """Accept or reject the link (a rejection needs a ``comment``); nobody reviews their
    own upload. ``version`` (the link's) guards against two reviews at once."""
    return services.review_link(current_user, _document(evidence_id), criterion, json_body())
