"""Pages' forms for inventory records. They render and carry CSRF; the values are
checked by the same schemas as the API (app.inventory.services.validated)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from app.db_types import parse_id
from app.forms import PortalForm
from app.inventory.capabilities import KNOWN_CAPABILITIES
from app.inventory.models import (
    Acquisition,
    EquipmentKind,
    EquipmentStatus,
    LabelledEnum,
    LineKind,
    LineStatus,
    MaterialKind,
    Position,
    RoomKind,
    SoftwareCategory,
    SoftwareStatus,
)


def options(enum_cls: type[LabelledEnum]):
    """A select's choices for ``enum_cls``, labelled in the language of each request."""
    return lambda: [SelectChoice(member.value, member.label) for member in enum_cls]


class InventoryForm(PortalForm):
    NOT_RECORD_FIELDS = frozenset({"csrf_token", "quantity", "version"})

    # The version of the record the form was filled from (empty on a new record): a save
    # based on an older one is refused with what changed meanwhile.
    version = HiddenField()

    def record_data(self) -> dict:
        """The submitted values as the schema expects them (dates as ISO text, no room as
        None, absent text as "")."""
        data = {}
        for name, field in self._fields.items():
            if name in self.NOT_RECORD_FIELDS:
                continue
            value = field.data
            if isinstance(field, DateField):
                value = value.isoformat() if value else None
            elif name == "room_id":
                value = parse_id(value)
            elif isinstance(field, StringField):  # also TextAreaField; an absent field is empty text
                value = value or ""
            data[name] = value
        return data


class RoomForm(InventoryForm):
    name = StringField(_l("Room name"), description=_l("e.g. Phòng học 1A, Phòng Tin học 1"))
    kind = SelectField(_l("Kind of room"), choices=options(RoomKind))
    internet = BooleanField(_l("Connected to the Internet (cable or Wi-Fi)"))
    notes = TextAreaField(_l("Notes"))


class CommaFloatField(FloatField):
    """A number that may be typed with a decimal comma (2,5 as in Vietnamese)."""

    def process_formdata(self, valuelist):
        super().process_formdata([value.replace(",", ".").strip() for value in valuelist])

    def _value(self):
        """A whole number without ".0" (150 Mbps, not 150.0)."""
        if not self.raw_data and isinstance(self.data, float) and self.data.is_integer():
            return str(int(self.data))
        return super()._value()


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class EquipmentForm(InventoryForm):
    kind = SelectField(_l("Kind of equipment"), choices=options(EquipmentKind))
    name = StringField(_l("Name"), description=_l("e.g. Máy chiếu Epson EB-X06"))
    asset_tag = StringField(_l("Asset tag"), description=_l("Leave empty to have one generated, e.g. MC-0003."))
    serial = StringField(_l("Serial number"))
    status = SelectField(_l("Status"), choices=options(EquipmentStatus), default=EquipmentStatus.IN_USE.value)
    room_id = SelectField(_l("Room"))
    acquired_on = DateField(_l("Acquired on"), validators=[Optional()])
    funding_source = StringField(_l("Funding source"))
    notes = TextAreaField(_l("Notes"))

    quantity = IntegerField(_l("How many"), default=1, validators=[NumberRange(
                                min=1, max=200, message=_l("The number of items is from 1 to 200."))],
                            description=_l("Add this many identical items at once; each gets its own asset tag."))

    def __init__(self, *args, rooms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.room_id.choices = [SelectChoice("", _l("— Not in a room —")),
                                *(SelectChoice(str(room.id), room.name) for room in rooms)]


class NetworkLineForm(InventoryForm):
    provider = StringField(_l("Provider"), description=_l("e.g. VNPT, Viettel, FPT"))
    kind = SelectField(_l("Kind of line"), choices=options(LineKind))
    download_mbps = CommaFloatField(_l("Download speed (Mbps)"), validators=[Optional()])
    upload_mbps = CommaFloatField(_l("Upload speed (Mbps)"), validators=[Optional()])
    monthly_cost_vnd = IntegerField(_l("Monthly cost (VND)"), validators=[Optional()])
    contract_no = StringField(_l("Contract number"))
    started_on = DateField(_l("In use since"), validators=[Optional()])
    ended_on = DateField(_l("Ended on"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=options(LineStatus))
    notes = TextAreaField(_l("Notes"))


class SoftwareForm(InventoryForm):
    name = StringField(_l("Name"), description=_l("e.g. VnEdu, SMAS, Google Classroom"))
    url = StringField(_l("Link"), description=_l("The address where it is used, if any (https://…)."))
    category = SelectField(_l("Category"), choices=options(SoftwareCategory))
    acquisition = SelectField(_l("Acquired by"), choices=options(Acquisition), default=Acquisition.FREE.value)
    status = SelectField(_l("Status"), choices=options(SoftwareStatus), default=SoftwareStatus.IN_USE.value)
    capabilities = CheckboxListField(_l("What it does"), choices=[SelectChoice(key, label) for key, label in
                                                                 KNOWN_CAPABILITIES.items()])
    notes = TextAreaField(_l("Notes"))


class MaterialForm(InventoryForm):
    title = StringField(_l("Title"))
    subject = StringField(_l("Subject"), description=_l("e.g. Toán, Tiếng Việt"))
    grade = IntegerField(_l("Grade"), validators=[Optional()])
    kind = SelectField(_l("Kind of material"), choices=options(MaterialKind))
    url = StringField(_l("Link"))
    approved_by_department = BooleanField(_l("Approved by the subject department"))
    approved_by_principal = BooleanField(_l("Approved by the principal"))
    approved_on = DateField(_l("Approved on"), validators=[Optional()])


class StaffForm(InventoryForm):
    full_name = StringField(_l("Full name"))
    position = SelectField(_l("Position"), choices=options(Position))
    email = StringField(_l("Email"))
    phone = StringField(_l("Phone"))
    training_account = BooleanField(_l("Has an account on the training platform"))
    uses_teaching_software = BooleanField(_l("Uses teaching software in class"))
    builds_digital_materials = BooleanField(_l("Builds digital learning materials"))
    dt_team_role = StringField(_l("Role in the digital-transformation team"),
                               description=_l("Leave empty if not a member (criterion 2.1)."))


def _ticked_id(value) -> int:
    """A ticked record's id, or 0 (no record) for anything that is not one: the service
    then says that some ticked items are not this school's."""
    return parse_id(value) or 0


class BulkEquipmentForm(PortalForm):
    """Selected equipment (``ids``) and what to do with it: a new status, or a room id or
    "none" (the list page renders the choices; the service checks them)."""

    ids = SelectMultipleField(coerce=_ticked_id, validate_choice=False)
    status = SelectField(validate_choice=False)
    room_id = SelectField(validate_choice=False)


class ImportForm(PortalForm):
    file = FileField(_l("Filled-in template (.xlsx) or a CSV file"),
                     validators=[FileRequired(_l("Choose a file.")),
                                 FileAllowed(["xlsx", "csv"], _l("Only .xlsx or .csv files can be imported."))])


FORMS = {"rooms": RoomForm, "equipment": EquipmentForm, "network_lines": NetworkLineForm,
         "software": SoftwareForm, "materials": MaterialForm, "staff": StaffForm}
