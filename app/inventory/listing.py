"""What each inventory list shows and lets people narrow: its columns (the XLSX export's
too), filters and sort keys; and the query a list's URL asks for, built in the database
(search, filters, order, and a page of it) so no list loads the whole inventory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import selectinload, undefer

from app.db_types import parse_id
from app.extensions import db
from app.inventory.capabilities import KNOWN_CAPABILITIES, capability_label
from app.inventory.models import (
    Acquisition,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    LabelledEnum,
    LineKind,
    LineStatus,
    Material,
    MaterialKind,
    NetworkLine,
    Position,
    Room,
    RoomKind,
    Software,
    SoftwareCapability,
    SoftwareCategory,
    SoftwareStatus,
    StaffMember,
)
from app.search import matches

YES_NO = (("yes", _l("Yes")), ("no", _l("No")))


@dataclass(frozen=True)
class Column:
    """A column of a list and of its export: ``value`` reads it from a record (default:
    the attribute ``key``); sortable columns sort by the attribute ``key``."""

    key: str
    label: str
    value: Callable | None = None
    sortable: bool = True

    def of(self, record):
        """The cell: text for enums and yes/no, numbers and dates as they are."""
        value = self.value(record) if self.value else getattr(record, self.key)
        if isinstance(value, LabelledEnum):
            return value.label
        if isinstance(value, bool):
            return str(YES_NO[0][1] if value else YES_NO[1][1])
        return value


@dataclass(frozen=True)
class Filter:
    """A choice that narrows a list: ``options(school_id)`` lists (value, label) pairs and
    ``condition(value)`` is the SQL condition of one of them."""

    key: str
    label: str
    options: Callable[[int], list[tuple[str, str]]]
    condition: Callable[[str], ColumnElement[bool]]


@dataclass(frozen=True)
class Listing:
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    # Loader options for what the columns read; a function, so that importing this module
    # does not configure the mappers before every model is defined.
    load: Callable[[], tuple] = tuple
    # Conditions every row of the list meets (e.g. not deleted), also a function.
    where: Callable[[], tuple] = tuple
    # A full-text search instead of the folded ``search`` column: the typed words → a
    # subquery of the matching rows' ``document_id`` and the expression ranking them (lower
    # first); or None.
    search: Callable[[str], tuple | None] | None = None

    def filter(self, key: str) -> Filter:
        return next(choice for choice in self.filters if choice.key == key)

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)


@dataclass(frozen=True)
class ListRequest:
    """What a list's URL asks for, cleaned: unknown sort keys and filter values are dropped."""

    q: str = ""
    sort: str = ""
    descending: bool = False
    filters: dict[str, str] = field(default_factory=dict)

    def args(self, **changes) -> dict:
        """URL arguments that repeat this request with ``changes`` (a value of None drops it)."""
        current = {"q": self.q, "sort": self.sort, "dir": "desc" if self.descending else "", **self.filters}
        return {key: value for key, value in {**current, **changes}.items() if value}


def enum_filter(column, enum_cls: type[LabelledEnum], label: str) -> Filter:
    values = {member.value for member in enum_cls}
    return Filter(column.key, label, lambda _school_id: enum_cls.choices(),
                  lambda value: column == enum_cls(value) if value in values else None)


def yes_no_filter(column, label: str) -> Filter:
    return Filter(column.key, label, lambda _school_id: list(YES_NO),
                  lambda value: column.is_(value == "yes") if value in ("yes", "no") else None)


def _room_options(school_id: int) -> list[tuple[str, str]]:
    rooms = db.session.execute(select(Room.id, Room.name).where(Room.school_id == school_id).order_by(Room.name))
    return [("none", str(_l("— Not in a room —"))), *((str(room_id), name) for room_id, name in rooms)]


def _in_room(value: str):
    if value == "none":
        return Equipment.room_id.is_(None)
    room_id = parse_id(value)
    return Equipment.room_id == room_id if room_id is not None else None


def _with_capability(value: str):
    if value not in KNOWN_CAPABILITIES:
        return None
    return exists().where(SoftwareCapability.software_id == Software.id, SoftwareCapability.capability == value)


LISTINGS: dict[type, Listing] = {
    Room: Listing(
        columns=(Column("name", _l("Room")), Column("kind", _l("Kind")), Column("internet", _l("Internet")),
                 Column("equipment_count", _l("Pieces of equipment"))),
        filters=(enum_filter(Room.kind, RoomKind, _l("Kind")), yes_no_filter(Room.internet, _l("Internet"))),
        load=lambda: (undefer(Room.equipment_count),)),
    Equipment: Listing(
        columns=(Column("asset_tag", _l("Asset tag")), Column("name", _l("Name")), Column("kind", _l("Kind")),
                 Column("status", _l("Status")),
                 Column("room", _l("Room"), lambda item: item.room.name if item.room else "", sortable=False),
                 Column("serial", _l("Serial number")), Column("acquired_on", _l("Acquired on")),
                 Column("funding_source", _l("Funding source"))),
        filters=(enum_filter(Equipment.kind, EquipmentKind, _l("Kind")),
                 enum_filter(Equipment.status, EquipmentStatus, _l("Status")),
                 Filter("room_id", _l("Room"), _room_options, _in_room)),
        load=lambda: (selectinload(Equipment.room),)),
    NetworkLine: Listing(
        columns=(Column("provider", _l("Provider")), Column("kind", _l("Kind")),
                 Column("download_mbps", _l("Download (Mbps)")), Column("upload_mbps", _l("Upload (Mbps)")),
                 Column("monthly_cost_vnd", _l("Monthly cost (VND)")), Column("contract_no", _l("Contract")),
                 Column("started_on", _l("Since")), Column("ended_on", _l("Until")), Column("status", _l("Status"))),
        filters=(enum_filter(NetworkLine.kind, LineKind, _l("Kind")),
                 enum_filter(NetworkLine.status, LineStatus, _l("Status")))),
    Software: Listing(
        columns=(Column("name", _l("Name")), Column("category", _l("Category")),
                 Column("acquisition", _l("Acquisition")), Column("status", _l("Status")),
                 Column("capabilities", _l("Capabilities"),
                        lambda software: ", ".join(capability_label(key) for key in software.capabilities),
                        sortable=False),
                 Column("url", _l("Link"))),
        filters=(enum_filter(Software.status, SoftwareStatus, _l("Status")),
                 enum_filter(Software.category, SoftwareCategory, _l("Category")),
                 enum_filter(Software.acquisition, Acquisition, _l("Acquisition")),
                 Filter("capability", _l("Capability"),
                        lambda _school_id: [(key, str(label)) for key, label in KNOWN_CAPABILITIES.items()],
                        _with_capability))),
    Material: Listing(
        columns=(Column("title", _l("Title")), Column("subject", _l("Subject")), Column("grade", _l("Grade")),
                 Column("kind", _l("Kind")), Column("approved_by_department", _l("Approved by the department")),
                 Column("approved_by_principal", _l("Approved by the principal")),
                 Column("approved_on", _l("Approved on")), Column("url", _l("Link"))),
        filters=(enum_filter(Material.kind, MaterialKind, _l("Kind")),
                 yes_no_filter(Material.approved_by_department, _l("Approved by the department")),
                 yes_no_filter(Material.approved_by_principal, _l("Approved by the principal")))),
    StaffMember: Listing(
        columns=(Column("full_name", _l("Full name")), Column("position", _l("Position")),
                 Column("email", _l("Email")), Column("phone", _l("Phone")),
                 Column("training_account", _l("Training account")),
                 Column("uses_teaching_software", _l("Uses teaching software")),
                 Column("builds_digital_materials", _l("Builds digital materials")),
                 Column("dt_team_role", _l("Digital-transformation team role"),
                        lambda member: member.dt_team_role or "")),
        filters=(enum_filter(StaffMember.position, Position, _l("Position")),
                 Filter("dt_team", _l("Digital-transformation team"), lambda _school_id: list(YES_NO),
                        lambda value: {"yes": StaffMember.dt_team_role.is_not(None),
                                       "no": StaffMember.dt_team_role.is_(None)}.get(value)),
                 yes_no_filter(StaffMember.training_account, _l("Training account")),
                 yes_no_filter(StaffMember.builds_digital_materials, _l("Builds digital materials")))),
}


def list_request(model: type, args) -> ListRequest:
    """The list request in ``args`` (a request's query arguments) for ``model``'s list."""
    listing = LISTINGS[model]
    sortable = {column.key for column in listing.columns if column.sortable}
    sort = args.get("sort", "")
    filters = {}
    for choice in listing.filters:
        value = args.get(choice.key, "")[:40]
        if value and choice.condition(value) is not None:
            filters[choice.key] = value
    return ListRequest(q=args.get("q", "").strip()[:100], sort=sort if sort in sortable else "",
                       descending=args.get("dir") == "desc", filters=filters)


def listed(model: type, school_id: int, wanted: ListRequest, default_order: tuple):
    """The query for ``school_id``'s records of ``model`` that ``wanted`` asks for."""
    listing = LISTINGS[model]
    conditions = [choice.condition(wanted.filters[choice.key])
                  for choice in listing.filters if choice.key in wanted.filters]
    query = select(model).where(model.school_id == school_id, *listing.where(), *conditions)
    found = listing.search(wanted.q) if listing.search and wanted.q else None
    if found is not None:
        matching, rank = found
        query = query.join(matching, matching.c.document_id == model.id)
    elif not listing.search:
        query = query.where(matches(model.search, wanted.q))
    if wanted.sort:
        sorted_by = {field: column for column, field in model.SORT_KEYS.items()}
        attribute = getattr(model, sorted_by.get(wanted.sort, wanted.sort))
        query = query.order_by(attribute.desc() if wanted.descending else attribute.asc(), model.id)
    elif found is not None:
        query = query.order_by(rank, *default_order, model.id)
    else:
        query = query.order_by(*default_order, model.id)
    return query.options(*listing.load())
