"""The two ways between inventory records and the index's sub-items: what one record
counts towards, and the records a sub-item's points are counted from.

``supports(record, index)`` says, for each sub-item the record's kind could feed, whether
the record counts towards it and why, or what it lacks ("6A: chưa tính vào 1.7.a: chưa
có Internet"). ``records_behind(school, index, code)`` lists the records that count
towards a sub-item (the classrooms counted as equipped, with their display devices; the
labs and their working computers; the software in use with the capability...).

Both follow the facts' definitions (app.inventory.facts, api.md "Derived facts") and take
the sub-item codes from the index's rules: a record feeds a count fact, and every rule
reading that fact names a sub-item. The sentences are Vietnamese, like the engine's bases.
This is the live-score layer: views and the API call it; the records' packages do not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from functools import cache

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.framework.engine import Facts
from app.framework.loader import (
    COUNT_FACTS,
    SCORING_CAPABILITIES,
    CapabilityRule,
    CountBandsRule,
    Criterion,
    Framework,
    Item,
    LevelFromRatioRule,
    PercentageBandsRule,
    RoomPresentRule,
    Rule,
)
from app.inventory.facts import school_facts
from app.inventory.models import (
    COMPUTER_KINDS,
    PROJECTION_KINDS,
    Equipment,
    EquipmentKind,
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

# The criterion whose team the staff's dt_team_role records. No rule reads the team (2.1
# is met by the decision naming it), so its code cannot come from a rule.
TEAM_CRITERION = "2.1"

# The teacher flags of criterion 1.6, by the count fact each one feeds.
TEACHER_FLAGS = {"teachers_training_account": "training_account",
                 "teachers_using_software": "uses_teaching_software",
                 "teachers_building_materials": "builds_digital_materials"}

DEVICE_WORDS = {EquipmentKind.PROJECTOR: "máy chiếu", EquipmentKind.TV: "ti vi",
                EquipmentKind.INTERACTIVE_BOARD: "bảng tương tác",
                EquipmentKind.DESKTOP: "máy tính để bàn", EquipmentKind.LAPTOP: "máy tính xách tay"}
EQUIPMENT_STATES = {EquipmentStatus.BROKEN: "thiết bị đang hỏng", EquipmentStatus.IN_REPAIR: "thiết bị đang sửa chữa",
                    EquipmentStatus.SPARE: "thiết bị đang để dự phòng, chưa dùng",
                    EquipmentStatus.RETIRED: "thiết bị đã thanh lý"}
SOFTWARE_STATES = {SoftwareStatus.PLANNED: "phần mềm mới dự kiến, chưa đưa vào sử dụng",
                   SoftwareStatus.MISSING: "phần mềm cần nhưng chưa có",
                   SoftwareStatus.RETIRED: "phần mềm không còn sử dụng"}
POSITION_WORDS = {Position.MANAGER: "cán bộ quản lý", Position.STAFF: "nhân viên"}


@dataclass(frozen=True)
class Support:
    """Whether a record ``counts`` towards sub-item ``code`` (a directly scored criterion,
    e.g. 1.4, under its own code; 2.1 for the team), and ``reason``: a Vietnamese sentence
    that starts with the record's name and says why, or what is missing."""

    code: str
    counts: bool
    reason: str


@dataclass(frozen=True)
class RecordRef:
    """An inventory record behind a sub-item: its ``collection`` (a key of
    app.inventory.services.COLLECTIONS), ``id``, ``label`` (as the record names itself)
    and ``detail`` (why it counts, in Vietnamese). ``count``: how much it adds to the
    fact counted (a lab's working computers; 1 for any other record). ``within``: the
    records inside it that make it count (a classroom's display devices, a studio's
    computers)."""

    collection: str
    id: int
    label: str
    detail: str
    count: int = 1
    within: tuple[RecordRef, ...] = ()


# --- what a record counts towards ------------------------------------------------------

@dataclass(frozen=True)
class _Fed:
    """A record's part in count fact ``fact``: it ``counts`` (``text`` says as what) or not
    (``text`` says what is missing)."""

    fact: str
    counts: bool
    text: str


def supports(record, index: Framework) -> list[Support]:
    """What ``record`` (an inventory record of any kind) counts towards in ``index``: one
    Support per sub-item its kind could feed, in the index's order; [] for records that
    feed nothing (Internet lines, a printer, an office). Reads the record's room, devices
    or the school's facts where the answer depends on them (a few bounded queries)."""
    name = str(record)
    finders: dict[type, Callable] = {Room: _room_fed, Equipment: _equipment_fed, Material: _material_fed,
                                     StaffMember: _staff_fed}
    if isinstance(record, Software):
        found = _software_supports(record, index, name)
    elif type(record) in finders:
        found = _fact_supports(record, index, name, finders[type(record)](record))
    else:
        found = []
    if isinstance(record, StaffMember) and record.dt_team_role and index.find(TEAM_CRITERION) is not None:
        found.append(Support(TEAM_CRITERION, True, f"{name}: thành viên bộ phận phụ trách chuyển đổi số "
                                                   f"({record.dt_team_role}) → {TEAM_CRITERION} (danh sách "
                                                   f"thành viên; tiêu chí đạt khi có quyết định thành lập)"))
    return list(dict.fromkeys(found))


def _fact_supports(record, index: Framework, name: str, fed: list[_Fed]) -> list[Support]:
    """A Support for every rule of ``index`` reading a fact the record feeds."""
    by_fact = {part.fact: part for part in fed}
    facts = cache(lambda: school_facts(record.school, index))  # only when a rule needs them
    found = []
    for item, rule in _rules(index):
        for fact in _facts_read(rule):
            part = by_fact.get(fact)
            if part is None:
                continue
            if not part.counts:
                found.append(_not_counted(name, item, part.text))
            elif isinstance(rule, CapabilityRule):  # the record meets the rule's requirement only
                found.append(_requirement_support(name, item, rule, part, facts()))
            else:
                found.append(_counted(name, item, part.text))
    return found


def _requirement_support(name: str, item: Item, rule: CapabilityRule, part: _Fed, facts: Facts) -> Support:
    """A record meeting the requirement of a capability rule (a lab's computers for
    computer-based testing) counts when the software is there too."""
    names, total = facts.providers((rule.capability, rule.with_capability))
    have, needed = facts.counts[part.fact], rule.requires.min
    if have < needed:
        return _not_counted(name, item, f"cần ít nhất {needed} {COUNT_FACTS[part.fact]}, hiện có {have}")
    if not total:
        return _not_counted(name, item, f"chưa có {_wanted(rule)}")
    return _counted(name, item, f"{part.text}, cùng {_names(names, total)} ({_wanted(rule)})")


def _room_fed(room: Room) -> list[_Fed]:
    if room.kind == RoomKind.CLASSROOM:
        kinds = set(db.session.scalars(select(Equipment.kind).where(
            Equipment.room_id == room.id, Equipment.kind.in_(PROJECTION_KINDS),
            Equipment.status == EquipmentStatus.IN_USE).distinct()))
        devices = [DEVICE_WORDS[kind] for kind in PROJECTION_KINDS if kind in kinds]
        missing = [*([] if room.internet else ["chưa có Internet"]),
                   *([] if devices else [f"chưa có {_joined(_projection_words(), 'hoặc')} đang dùng"])]
        if missing:
            return [_Fed("equipped_classrooms", False, "; ".join(missing))]
        return [_Fed("equipped_classrooms", True, f"phòng học có Internet và {_joined(devices, 'và')} đang dùng")]
    fact = {RoomKind.COMPUTER_LAB: "lab_working_computers", RoomKind.STUDIO: "studio_rooms"}.get(room.kind)
    if fact is None:
        return []
    computers = db.session.scalar(select(func.count()).select_from(Equipment).where(
        Equipment.room_id == room.id, Equipment.kind.in_(COMPUTER_KINDS), Equipment.status == EquipmentStatus.IN_USE))
    if not computers:
        return [_Fed(fact, False, "chưa có máy tính (để bàn, xách tay) đang dùng trong phòng")]
    what = "phòng máy" if room.kind == RoomKind.COMPUTER_LAB else "phòng studio"
    return [_Fed(fact, True, f"{what} có {computers} máy tính hoạt động")]


def _equipment_fed(item: Equipment) -> list[_Fed]:
    room, word = item.room, DEVICE_WORDS.get(item.kind)
    state = [] if item.status == EquipmentStatus.IN_USE else [EQUIPMENT_STATES[item.status]]
    if item.kind in PROJECTION_KINDS:
        if room is None or room.kind != RoomKind.CLASSROOM:
            where = "chưa đặt trong phòng học nào" if room is None else f"{room.name} không phải phòng học"
            return [_Fed("equipped_classrooms", False, "; ".join([where, *state]))]
        missing = [*state, *([] if room.internet else [f"{room.name} chưa có Internet"])]
        if missing:
            return [_Fed("equipped_classrooms", False, "; ".join(missing))]
        return [_Fed("equipped_classrooms", True, f"{word} đang dùng ở {room.name} (phòng học có Internet)")]
    if item.kind not in COMPUTER_KINDS:
        return []
    places = {RoomKind.COMPUTER_LAB: ("lab_working_computers", "phòng máy"),
              RoomKind.STUDIO: ("studio_rooms", "phòng studio")}
    if room is not None and room.kind in places:
        fact, what = places[room.kind]
        if state:
            return [_Fed(fact, False, "; ".join(state))]
        return [_Fed(fact, True, f"{word} đang dùng trong {room.name} ({what})")]
    return [_Fed(fact, False, "; ".join([f"chưa đặt trong {what}" if room is None
                                         else f"{room.name} không phải {what}", *state]))
            for fact, what in places.values()]


def _material_fed(material: Material) -> list[_Fed]:
    missing = [*([] if material.approved_by_department else ["chưa được tổ chuyên môn thông qua"]),
               *([] if material.approved_by_principal else ["chưa được hiệu trưởng phê duyệt"])]
    if missing:
        return [_Fed("approved_materials", False, "; ".join(missing))]
    return [_Fed("approved_materials", True, COUNT_FACTS["approved_materials"])]


def _staff_fed(person: StaffMember) -> list[_Fed]:
    fed = []
    for fact, flag in TEACHER_FLAGS.items():
        if person.position != Position.TEACHER:
            if getattr(person, flag):  # a skill recorded on someone the shares do not count
                fed.append(_Fed(fact, False, f"tỉ lệ chỉ tính trên giáo viên; người này là "
                                             f"{POSITION_WORDS[person.position]}"))
        elif getattr(person, flag):
            fed.append(_Fed(fact, True, COUNT_FACTS[fact]))
        else:
            fed.append(_Fed(fact, False, f"chưa được ghi nhận là {COUNT_FACTS[fact]}"))
    return fed


def _software_supports(software: Software, index: Framework, name: str) -> list[Support]:
    """A Support for every capability rule reading one of ``software``'s capabilities."""
    held = set(software.capabilities)
    facts = cache(lambda: school_facts(software.school, index))
    found = []
    for item, rule in _rules(index):
        if not isinstance(rule, CapabilityRule) or not {rule.capability, rule.with_capability} & held:
            continue
        missing = []
        if software.status != SoftwareStatus.IN_USE:
            missing.append(SOFTWARE_STATES[software.status])
        if rule.capability not in held:
            missing.append(f"chưa có chức năng {_lower_first(SCORING_CAPABILITIES[rule.capability])}")
        elif rule.with_capability and rule.with_capability not in held:
            missing.append(f"chức năng {_lower_first(SCORING_CAPABILITIES[rule.capability])} chỉ được tính trên "
                           f"{_lower_first(SCORING_CAPABILITIES[rule.with_capability])}; phần mềm này chưa "
                           f"được khai báo là {_lower_first(SCORING_CAPABILITIES[rule.with_capability])}")
        elif rule.requires and not missing:
            have, needed = facts().counts[rule.requires.fact], rule.requires.min
            if have < needed:
                missing.append(f"cần ít nhất {needed} {COUNT_FACTS[rule.requires.fact]}, hiện có {have}")
        if missing:
            found.append(_not_counted(name, item, "; ".join(missing)))
        else:
            found.append(_counted(name, item, _wanted(rule)))
    return found


def _counted(name: str, item: Item, why: str) -> Support:
    return Support(item.code, True, f"{name}: {why} → {item.code}")


def _not_counted(name: str, item: Item, missing: str) -> Support:
    return Support(item.code, False, f"{name}: chưa tính vào {item.code}: {missing}")


# --- the records behind a sub-item -----------------------------------------------------

def records_behind(school: School, index: Framework, item_code: str) -> list[RecordRef]:
    """The inventory records of ``school`` that count towards ``item_code`` in ``index``:
    a scored sub-item (or a directly scored criterion, e.g. 1.4), a criterion with
    sub-items (theirs, in order, each record once), or the team criterion (its members).
    One query per fact or capability the rules read, whatever the inventory's size; []
    where points come from evidence alone. Raises KeyError for a code the index lacks."""
    found = index.find(item_code)
    if isinstance(found, Criterion):
        if item_code == TEAM_CRITERION:
            return _team_members(school.id)
        items = found.scored_items
    elif isinstance(found, Item):
        items = (found,)
    else:
        raise KeyError(item_code)
    refs: dict[tuple[str, int], RecordRef] = {}
    for item in items:
        for rule in item.rules:
            for ref in _rule_records(school.id, rule):
                known = refs.setdefault((ref.collection, ref.id), ref)
                if ref.detail not in known.detail.split("; "):  # one record behind two parts (2.3.c)
                    refs[ref.collection, ref.id] = replace(known, detail=f"{known.detail}; {ref.detail}")
    return list(refs.values())


def _rule_records(school_id: int, rule: Rule) -> list[RecordRef]:
    """The records counted by ``rule``: of a capability rule with a requirement, the
    software and the records meeting the requirement, only when both are there (the
    sub-item scores nothing otherwise)."""
    if not isinstance(rule, CapabilityRule):
        return [record for fact in _facts_read(rule) if fact in _FACT_RECORDS
                for record in _FACT_RECORDS[fact](school_id)]
    if rule.requires is None:
        return _software_providing(school_id, rule)
    required = _FACT_RECORDS[rule.requires.fact](school_id) if rule.requires.fact in _FACT_RECORDS else []
    if sum(record.count for record in required) < rule.requires.min:
        return []
    software = _software_providing(school_id, rule)
    return [*software, *required] if software else []


def _equipped_classrooms(school_id: int) -> list[RecordRef]:
    return _rooms_with_devices(school_id, RoomKind.CLASSROOM, PROJECTION_KINDS, "Phòng học có Internet; "
                               "thiết bị trình chiếu đang dùng: {devices}", internet=True)


def _studios(school_id: int) -> list[RecordRef]:
    return _rooms_with_devices(school_id, RoomKind.STUDIO, COMPUTER_KINDS,
                               "Phòng studio có {count} máy tính hoạt động: {devices}")


def _rooms_with_devices(school_id: int, kind: RoomKind, device_kinds, detail: str,
                        internet: bool = False) -> list[RecordRef]:
    """The rooms of ``kind`` holding an in-use device of ``device_kinds`` (with Internet
    when asked), each with those devices: one query."""
    rows = db.session.execute(
        select(Room.id, Room.name, Equipment.id, Equipment.kind, Equipment.name, Equipment.asset_tag)
        .join(Equipment, Equipment.room_id == Room.id)
        .where(Room.school_id == school_id, Room.kind == kind, *([Room.internet.is_(True)] if internet else []),
               Equipment.kind.in_(device_kinds), Equipment.status == EquipmentStatus.IN_USE)
        .order_by(Room.name, Room.id, Equipment.kind, Equipment.asset_tag))
    rooms: dict[int, tuple[str, list[RecordRef]]] = {}
    for room_id, room_name, device_id, device_kind, device_name, asset_tag in rows:
        label = f"{device_name} ({asset_tag})"
        rooms.setdefault(room_id, (room_name, []))[1].append(
            RecordRef("equipment", device_id, label, f"{DEVICE_WORDS[device_kind].capitalize()} đang dùng"))
    return [RecordRef("rooms", room_id, room_name,
                      detail.format(count=len(devices), devices=", ".join(device.label for device in devices)),
                      within=tuple(devices))
            for room_id, (room_name, devices) in rooms.items()]


def _labs(school_id: int) -> list[RecordRef]:
    """The computer labs with working computers, with how many: one grouped query."""
    rows = db.session.execute(
        select(Room.id, Room.name, func.count(Equipment.id))
        .join(Equipment, Equipment.room_id == Room.id)
        .where(Room.school_id == school_id, Room.kind == RoomKind.COMPUTER_LAB,
               Equipment.kind.in_(COMPUTER_KINDS), Equipment.status == EquipmentStatus.IN_USE)
        .group_by(Room.id, Room.name).order_by(Room.name, Room.id))
    return [RecordRef("rooms", room_id, name, f"Phòng máy có {count} máy tính hoạt động", count)
            for room_id, name, count in rows]


def _approved_materials(school_id: int) -> list[RecordRef]:
    rows = db.session.execute(
        select(Material.id, Material.title, Material.approved_on)
        .where(Material.school_id == school_id, Material.approved_by_department.is_(True),
               Material.approved_by_principal.is_(True))
        .order_by(Material.title, Material.id))
    return [RecordRef("materials", material_id, title, "Được tổ chuyên môn thông qua và hiệu trưởng phê duyệt"
                      + (f" ngày {_day(approved_on)}" if approved_on else ""))
            for material_id, title, approved_on in rows]


def _teachers_with(fact: str) -> Callable[[int], list[RecordRef]]:
    def teachers(school_id: int) -> list[RecordRef]:
        flag = getattr(StaffMember, TEACHER_FLAGS[fact])
        rows = db.session.execute(
            select(StaffMember.id, StaffMember.full_name)
            .where(StaffMember.school_id == school_id, StaffMember.position == Position.TEACHER, flag.is_(True))
            .order_by(StaffMember.name_sort, StaffMember.id))
        detail = COUNT_FACTS[fact].capitalize()
        return [RecordRef("staff", person_id, full_name, detail) for person_id, full_name in rows]
    return teachers


def _team_members(school_id: int) -> list[RecordRef]:
    rows = db.session.execute(
        select(StaffMember.id, StaffMember.full_name, StaffMember.dt_team_role)
        .where(StaffMember.school_id == school_id, StaffMember.dt_team_role.is_not(None),
               StaffMember.dt_team_role != "")
        .order_by(StaffMember.name_sort, StaffMember.id))
    return [RecordRef("staff", person_id, full_name, f"Thành viên bộ phận phụ trách chuyển đổi số: {role}")
            for person_id, full_name, role in rows]


def _software_providing(school_id: int, rule: CapabilityRule) -> list[RecordRef]:
    """The school's in-use software with the rule's capability (and its ``with`` one, on
    the same software), in the order it was recorded: one query."""
    also = aliased(SoftwareCapability)
    together = ([exists().where(also.software_id == Software.id, also.capability == rule.with_capability)]
                if rule.with_capability else [])
    rows = db.session.execute(
        select(Software.id, Software.name)
        .join(SoftwareCapability, SoftwareCapability.software_id == Software.id)
        .where(SoftwareCapability.school_id == school_id, SoftwareCapability.capability == rule.capability,
               Software.status == SoftwareStatus.IN_USE, *together)
        .order_by(Software.id))
    detail = _wanted(rule)
    return [RecordRef("software", software_id, name, detail[:1].upper() + detail[1:]) for software_id, name in rows]


# The records behind each count fact that inventory records feed (the bases of shares,
# classrooms and teachers, are not "behind" a sub-item's points).
_FACT_RECORDS: dict[str, Callable[[int], list[RecordRef]]] = {
    "equipped_classrooms": _equipped_classrooms,
    "lab_working_computers": _labs,
    "studio_rooms": _studios,
    "approved_materials": _approved_materials,
    **{fact: _teachers_with(fact) for fact in TEACHER_FLAGS},
}


# --- the index's rules -------------------------------------------------------------------

def _rules(index: Framework) -> Iterator[tuple[Item, Rule]]:
    """Every (sub-item, rule) of the index, a sub-item's parts one by one, in order."""
    for item in index.scored_items:
        for rule in item.rules:
            yield item, rule


def _facts_read(rule: Rule) -> tuple[str, ...]:
    """The count facts ``rule`` reads (a capability rule: its requirement's)."""
    if isinstance(rule, PercentageBandsRule | LevelFromRatioRule):
        return rule.numerator, rule.denominator
    if isinstance(rule, CountBandsRule | RoomPresentRule):
        return (rule.fact,)
    if isinstance(rule, CapabilityRule) and rule.requires:
        return (rule.requires.fact,)
    return ()


# --- wording -----------------------------------------------------------------------------

def _wanted(rule: CapabilityRule) -> str:
    """What the rule asks for, as the engine says it: "phần mềm đang dùng có chức năng …"."""
    provider = _lower_first(SCORING_CAPABILITIES[rule.with_capability]) if rule.with_capability else "phần mềm"
    return f"{provider} đang dùng có chức năng {_lower_first(SCORING_CAPABILITIES[rule.capability])}"


def _projection_words() -> list[str]:
    return [DEVICE_WORDS[kind] for kind in PROJECTION_KINDS]


def _joined(words: list[str], last: str) -> str:
    """"a", "a và b", "a, b và c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _names(names: tuple[str, ...], total: int) -> str:
    shown = ", ".join(names) or f"{total} phần mềm"
    return f"{shown} và {total - len(names)} phần mềm khác" if names and total > len(names) else shown


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")
