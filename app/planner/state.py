"""What a projection needs to know about a school's records, read in five queries
whatever the size of its inventory (app.planner.changes.SchoolState)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, func, not_, select

from app.extensions import db
from app.inventory.models import (
    COMPUTER_KINDS,
    PROJECTION_KINDS,
    Equipment,
    EquipmentStatus,
    Material,
    Position,
    Room,
    Software,
    SoftwareCapability,
    SoftwareStatus,
    StaffMember,
)
from app.planner.changes import SKILL_FACTS, DeviceState, RoomState, SchoolState, SoftwareState
from app.schools.models import School


def school_state(school: School) -> SchoolState:
    """``school``'s rooms (with their working displays and computers), broken devices,
    software in use, teachers lacking each skill and materials awaiting approval."""
    def working(kinds):
        return (select(func.count()).select_from(Equipment)
                .where(Equipment.room_id == Room.id, Equipment.kind.in_(kinds),
                       Equipment.status == EquipmentStatus.IN_USE)
                .correlate(Room).scalar_subquery())

    rooms = tuple(RoomState(room_id, name, kind.value, bool(internet), displays, computers)
                  for room_id, name, kind, internet, displays, computers in db.session.execute(
                      select(Room.id, Room.name, Room.kind, Room.internet, working(PROJECTION_KINDS),
                             working(COMPUTER_KINDS))
                      .where(Room.school_id == school.id).order_by(Room.id)))
    broken = tuple(DeviceState(device_id, kind.value, room_id) for device_id, kind, room_id in db.session.execute(
        select(Equipment.id, Equipment.kind, Equipment.room_id)
        .where(Equipment.school_id == school.id, Equipment.status == EquipmentStatus.BROKEN).order_by(Equipment.id)))
    capabilities: dict[int, set[str]] = defaultdict(set)
    names: dict[int, str] = {}
    for software_id, name, capability in db.session.execute(
            select(Software.id, Software.name, SoftwareCapability.capability)
            .outerjoin(SoftwareCapability, SoftwareCapability.software_id == Software.id)
            .where(Software.school_id == school.id, Software.status == SoftwareStatus.IN_USE)):
        names[software_id] = name
        if capability is not None:
            capabilities[software_id].add(capability)
    software = tuple(SoftwareState(software_id, names[software_id], frozenset(capabilities[software_id]))
                     for software_id in sorted(names))
    lacking: dict[str, list[int]] = {skill: [] for skill in SKILL_FACTS}
    skills = [getattr(StaffMember, skill) for skill in SKILL_FACTS]
    for staff_id, *flags in db.session.execute(
            select(StaffMember.id, *skills)
            .where(StaffMember.school_id == school.id, StaffMember.position == Position.TEACHER,
                   not_(and_(*(skill.is_(True) for skill in skills))))
            .order_by(StaffMember.id)):
        for skill, flag in zip(SKILL_FACTS, flags, strict=True):
            if not flag:
                lacking[skill].append(staff_id)
    waiting = tuple(db.session.scalars(
        select(Material.id).where(Material.school_id == school.id,
                                  not_(and_(Material.approved_by_department.is_(True),
                                            Material.approved_by_principal.is_(True))))
        .order_by(Material.id)))
    return SchoolState(rooms, broken, software, {skill: tuple(ids) for skill, ids in lacking.items()}, waiting)
