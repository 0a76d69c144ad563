"""API representation of schools."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from app.api.messages import Length, Range
from app.schools.models import SchoolLevel
from app.schools.services import MAX_COUNT


class DistrictName(ma.fields.String):
    """A school's district: its name on the way out, a checked string on the way in."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value.name if value is not None else None


def _asking(message) -> dict:
    """A required field's messages when it is missing or null: what to enter."""
    return {"required": message, "null": message}


class SchoolSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    district_id = ma.fields.Integer(dump_only=True)
    school_year = ma.fields.String(dump_only=True, metadata={"example": "2026-2027"})
    name = ma.fields.String(required=True, validate=Length(min=1, max=200),
                            error_messages=_asking(_l("Enter the school's name.")))
    code = ma.fields.String(required=True, validate=Length(min=2, max=32),
                            error_messages=_asking(_l("Enter the school's code.")))
    level = ma.fields.Enum(SchoolLevel, by_value=True, required=True,
                           error_messages=_asking(_l("Choose the school's level.")))
    province = ma.fields.String(required=True, validate=Length(min=1, max=120),
                                error_messages=_asking(_l("Enter the province.")))
    district = DistrictName(required=True, validate=Length(min=1, max=120),
                            error_messages=_asking(_l("Enter the district.")))
    students = ma.fields.Integer(load_default=0, validate=Range(min=0, max=MAX_COUNT))
    teachers = ma.fields.Integer(load_default=0, validate=Range(min=0, max=MAX_COUNT))
    classes = ma.fields.Integer(load_default=0, validate=Range(min=0, max=MAX_COUNT))
    largest_class_size = ma.fields.Integer(load_default=0, validate=Range(min=0, max=MAX_COUNT))


class SchoolQuery(ma.Schema):
    q = ma.fields.String(load_default="", validate=Length(max=100))
