"""API representation of schools."""

from __future__ import annotations

import marshmallow as ma

from app.api.messages import Length, Range
from app.schools.models import SchoolLevel
from app.schools.services import MAX_COUNT


class DistrictName(ma.fields.String):
    """A school's district: its name on the way out, a checked string on the way in."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value.name if value is not None else None


class SchoolSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    school_year = ma.fields.String(dump_only=True, metadata={"example": "2026-2027"})
    name = ma.fields.String(required=True, validate=Length(min=1, max=200))
    code = ma.fields.String(required=True, validate=Length(min=2, max=32))
    level = ma.fields.Enum(SchoolLevel, by_value=True, required=True)
    province = ma.fields.String(required=True, validate=Length(min=1, max=120))
    district = DistrictName(required=True, validate=Length(min=1, max=120))
    students = ma.fields.Integer(load_default=0, validate=Range(min=0, max=MAX_COUNT))
    teachers = ma.fields.Integer(load_default=0, validate=Range(min=0, max=MAX_COUNT))
    classes = ma.fields.Integer(load_default=0, validate=Range(min=0, max=MAX_COUNT))
    largest_class_size = ma.fields.Integer(load_default=0, validate=Range(min=0, max=MAX_COUNT))


class SchoolQuery(ma.Schema):
    q = ma.fields.String(load_default="", validate=Length(max=100))
