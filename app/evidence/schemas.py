"""Evidence as JSON (API) and the one validation every write goes through; pages load
their form data with these same schemas."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from app.api.messages import Length, Range
from app.db_types import MAX_ID
from app.evidence.models import DocType, LinkStatus, TextStatus
from app.extensions import db
from app.inventory.schemas import RecordSchema, Url, _choice, _text

MAX_CRITERIA = 30


class DocumentSchema(RecordSchema):
    title = _text(300, metadata={"description": "Defaults to the first file's name."})
    doc_type = _choice(DocType, load_default=DocType.OTHER)
    number = _text(60, metadata={"description": "Số hiệu, e.g. 11/QĐ-CVA."})
    issued_on = ma.fields.Date(allow_none=True, load_default=None)
    issuer = _text(200)
    description = _text(5000)
    url = Url(load_default="", validate=Length(max=2000), metadata={"description": "For link evidence."})
    criteria = ma.fields.List(ma.fields.String(validate=Length(min=1, max=20)), load_default=list,
                              validate=Length(max=MAX_CRITERIA, error=_l("At most {max} criteria.")), load_only=True,
                              metadata={"description": "Criterion or sub-item codes to link, e.g. 1.1, 2.3.a."})
    records = ma.fields.List(ma.fields.Nested("RecordRefSchema"), attribute="record_links", load_default=None,
                             validate=Length(max=20, error=_l("At most {max} records.")),
                             metadata={"description": "Inventory records the evidence concerns (the LMS's "
                                                      "software record, the lab room)."})
    school_year = ma.fields.String(dump_only=True)
    codes = ma.fields.List(ma.fields.String(), dump_only=True)
    files = ma.fields.List(ma.fields.Nested("EvidenceFileSchema"), dump_only=True)
    links = ma.fields.Method("_live_links", dump_only=True)
    removed_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    passage = ma.fields.Method("_passage", dump_only=True, metadata={
        "description": "In a search (?q=), the passage that matched, the words in <mark> (HTML)."})

    def _passage(self, document) -> str | None:
        found = getattr(document, "passage", None)
        return str(found) if found else None

    def _live_links(self, document) -> list:
        return LinkSchema(many=True).dump(document.live_links)

    @ma.validates_schema
    def _link_needs_url(self, data, partial=False, **_kwargs):
        if data.get("doc_type") == DocType.LINK and not data.get("url") and not partial:
            raise ma.ValidationError(_l("Link evidence needs its address (http:// or https://)."), "url")


class RecordRefSchema(ma.Schema):
    collection = ma.fields.String(required=True, metadata={"enum": ["rooms", "equipment", "network-lines",
                                                                    "software", "materials", "staff"]})
    id = ma.fields.Integer(required=True, strict=True, validate=Range(min=1, max=MAX_ID), attribute="record_id")
    label = ma.fields.Method("_label", dump_only=True, metadata={
        "description": "The record's name; null when it was deleted since."})

    def _label(self, link) -> str | None:
        from app.inventory.services import COLLECTIONS

        collection = COLLECTIONS.get(link.collection)
        record = db.session.get(collection.model, link.record_id) if collection else None
        return str(record) if record is not None else None


class EvidenceFileSchema(ma.Schema):
    id = ma.fields.Integer()
    version = ma.fields.Integer()
    filename = ma.fields.String()
    size = ma.fields.Integer()
    content_type = ma.fields.String()
    sha256 = ma.fields.String()
    uploaded_at = ma.fields.DateTime()
    text_status = ma.fields.Enum(TextStatus, by_value=True)
    found = ma.fields.Dict(metadata={
        "description": "What reading the text found: number, issued_on, issuer, doc_type, suggested criteria "
                       "(or error: the reason it could not be read)."})


class LinkSchema(ma.Schema):
    criterion = ma.fields.String(required=True, validate=Length(min=1, max=20))
    code = ma.fields.String(dump_only=True)
    status = ma.fields.Enum(LinkStatus, by_value=True, dump_only=True)
    comment = ma.fields.String(dump_only=True)
    reviewed_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    version = ma.fields.Integer(dump_only=True)


class ReviewSchema(ma.Schema):
    decision = ma.fields.Enum(LinkStatus, by_value=True, required=True,
                              error_messages={"required": _l("Choose accepted or rejected.")})
    comment = _text(2000)
    version = ma.fields.Integer(load_default=None, allow_none=True)
