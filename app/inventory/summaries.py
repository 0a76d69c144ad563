"""The summary tables of a school's digital-transformation plan, worked out from the
inventory: software and apps in use or missing, IT equipment and infrastructure held or
missing, equipment by kind and status and by room, and the Internet lines with their
total bandwidth. Each table is plain rows, so the page and the XLSX show the same."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.inventory.models import (
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    LineStatus,
    NetworkLine,
    Room,
    RoomKind,
    Software,
    SoftwareStatus,
)

# Equipment that is there to be used: what "held" means in the plan's tables.
USABLE = (EquipmentStatus.IN_USE, EquipmentStatus.SPARE)
NEEDED = (SoftwareStatus.PLANNED, SoftwareStatus.MISSING)
# The rooms the plan's infrastructure table asks about.
ROOMS_ASKED = (RoomKind.COMPUTER_LAB, RoomKind.MULTIPURPOSE, RoomKind.STUDIO)


@dataclass(frozen=True)
class Table:
    """A titled table; ``total`` is its closing row, if it has one."""

    key: str
    title: str
    headers: list[str]
    rows: list[list]
    total: list | None = None


@dataclass(frozen=True)
class Summary:
    """The headline figures, (label, value) in order, and the tables."""

    figures: list[tuple[str, object]]
    tables: list[Table]


def summary_of(school_id: int) -> Summary:
    """The school's summary now. A few grouped queries, whatever the inventory's size."""
    by_kind_status = Counter({(kind, status): count for kind, status, count in db.session.execute(
        select(Equipment.kind, Equipment.status, func.count()).where(Equipment.school_id == school_id)
        .group_by(Equipment.kind, Equipment.status))})
    rooms_by_kind = Counter(dict(db.session.execute(
        select(Room.kind, func.count()).where(Room.school_id == school_id).group_by(Room.kind)).all()))
    lines = list(db.session.scalars(select(NetworkLine).where(NetworkLine.school_id == school_id)
                                    .order_by(NetworkLine.status, NetworkLine.provider, NetworkLine.id)))
    software = list(db.session.scalars(
        select(Software).where(Software.school_id == school_id, Software.status != SoftwareStatus.RETIRED)
        .order_by(Software.category, Software.name, Software.id)))

    software_table = _software_table(software)
    infrastructure = _infrastructure_table(by_kind_status, rooms_by_kind, lines)
    lines_table = _lines_table(lines)
    in_use = sum(item.status == SoftwareStatus.IN_USE for item in software)
    held = sum(1 for row in infrastructure.rows if row[1])
    active = [line for line in lines if line.status == LineStatus.ACTIVE]
    figures = [
        (_("Software and apps in use"), in_use),
        (_("Software and apps needed but missing"), len(software) - in_use),
        (_("Kinds of IT equipment and infrastructure held"), held),
        (_("Kinds of IT equipment and infrastructure missing"), len(infrastructure.rows) - held),
        (_("Total download bandwidth of active lines (Mbps)"), _known_sum(line.download_mbps for line in active)),
    ]
    return Summary(figures, [software_table, infrastructure, _kind_status_table(by_kind_status),
                             _rooms_table(school_id), lines_table])


def _software_table(software: list[Software]) -> Table:
    rows = [[item.category.label, item.name, item.status.label, item.url] for item in software]
    return Table("software", _("Software and apps"), [_("Group"), _("Name"), _("Status"), _("Link")], rows)


def _infrastructure_table(by_kind_status: Counter, rooms_by_kind: Counter, lines: list[NetworkLine]) -> Table:
    """The plan's checklist: each line has how many the school holds, and held or missing."""
    counted = [(_("Internet lines in service"), sum(line.status == LineStatus.ACTIVE for line in lines))]
    counted += [(kind.label, rooms_by_kind[kind]) for kind in ROOMS_ASKED]
    counted += [(kind.label, sum(by_kind_status[kind, status] for status in USABLE))
                for kind in EquipmentKind if kind != EquipmentKind.OTHER]
    rows = [[label, count, _("Held") if count else _("Missing")] for label, count in counted]
    return Table("infrastructure", _("IT equipment and infrastructure"),
                 [_("Equipment or infrastructure"), _("Held (in use or spare)"), _("Held or missing")], rows)


def _kind_status_table(by_kind_status: Counter) -> Table:
    kinds = [kind for kind in EquipmentKind if any(by_kind_status[kind, status] for status in EquipmentStatus)]
    rows = [[kind.label, *(by_kind_status[kind, status] for status in EquipmentStatus),
             sum(by_kind_status[kind, status] for status in EquipmentStatus)] for kind in kinds]
    total = [_("Total"), *(sum(row[index] for row in rows) for index in range(1, len(EquipmentStatus) + 2))]
    return Table("kinds", _("Equipment by kind and status"),
                 [_("Kind"), *(status.label for status in EquipmentStatus), _("Total")], rows, total)


def _rooms_table(school_id: int) -> Table:
    """Every room with its equipment (usable, broken or in repair, all), then what has no room."""
    def counts(*conditions):
        return (func.count(Equipment.id).filter(*conditions) if conditions else func.count(Equipment.id))
    columns = (counts(Equipment.status.in_(USABLE)),
               counts(Equipment.status.in_((EquipmentStatus.BROKEN, EquipmentStatus.IN_REPAIR))), counts())
    rooms = db.session.execute(
        select(Room.name, Room.kind, Room.internet, *columns).outerjoin(Equipment, Equipment.room_id == Room.id)
        .where(Room.school_id == school_id).group_by(Room.id, Room.name, Room.kind, Room.internet)
        .order_by(Room.kind, Room.name))
    rows = [[name, kind.label, _("Yes") if internet else _("No"), *numbers]
            for name, kind, internet, *numbers in rooms]
    unplaced = db.session.execute(select(*columns).where(Equipment.school_id == school_id,
                                                         Equipment.room_id.is_(None))).one()
    if unplaced[-1]:
        rows.append([_("No room"), "", "", *unplaced])
    total = [_("Total"), "", "", *(sum(row[index] for row in rows) for index in range(3, 6))]
    return Table("rooms", _("Equipment by room"),
                 [_("Room"), _("Kind"), _("Internet"), _("Usable"), _("Broken or in repair"), _("All")], rows, total)


def _lines_table(lines: list[NetworkLine]) -> Table:
    rows = [[line.provider, line.kind.label, line.download_mbps, line.upload_mbps, line.monthly_cost_vnd,
             line.status.label] for line in lines]
    active = [line for line in lines if line.status == LineStatus.ACTIVE]
    total = [_("Total of lines in service"), "", _known_sum(line.download_mbps for line in active),
             _known_sum(line.upload_mbps for line in active), _known_sum(line.monthly_cost_vnd for line in active), ""]
    return Table("lines", _("Internet lines"),
                 [_("Provider"), _("Kind"), _("Download (Mbps)"), _("Upload (Mbps)"), _("Monthly cost (VND)"),
                  _("Status")], rows, total)


def _known_sum(values):
    """The sum of the values entered (None: not known), or None when none is."""
    known = [value for value in values if value is not None]
    return sum(known) if known else None
