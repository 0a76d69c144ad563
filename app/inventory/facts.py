"""The facts the scoring engine needs, counted in the database: a fixed handful of
aggregate queries answered mostly from covering indexes, whatever the size of the
inventory; never a walk over its rows in Python.

The statements are built once (with the school as a bound parameter) and reused, so a
score costs the database work and little else."""

from __future__ import annotations

from functools import cache

from sqlalchemy import and_, bindparam, case, exists, func, literal, select, union_all
from sqlalchemy.orm import aliased

from app.extensions import db
from app.framework.engine import Facts
from app.framework.loader import Framework
from app.inventory.models import (
    COMPUTER_KINDS,
    PROJECTION_KINDS,
    Equipment,
    EquipmentStatus,
    Material,
    Position,
    Room,
    RoomKind,
    Software,
    SoftwareCapability,
    SoftwareStatus,
    StaffMember,
)
from app.schools.models import School

NAMES_SHOWN = 3  # software names quoted per capability in a basis
SCHOOL = bindparam("school_id")


def school_facts(school: School, framework: Framework, evidence: dict[str, str] | None = None) -> Facts:
    """The facts of ``school``'s current inventory for ``framework``'s rules."""
    counts = db.session.execute(_counts_statement(), {"school_id": school.id}).one()._asdict()
    counts["largest_class_size"] = school.largest_class_size
    software, software_count = _software_capabilities(school.id, framework.capability_needs())
    return Facts(counts=counts, software=software, software_count=software_count, evidence=evidence or {})


@cache
def _counts_statement():
    def count(model, *conditions):
        return select(func.count()).select_from(model).where(*conditions).scalar_subquery()

    def holds_working(kinds):
        return exists().where(Equipment.room_id == Room.id, Equipment.kind.in_(kinds),
                              Equipment.status == EquipmentStatus.IN_USE)

    def teachers_who(flag):
        return func.coalesce(func.sum(case((flag.is_(True), 1), else_=0)), 0)

    lab = aliased(Room)
    classroom = and_(Room.school_id == SCHOOL, Room.kind == RoomKind.CLASSROOM)
    lab_computers = (select(func.count()).select_from(lab)
                     .join(Equipment, Equipment.room_id == lab.id)
                     .where(lab.school_id == SCHOOL, lab.kind == RoomKind.COMPUTER_LAB,
                            Equipment.kind.in_(COMPUTER_KINDS), Equipment.status == EquipmentStatus.IN_USE)
                     .scalar_subquery())
    # One pass over the school's teachers (a covering index range) for the four shares of
    # 1.6, with the other counts as scalar subqueries beside it.
    return select(
        func.count().label("teachers"),
        teachers_who(StaffMember.training_account).label("teachers_training_account"),
        teachers_who(StaffMember.uses_teaching_software).label("teachers_using_software"),
        teachers_who(StaffMember.builds_digital_materials).label("teachers_building_materials"),
        count(Room, classroom).label("classrooms"),
        count(Room, classroom, Room.internet.is_(True), holds_working(PROJECTION_KINDS)).label("equipped_classrooms"),
        lab_computers.label("lab_working_computers"),
        count(Room, Room.school_id == SCHOOL, Room.kind == RoomKind.STUDIO,
              holds_working(COMPUTER_KINDS)).label("studio_rooms"),
        count(Material, Material.school_id == SCHOOL, Material.approved_by_department.is_(True),
              Material.approved_by_principal.is_(True)).label("approved_materials"),
    ).select_from(StaffMember).where(StaffMember.school_id == SCHOOL, StaffMember.position == Position.TEACHER)


@cache
def _software_statement(needs: frozenset[tuple[str, str | None]]):
    """One statement answering every (capability, with) need: rows of (with or "",
    capability, how many, first name, second, third) for the school's in-use software
    providing the capability (and ``with`` as well, when given), names in the order they
    were recorded. Each need costs a grouped index range and three index probes."""
    def also_has(row, with_capability):
        if with_capability is None:
            return []
        also = aliased(SoftwareCapability)
        return [exists().where(also.software_id == row.software_id, also.capability == with_capability)]

    def answers(with_capability: str | None):
        provided = aliased(SoftwareCapability)
        wanted = sorted(capability for capability, with_ in needs if with_ == with_capability)

        def name_at(position: int):
            other, other_software = aliased(SoftwareCapability), aliased(Software)
            return (select(other_software.name).join(other, other.software_id == other_software.id)
                    .where(other.school_id == SCHOOL, other.capability == provided.capability,
                           other_software.status == SoftwareStatus.IN_USE, *also_has(other, with_capability))
                    .order_by(other.software_id).limit(1).offset(position).scalar_subquery())

        return (select(literal(with_capability or ""), provided.capability, func.count(),
                       *(name_at(position) for position in range(NAMES_SHOWN)))
                .join(Software, Software.id == provided.software_id)
                .where(provided.school_id == SCHOOL, provided.capability.in_(wanted),
                       Software.status == SoftwareStatus.IN_USE, *also_has(provided, with_capability))
                .group_by(provided.capability))

    return union_all(*(answers(with_capability) for with_capability in sorted(
        {with_ for _capability, with_ in needs}, key=lambda value: value or "")))


def _software_capabilities(school_id: int, needs) -> tuple[dict, dict]:
    """For each (capability, with) need: the first names of in-use software providing it,
    and how many there are."""
    names: dict = {need: [] for need in needs}
    totals: dict = dict.fromkeys(needs, 0)
    if not needs:
        return names, totals
    for with_capability, capability, total, *first_names in db.session.execute(
            _software_statement(frozenset(needs)), {"school_id": school_id}):
        need = (capability, with_capability or None)
        names[need] = [name for name in first_names if name is not None]
        totals[need] = total
    return names, totals
