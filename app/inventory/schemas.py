"""The inventory records as JSON (API) and the one validation every write goes through:
services load pages' form data with these same schemas."""

from __future__ import annotations

import unicodedata

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from app.api.messages import Length, Range
from app.db_types import MAX_ID
from app.inventory.models import (
    Acquisition,
    EquipmentKind,
    EquipmentStatus,
    LineKind,
    LineStatus,
    MaterialKind,
    Position,
    RoomKind,
    SoftwareCategory,
    SoftwareStatus,
)
from app.text import clean, identity_key


def _text(limit: int, required: str | None = None, kind: type[ma.fields.String] | None = None,
          unique: bool = False, **kwargs) -> ma.fields.String:
    """Text (``Trimmed``, or ``kind``) of at most ``limit`` characters. ``required``: the
    message asking for it ("Enter the room's name"), sent or empty; optional text
    defaults to "". ``unique``: unique in the school, so its identity key must fit
    ``limit`` too."""
    if required:
        kwargs["error_messages"] = {"required": required, "null": required, "empty": required}
    else:
        kwargs.setdefault("load_default", "")
    validators = [Length(max=limit), *([KeyFits(limit)] if unique else [])]
    return (kind or Trimmed)(required=bool(required), validate=validators, **kwargs)


class KeyFits(ma.validate.Validator):
    """A unique value whose identity key (app.text), which may be longer than the value
    ('ß' folds to 'ss', 'ﷺ' to 18 letters), fits the key's column of ``limit``."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, value: str) -> str:
        if len(identity_key(value)) > self.limit:
            raise ma.ValidationError(str(_l("Too long once compared with the school's others: please shorten it.")))
        return value


def _choice(enum_cls, required: str | None = None, **kwargs) -> ma.fields.Enum:
    """One of ``enum_cls``'s values; ``required``: the message asking for it."""
    if required:
        kwargs["error_messages"] = {"required": required, "null": required}
    return ma.fields.Enum(enum_cls, by_value=True, required=bool(required), **kwargs)


class Trimmed(ma.fields.String):
    """Text as app.text.clean leaves it: composed, without invisible characters, trimmed.
    A required field left empty (or blank) is refused with its "required" message."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = clean(super()._deserialize(value, attr, data, **kwargs))
        if self.required and not text:
            raise self.make_error("empty" if "empty" in self.error_messages else "required")
        return text


class Code(Trimmed):
    """A code people type on labels and in spreadsheets (an asset tag): in its
    compatibility form (full-width ＰＣ－０１ is PC-01), every dash a hyphen, and made of
    ASCII letters, digits, spaces and - _ . / # and Vietnamese letters only, so that no
    letter of another script or Latin look-alike can pass for one (Cyrillic Р for P, Ɖ for Đ)."""

    default_error_messages = {"code": _l("Use letters, digits, spaces and - _ . / # only.")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = unicodedata.normalize("NFKC", super()._deserialize(value, attr, data, **kwargs))
        text = "".join("-" if unicodedata.category(char) == "Pd" else char for char in text)
        if not all(_code_character(char) for char in text):
            raise self.make_error("code")
        return text


def _code_character(char: str) -> bool:
    """ASCII letters and digits, - _ . / # and space, and the letters whose base is an
    ASCII letter (Á, Ư, ệ…) or Đ/đ: Latin look-alikes (small capitals, Ð, Ɖ, ɡ) are not."""
    if char.isascii():
        return char.isalnum() or char in " -_./#"
    base = unicodedata.normalize("NFD", char)[0]
    return char in "Đđ" or (base.isascii() and base.isalpha())


class Url(ma.fields.String):
    """An http(s) link, or "" for none."""

    default_error_messages = {"url": _l("Must be a link starting with http:// or https://.")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text and not text.lower().startswith(("http://", "https://")):
            raise self.make_error("url")
        return text


class OptionalEmail(ma.fields.String):
    """An email address, or "" for none."""

    default_error_messages = {"email": _l("Enter a valid email address.")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text:
            try:
                ma.validate.Email()(text)
            except ma.ValidationError:
                raise self.make_error("email") from None
        return text.lower()


class RecordSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    school_id = ma.fields.Integer(dump_only=True)
    version = ma.fields.Integer(dump_only=True, metadata={
        "description": "Counts the record's saved changes. Send it back with a change (in the body or as "
                       "If-Match) and a change based on an older version answers 409."})
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class RoomSchema(RecordSchema):
    name = _text(120, required=_l("Enter the room's name."), unique=True)
    kind = _choice(RoomKind, required=_l("Choose the kind of room."))
    internet = ma.fields.Boolean(load_default=False)
    notes = _text(2000)


class EquipmentSchema(RecordSchema):
    kind = _choice(EquipmentKind, required=_l("Choose the kind of equipment."))
    name = _text(200, required=_l("Enter the equipment's name."))
    asset_tag = _text(40, kind=Code, unique=True, metadata={
        "description": "Unique in the school, whatever the case (pc-0001 is PC-0001); generated when absent."})
    serial = _text(100)
    status = ma.fields.Enum(EquipmentStatus, by_value=True, load_default=EquipmentStatus.IN_USE)
    room_id = ma.fields.Integer(strict=True, allow_none=True, load_default=None, validate=Range(min=1, max=MAX_ID))
    acquired_on = ma.fields.Date(allow_none=True, load_default=None)
    funding_source = _text(200)
    notes = _text(2000)


class NetworkLineSchema(RecordSchema):
    provider = _text(120, required=_l("Enter the provider's name."))
    kind = ma.fields.Enum(LineKind, by_value=True, load_default=LineKind.FIBER)
    download_mbps = ma.fields.Float(load_default=None, allow_none=True, validate=Range(min=0, max=1_000_000),
                                    allow_nan=False)
    upload_mbps = ma.fields.Float(load_default=None, allow_none=True, validate=Range(min=0, max=1_000_000),
                                  allow_nan=False)
    monthly_cost_vnd = ma.fields.Integer(strict=True, load_default=None, allow_none=True,
                                         validate=Range(min=0, max=10**12))
    contract_no = _text(100)
    started_on = ma.fields.Date(allow_none=True, load_default=None)
    ended_on = ma.fields.Date(allow_none=True, load_default=None)
    status = ma.fields.Enum(LineStatus, by_value=True, load_default=LineStatus.ACTIVE)
    notes = _text(2000)

    @ma.validates_schema
    def _ends_after_start(self, data, **_kwargs):
        if data.get("started_on") and data.get("ended_on") and data["ended_on"] < data["started_on"]:
            raise ma.ValidationError(_l("The end date is before the start date."), "ended_on")


class SoftwareSchema(RecordSchema):
    name = _text(200, required=_l("Enter the software's name."))
    url = Url(load_default="", validate=Length(max=500))
    category = _choice(SoftwareCategory, required=_l("Choose the category."))
    acquisition = ma.fields.Enum(Acquisition, by_value=True, load_default=Acquisition.FREE)
    status = ma.fields.Enum(SoftwareStatus, by_value=True, load_default=SoftwareStatus.IN_USE)
    capabilities = ma.fields.List(ma.fields.String(validate=Length(min=1, max=64)), load_default=list,
                                  validate=Length(max=50))
    notes = _text(2000)


class MaterialSchema(RecordSchema):
    title = _text(300, required=_l("Enter the material's title."))
    subject = _text(120)
    grade = ma.fields.Integer(strict=True, allow_none=True, load_default=None, validate=Range(min=1, max=12))
    kind = ma.fields.Enum(MaterialKind, by_value=True, load_default=MaterialKind.E_LECTURE)
    url = Url(load_default="", validate=Length(max=500))
    approved_by_department = ma.fields.Boolean(load_default=False)
    approved_by_principal = ma.fields.Boolean(load_default=False)
    approved_on = ma.fields.Date(allow_none=True, load_default=None)


class StaffSchema(RecordSchema):
    full_name = _text(200, required=_l("Enter the full name."))
    position = ma.fields.Enum(Position, by_value=True, load_default=Position.TEACHER)
    email = OptionalEmail(load_default="", validate=Length(max=254))
    phone = _text(30)
    training_account = ma.fields.Boolean(load_default=False)
    uses_teaching_software = ma.fields.Boolean(load_default=False)
    builds_digital_materials = ma.fields.Boolean(load_default=False)
    dt_team_role = Trimmed(allow_none=True, load_default=None, validate=Length(max=200),
                           metadata={"description": "Role in the digital-transformation team (2.1); null if none."})

    @ma.post_load
    def _blank_role_is_none(self, data, **_kwargs):
        if data.get("dt_team_role") == "":
            data["dt_team_role"] = None
        return data
