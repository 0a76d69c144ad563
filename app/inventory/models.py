"""A school's IT inventory: rooms, equipment, Internet lines, software with capabilities,
digital learning materials and staff skills — the records the score is computed from."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, column_property, declared_attr, mapped_column, relationship

from app.db_types import enum_type
from app.extensions import UTCDateTime, db, utcnow
from app.schools.models import School
from app.scope import Scope
from app.search import fold
from app.text import identity_key, sort_key


class LabelledEnum(enum.StrEnum):
    """An enum whose members have a translated label (in ``LABELS``)."""

    @property
    def label(self) -> str:
        return str(LABELS[type(self)][self.value])

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class RoomKind(LabelledEnum):
    CLASSROOM = "classroom"
    COMPUTER_LAB = "computer_lab"
    STUDIO = "studio"
    MULTIPURPOSE = "multipurpose"
    OFFICE = "office"
    LIBRARY = "library"
    OTHER = "other"


class EquipmentKind(LabelledEnum):
    DESKTOP = "desktop"
    LAPTOP = "laptop"
    TABLET = "tablet"
    PROJECTOR = "projector"
    TV = "tv"
    INTERACTIVE_BOARD = "interactive_board"
    DOCUMENT_CAMERA = "document_camera"
    CAMERA = "camera"
    PRINTER = "printer"
    SERVER = "server"
    NETWORK_DEVICE = "network_device"
    OTHER = "other"


class EquipmentStatus(LabelledEnum):
    IN_USE = "in_use"
    BROKEN = "broken"
    IN_REPAIR = "in_repair"
    SPARE = "spare"
    RETIRED = "retired"


class SoftwareCategory(LabelledEnum):
    MANAGEMENT = "management"
    TEACHING = "teaching"
    COMMUNICATION = "communication"
    SERVICE = "service"
    LIBRARY = "library"
    OTHER = "other"


class Acquisition(LabelledEnum):
    SELF_BUILT = "self_built"
    BOUGHT = "bought"
    RENTED = "rented"
    FREE = "free"
    PROVIDED = "provided"


class SoftwareStatus(LabelledEnum):
    IN_USE = "in_use"
    PLANNED = "planned"
    MISSING = "missing"
    RETIRED = "retired"


class MaterialKind(LabelledEnum):
    E_LECTURE = "e_lecture"
    VIDEO = "video"
    SLIDES = "slides"
    QUESTION_BANK = "question_bank"
    SIMULATION = "simulation"
    DOCUMENT = "document"
    OTHER = "other"


class LineKind(LabelledEnum):
    FIBER = "fiber"
    LEASED_LINE = "leased_line"
    ADSL = "adsl"
    MOBILE = "mobile"
    SATELLITE = "satellite"
    OTHER = "other"


class LineStatus(LabelledEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class Position(LabelledEnum):
    TEACHER = "teacher"
    MANAGER = "manager"
    STAFF = "staff"


LABELS: dict[type[LabelledEnum], dict] = {
    RoomKind: {
        "classroom": _l("Classroom"), "computer_lab": _l("Computer lab"), "studio": _l("Studio (digital materials)"),
        "multipurpose": _l("Multi-purpose room"), "office": _l("Office"), "library": _l("Library"),
        "other": _l("Other")},
    EquipmentKind: {
        "desktop": _l("Desktop computer"), "laptop": _l("Laptop"), "tablet": _l("Tablet"),
        "projector": _l("Projector"), "tv": _l("Television"), "interactive_board": _l("Interactive board"),
        "document_camera": _l("Document camera"), "camera": _l("Camera"), "printer": _l("Printer"),
        "server": _l("Server"), "network_device": _l("Network device"), "other": _l("Other")},
    EquipmentStatus: {
        "in_use": _l("In use"), "broken": _l("Broken"), "in_repair": _l("In repair"), "spare": _l("Spare"),
        "retired": _l("Retired")},
    SoftwareCategory: {
        "management": _l("School management"), "teaching": _l("Teaching and learning"),
        "communication": _l("Communication"), "service": _l("Online service"), "library": _l("Library"),
        "other": _l("Other")},
    Acquisition: {
        "self_built": _l("Self-built"), "bought": _l("Bought"), "rented": _l("Rented"), "free": _l("Free"),
        "provided": _l("Provided by the sector")},
    SoftwareStatus: {
        "in_use": _l("In use"), "planned": _l("Planned"), "missing": _l("Needed but missing"),
        "retired": _l("No longer used")},
    MaterialKind: {
        "e_lecture": _l("E-lecture"), "video": _l("Video"), "slides": _l("Slides"),
        "question_bank": _l("Question bank"), "simulation": _l("Simulation"), "document": _l("Document"),
        "other": _l("Other")},
    LineKind: {
        "fiber": _l("Fibre (FTTH)"), "leased_line": _l("Leased line"), "adsl": _l("ADSL"),
        "mobile": _l("Mobile (4G/5G)"), "satellite": _l("Satellite"), "other": _l("Other")},
    LineStatus: {"active": _l("Active"), "suspended": _l("Suspended"), "ended": _l("Ended")},
    Position: {"teacher": _l("Teacher"), "manager": _l("Manager"), "staff": _l("Support staff")},
}

# Equipment that makes a classroom "equipped" (criterion 1.7.a) and that counts as a computer.
PROJECTION_KINDS = (EquipmentKind.PROJECTOR, EquipmentKind.TV, EquipmentKind.INTERACTIVE_BOARD)
COMPUTER_KINDS = (EquipmentKind.DESKTOP, EquipmentKind.LAPTOP)


NEVER_REUSED_IDS = {"sqlite_autoincrement": True}  # a deleted record's id (and history) stays its own


class SchoolRecord:
    """Columns and access scope shared by every inventory record: it belongs to one school,
    the live score reads it (app.framework.scores) unless ``feeds_score`` is off, and
    ``search`` holds the folded text of its ``SEARCHED`` fields (app.search), kept up to
    date on every insert and update, like each ``KEYS`` column (the identity key of a
    field that must be unique in the school) and each ``SORT_KEYS`` column (see app.text).

    ``version`` counts the record's saved changes: an UPDATE or DELETE based on another
    version than the one in the database changes nothing and raises StaleDataError, so
    nobody silently overwrites a change they have not seen."""

    feeds_score = True
    SEARCHED: tuple[str, ...] = ()
    KEYS: dict[str, str] = {}  # key column → the field it is the identity key of
    SORT_KEYS: dict[str, str] = {}  # sort column → the field it orders in Vietnamese alphabetical order

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    search: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version}

    @declared_attr
    def school_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)

    @declared_attr
    def school(cls) -> Mapped[School]:
        return relationship(School)

    def access_scope(self) -> Scope:
        return Scope(school_id=self.school_id, district_id=self.school.district_id)


class Room(SchoolRecord, db.Model):
    __tablename__ = "rooms"
    __table_args__ = (
        UniqueConstraint("school_id", "name_key"),
        Index("ix_rooms_school_kind_internet", "school_id", "kind", "internet"),
        NEVER_REUSED_IDS,
    )

    SEARCHED = ("name", "notes")
    KEYS = {"name_key": "name"}

    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[RoomKind] = mapped_column(enum_type(RoomKind, "room_kind"))
    internet: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")


    def __str__(self) -> str:
        return self.name


class Equipment(SchoolRecord, db.Model):
    __tablename__ = "equipment"
    __table_args__ = (
        UniqueConstraint("school_id", "asset_tag_key"),
        Index("ix_equipment_school_kind_status", "school_id", "kind", "status"),
        # What a room holds, answered from the index alone (equipped classrooms, lab computers).
        Index("ix_equipment_room_kind_status", "room_id", "kind", "status"),
        NEVER_REUSED_IDS,
    )

    SEARCHED = ("name", "asset_tag", "serial", "funding_source", "notes")
    KEYS = {"asset_tag_key": "asset_tag"}

    kind: Mapped[EquipmentKind] = mapped_column(enum_type(EquipmentKind, "equipment_kind"))
    name: Mapped[str] = mapped_column(String(200))
    asset_tag: Mapped[str] = mapped_column(String(40))
    asset_tag_key: Mapped[str] = mapped_column(String(40))
    serial: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[EquipmentStatus] = mapped_column(enum_type(EquipmentStatus, "equipment_status"),
                                                    default=EquipmentStatus.IN_USE)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"))
    acquired_on: Mapped[date | None] = mapped_column(Date)
    funding_source: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    room: Mapped[Room | None] = relationship()

    def __str__(self) -> str:
        return f"{self.name} ({self.asset_tag})"


class Software(SchoolRecord, db.Model):
    __tablename__ = "software"
    __table_args__ = (Index("ix_software_school_status", "school_id", "status"), NEVER_REUSED_IDS)
    SEARCHED = ("name", "url", "notes")

    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500), default="")
    category: Mapped[SoftwareCategory] = mapped_column(enum_type(SoftwareCategory, "software_category"))
    acquisition: Mapped[Acquisition] = mapped_column(enum_type(Acquisition, "software_acquisition"),
                                                     default=Acquisition.FREE)
    status: Mapped[SoftwareStatus] = mapped_column(enum_type(SoftwareStatus, "software_status"),
                                                   default=SoftwareStatus.IN_USE)
    notes: Mapped[str] = mapped_column(Text, default="")

    capability_rows: Mapped[list[SoftwareCapability]] = relationship(
        cascade="all, delete-orphan", order_by="SoftwareCapability.capability", lazy="selectin")

    @property
    def capabilities(self) -> list[str]:
        return [row.capability for row in self.capability_rows]

    def __str__(self) -> str:
        return self.name


class SoftwareCapability(db.Model):
    """What a piece of software does, as a capability key (see app.inventory.capabilities).
    ``school_id`` repeats the software's school so a school's capabilities are one index
    range (the score reads them on every page)."""

    __tablename__ = "software_capabilities"
    feeds_score = True
    __table_args__ = (Index("ix_software_capabilities_school", "school_id", "capability", "software_id"),)

    software_id: Mapped[int] = mapped_column(ForeignKey("software.id", ondelete="CASCADE"), primary_key=True)
    capability: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))


class Material(SchoolRecord, db.Model):
    """A digital learning material (học liệu số)."""

    __tablename__ = "materials"
    __table_args__ = (
        CheckConstraint("grade IS NULL OR (grade >= 1 AND grade <= 12)", name="grade_range"),
        Index("ix_materials_school_approvals", "school_id", "approved_by_department", "approved_by_principal"),
        NEVER_REUSED_IDS,
    )

    SEARCHED = ("title", "subject", "url")

    title: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(120), default="")
    grade: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[MaterialKind] = mapped_column(enum_type(MaterialKind, "material_kind"),
                                               default=MaterialKind.E_LECTURE)
    url: Mapped[str] = mapped_column(String(500), default="")
    approved_by_department: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by_principal: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_on: Mapped[date | None] = mapped_column(Date)

    def __str__(self) -> str:
        return self.title


class StaffMember(SchoolRecord, db.Model):
    """A member of the school's staff and their digital skills (criteria 1.6 and 2.1)."""

    __tablename__ = "staff_members"
    # Covers the teacher shares of criterion 1.6.
    __table_args__ = (Index("ix_staff_members_school_skills", "school_id", "position", "training_account",
                            "uses_teaching_software", "builds_digital_materials"), NEVER_REUSED_IDS)

    SEARCHED = ("full_name", "email", "phone", "dt_team_role")
    SORT_KEYS = {"name_sort": "full_name"}

    full_name: Mapped[str] = mapped_column(String(200))
    name_sort: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[Position] = mapped_column(enum_type(Position, "staff_position"), default=Position.TEACHER)
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    training_account: Mapped[bool] = mapped_column(Boolean, default=False)
    uses_teaching_software: Mapped[bool] = mapped_column(Boolean, default=False)
    builds_digital_materials: Mapped[bool] = mapped_column(Boolean, default=False)
    dt_team_role: Mapped[str | None] = mapped_column(String(200))

    def __str__(self) -> str:
        return self.full_name


class NetworkLine(SchoolRecord, db.Model):
    """An Internet line of the school (đường truyền)."""

    __tablename__ = "network_lines"
    __table_args__ = (
        CheckConstraint("download_mbps >= 0 AND upload_mbps >= 0 AND monthly_cost_vnd >= 0", name="not_negative"),
        NEVER_REUSED_IDS,
    )
    feeds_score = False
    SEARCHED = ("provider", "contract_no", "notes")

    provider: Mapped[str] = mapped_column(String(120))
    kind: Mapped[LineKind] = mapped_column(enum_type(LineKind, "line_kind"), default=LineKind.FIBER)
    # Unknown until someone enters them (an empty field is not 0 Mbps or 0 đồng).
    download_mbps: Mapped[float | None] = mapped_column(Float)
    upload_mbps: Mapped[float | None] = mapped_column(Float)
    monthly_cost_vnd: Mapped[int | None] = mapped_column(BigInteger)
    contract_no: Mapped[str] = mapped_column(String(100), default="")
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[LineStatus] = mapped_column(enum_type(LineStatus, "line_status"), default=LineStatus.ACTIVE)
    notes: Mapped[str] = mapped_column(Text, default="")

    def __str__(self) -> str:
        return f"{self.provider} ({self.kind.label})"


# Pieces of equipment in a room; loaded only where asked for (``undefer``), e.g. the room list.
Room.equipment_count = column_property(
    select(func.count(Equipment.id)).where(Equipment.room_id == Room.id).correlate_except(Equipment)
    .scalar_subquery(), deferred=True)

INVENTORY_MODELS = (Room, Equipment, NetworkLine, Software, Material, StaffMember)


def derived_values(model: type[SchoolRecord], values: dict) -> dict:
    """The columns a record of ``model`` with ``values`` keeps derived from its fields:
    the folded text searched, the identity key of each ``KEYS`` field and the sort key of
    each ``SORT_KEYS`` field."""
    return {"search": fold(" ".join(str(values.get(name) or "") for name in model.SEARCHED)),
            **{key: identity_key(values.get(field) or "") for key, field in model.KEYS.items()},
            **{key: sort_key(values.get(field) or "") for key, field in model.SORT_KEYS.items()}}


def _refresh_derived(_mapper, _connection, record: SchoolRecord, inserting: bool = True) -> None:
    """Set the derived columns; on an update, a key only when its field changed (a
    key the migration told apart from its look-alike's stays so until then)."""
    fields = {*record.SEARCHED, *record.KEYS.values(), *record.SORT_KEYS.values()}
    derived = derived_values(type(record), {name: getattr(record, name) for name in fields})
    state = inspect(record)
    for key, field in {**record.KEYS, **record.SORT_KEYS}.items():
        if not inserting and not state.attrs[field].history.has_changes():
            derived.pop(key)
    for name, value in derived.items():
        setattr(record, name, value)


def keep_derived_columns(model: type[SchoolRecord]) -> None:
    """Keep ``model``'s derived columns (see derived_values) up to date on every ORM
    insert and update."""
    event.listen(model, "before_insert", _refresh_derived)
    event.listen(model, "before_update", lambda mapper, connection, record: _refresh_derived(
        mapper, connection, record, inserting=False))


for _model in INVENTORY_MODELS:
    keep_derived_columns(_model)
