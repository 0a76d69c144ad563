"""Pages' forms for inventory records. They render and carry CSRF; the values are
checked by the same schemas as the API (app.inventory.services.validated)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from app.forms import PortalForm
from app.inventory.models import EquipmentKind, EquipmentStatus, RoomKind


class InventoryForm(PortalForm):
    def record_data(self) -> dict:
        """The submitted values as the schema expects them (dates as ISO text, no room as
        None, absent text as "")."""
        data = {}
        for name, field in self._fields.items():
            if name == "csrf_token":
                continue
            value = field.data
            if isinstance(field, DateField):
                value = value.isoformat() if value else None
            elif name == "room_id":
                value = int(value) if value and value.isdigit() else None
            elif isinstance(field, StringField):  # also TextAreaField; an absent field is empty text
                value = value or ""
            data[name] = value
        return data


class RoomForm(InventoryForm):
    name = StringField(_l("Room name"), description=_l("e.g. Phòng học 1A, Phòng Tin học 1"))
    kind = SelectField(_l("Kind of room"), choices=RoomKind.choices)
    internet = BooleanField(_l("Connected to the Internet (cable or Wi-Fi)"))
    notes = TextAreaField(_l("Notes"))


class EquipmentForm(InventoryForm):
    kind = SelectField(_l("Kind of equipment"), choices=EquipmentKind.choices)
    name = StringField(_l("Name"), description=_l("e.g. Máy chiếu Epson EB-X06"))
    asset_tag = StringField(_l("Asset tag"), description=_l("Leave empty to have one generated, e.g. MC-0003."))
    serial = StringField(_l("Serial number"))
    status = SelectField(_l("Status"), choices=EquipmentStatus.choices, default=EquipmentStatus.IN_USE.value)
    room_id = SelectField(_l("Room"))
    acquired_on = DateField(_l("Acquired on"), validators=[Optional()])
    funding_source = StringField(_l("Funding source"))
    notes = TextAreaField(_l("Notes"))

    def __init__(self, *args, rooms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.room_id.choices = [("", _l("— Not in a room —")), *((str(room.id), room.name) for room in rooms)]
