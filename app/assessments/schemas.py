"""The JSON shapes of assessments (api.md, Workflow)."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow.validate import Length, Range

from app.assessments.models import AssessmentStatus
from app.db_types import MAX_ID
from app.evidence.models import LinkStatus
from app.schools.years import is_school_year


class YearQuery(ma.Schema):
    year = ma.fields.String(load_default=None, metadata={"example": "2022-2023"})

    @ma.validates("year")
    def _school_year(self, value, **_kwargs):
        if value is not None and not is_school_year(value):
            raise ma.ValidationError(_l("A school year such as 2022-2023."))


class TransitionSchema(ma.Schema):
    """A transition's request: the version seen, a reason (send back, reopen), and for
    an approval the fingerprint of what was seen and the last audit entry seen."""

    version = ma.fields.Integer(load_default=None, allow_none=True, validate=Range(min=0, max=MAX_ID))
    reason = ma.fields.String(load_default="", validate=Length(max=2000))
    fingerprint = ma.fields.String(load_default=None, allow_none=True, validate=Length(equal=64))
    since = ma.fields.Integer(load_default=None, allow_none=True, validate=Range(min=0, max=MAX_ID))


class EvaluationItemSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=Length(min=1, max=20))
    points = ma.fields.Float(required=True, allow_nan=False, validate=Range(min=0, max=100))
    reason = ma.fields.String(load_default="", validate=Length(max=2000))


class EvaluationSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EvaluationItemSchema), required=True, validate=Length(max=200))
    version = ma.fields.Integer(load_default=None, allow_none=True, validate=Range(min=0, max=MAX_ID))


class EvaluationViewSchema(ma.Schema):
    items = ma.fields.Dict()
    groups = ma.fields.Function(lambda evaluation: evaluation.score["groups"])
    criteria = ma.fields.Function(lambda evaluation: evaluation.score["criteria"])
    evaluated_at = ma.fields.DateTime()
    recognised = ma.fields.Dict(allow_none=True)
    recognised_at = ma.fields.DateTime(allow_none=True)


class AssessmentReviewSchema(ma.Schema):
    evidence_id = ma.fields.Integer(required=True, validate=Range(min=1, max=MAX_ID))
    criterion = ma.fields.String(required=True, validate=Length(min=1, max=20))
    decision = ma.fields.Enum(LinkStatus, by_value=True, required=True)
    comment = ma.fields.String(load_default="", validate=Length(max=2000))
    version = ma.fields.Integer(load_default=None, allow_none=True)


class SealSchema(ma.Schema):
    sha256 = ma.fields.String()
    approved_at = ma.fields.DateTime(attribute="sealed_at")
    approved_by = ma.fields.Function(lambda seal: seal.snapshot["approved_by"]["name"])
    manifest_key = ma.fields.String()


class AssessmentSchema(ma.Schema):
    school_id = ma.fields.Integer()
    year = ma.fields.String(attribute="school_year")
    status = ma.fields.Enum(AssessmentStatus, by_value=True)
    version = ma.fields.Integer()
    changed_at = ma.fields.DateTime(allow_none=True)
    reason = ma.fields.String()
    sealed = ma.fields.Nested(SealSchema, attribute="in_force", allow_none=True)
    evaluation = ma.fields.Nested(EvaluationViewSchema, allow_none=True)
    actions = ma.fields.List(ma.fields.String())
    blockers = ma.fields.List(ma.fields.Dict())
    warnings = ma.fields.List(ma.fields.Dict())
    fingerprint = ma.fields.String(allow_none=True)
    since = ma.fields.Integer(allow_none=True)
