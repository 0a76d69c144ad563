"""Hypothetical changes to a school's inventory and evidence, and their projection.

``parse_changes(data, evidence_codes)`` turns the API's CHANGE objects into validated
dataclasses. ``project(facts, school_state, changes)`` applies them, in order, to the
engine's facts exactly as the same record changes would change the counted facts, and
returns the projected facts with the ACTIONS (api.md, Planner) that make them real.
``price(actions, prices)`` adds what each action costs. Pure: no Flask, no database.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from app.framework.engine import SCORING_CAPABILITIES, Facts
from app.framework.loader import UnitPrices
from app.text import clean, identity_key

MAX_COUNT = 1000  # records a change list may create or update, as one API request may
NAMES_SHOWN = 3  # software names the live facts quote per capability (app.inventory.facts)

DISPLAY_KINDS = frozenset({"projector", "tv", "interactive_board"})
COMPUTER_KINDS = frozenset({"desktop", "laptop"})
LMS_FUNCTIONS = frozenset({"lms_assign_self_study", "lms_answer_questions", "lms_regular_assessment",
                           "lms_parent_participation"})
# A teacher's skill (a staff field) → the count fact of criterion 1.6 it feeds.
SKILL_FACTS = {"training_account": "teachers_training_account",
               "uses_teaching_software": "teachers_using_software",
               "builds_digital_materials": "teachers_building_materials"}
SKILL_NAMES = {"training_account": "có tài khoản trên hệ thống bồi dưỡng",
               "uses_teaching_software": "sử dụng phần mềm dạy học",
               "builds_digital_materials": "xây dựng học liệu số"}
GROUP_1_CAPABILITIES = frozenset({"online_teaching", "lms", *LMS_FUNCTIONS, "computer_based_testing",
                                  "testing_results_to_management"})


class ChangeError(ValueError):
    """A change that is malformed or impossible; ``fields`` maps ``"<index>.<field>"`` (or
    ``"<index>"``) to the reason, in Vietnamese."""

    def __init__(self, fields: Mapping[str, str]):
        super().__init__("; ".join(f"{name}: {text}" for name, text in fields.items()))
        self.fields = dict(fields)


# --- the change kinds -----------------------------------------------------------------

@dataclass(frozen=True)
class EquipClassrooms:
    """``count`` classrooms become connected with a working display: unequipped ones
    first (those missing least first), then new rooms."""

    count: int
    kind = "equip_classrooms"


@dataclass(frozen=True)
class RepairEquipment:
    """``count`` broken devices back in use, those that count for most first."""

    count: int
    kind = "repair_equipment"


@dataclass(frozen=True)
class AddLabComputers:
    """``count`` working desktops in the first computer lab (a new lab when there is none)."""

    count: int
    kind = "add_lab_computers"


@dataclass(frozen=True)
class AdoptSoftware:
    """Software in use with ``capabilities``: a new record, or added to in-use software
    ``software_id``; LMS functions alone go to the school's LMS when it has one."""

    capabilities: tuple[str, ...]
    software_id: int | None = None
    name: str | None = None
    kind = "adopt_software"


@dataclass(frozen=True)
class ApproveMaterials:
    """``count`` recorded materials approved by the department and the principal."""

    count: int
    kind = "approve_materials"


@dataclass(frozen=True)
class TrainTeachers:
    """``count`` teachers without ``skill`` gain it."""

    count: int
    skill: str
    kind = "train_teachers"


@dataclass(frozen=True)
class BuildStudio:
    """A new studio room with a working computer."""

    kind = "build_studio"


@dataclass(frozen=True)
class AddEvidence:
    """A document linked to ``criterion`` (one met by a document: 1.1, 1.2, 2.1, 2.2, 2.3.a)."""

    criterion: str
    kind = "add_evidence"


Change = (EquipClassrooms | RepairEquipment | AddLabComputers | AdoptSoftware | ApproveMaterials | TrainTeachers
          | BuildStudio | AddEvidence)
CHANGE_KINDS: dict[str, type] = {kind.kind: kind for kind in (
    EquipClassrooms, RepairEquipment, AddLabComputers, AdoptSoftware, ApproveMaterials, TrainTeachers, BuildStudio,
    AddEvidence)}
_FIELDS = {kind: {item.name for item in dataclasses.fields(kind)} for kind in CHANGE_KINDS.values()}
_REQUIRED = {kind: {item.name for item in dataclasses.fields(kind)
                    if item.default is dataclasses.MISSING} for kind in CHANGE_KINDS.values()}


def change_dict(change: Change) -> dict:
    """``change`` as the API's CHANGE object (optional fields left out when unset)."""
    values = {name: getattr(change, name) for name in _FIELDS[type(change)]}
    if "capabilities" in values:
        values["capabilities"] = list(values["capabilities"])
    return {"kind": change.kind, **{name: value for name, value in sorted(values.items()) if value is not None}}


def parse_changes(data, evidence_codes: Iterable[str]) -> tuple[Change, ...]:
    """The CHANGE objects in list ``data`` as dataclasses. ``evidence_codes``: the codes
    add_evidence may name. Raises ChangeError naming each bad change and field."""
    if not isinstance(data, list):
        raise ChangeError({"changes": "Cần một danh sách các thay đổi."})
    if len(data) > 100:
        raise ChangeError({"changes": "Tối đa 100 thay đổi trong một phương án."})
    codes, problems, changes = set(evidence_codes), {}, []
    for index, item in enumerate(data):
        try:
            changes.append(parse_change(item, codes))
        except ChangeError as error:
            problems.update({f"{index}.{name}" if name else str(index): text for name, text in error.fields.items()})
    if problems:
        raise ChangeError(problems)
    if sum(getattr(change, "count", 0) for change in changes) > MAX_COUNT:
        raise ChangeError({"changes": f"Các thay đổi cộng lại tối đa {MAX_COUNT} bản ghi."})
    return tuple(changes)


def parse_change(item, evidence_codes: set[str]) -> Change:
    """One CHANGE object; ChangeError keys are its field names ("" for the whole)."""
    if not isinstance(item, dict):
        raise ChangeError({"": "Mỗi thay đổi là một đối tượng có kind."})
    kind_name = item.get("kind")
    kind = CHANGE_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise ChangeError({"kind": f"Loại thay đổi không hợp lệ (các loại: {', '.join(CHANGE_KINDS)})."})
    values = {name: value for name, value in item.items() if name != "kind"}
    problems = {name: "Trường không dùng cho loại thay đổi này." for name in values.keys() - _FIELDS[kind]}
    problems.update({name: "Thiếu trường này." for name in _REQUIRED[kind] - values.keys()})
    if problems:
        raise ChangeError(problems)
    if "count" in values and (isinstance(values["count"], bool) or not isinstance(values["count"], int)
                              or not 1 <= values["count"] <= MAX_COUNT):
        problems["count"] = f"Số lượng là số nguyên từ 1 đến {MAX_COUNT}."
    if kind is TrainTeachers and not (isinstance(values.get("skill"), str) and values["skill"] in SKILL_FACTS):
        problems["skill"] = f"Kỹ năng là một trong: {', '.join(SKILL_FACTS)}."
    if kind is AddEvidence and not (isinstance(values.get("criterion"), str) and values["criterion"] in evidence_codes):
        problems["criterion"] = f"Minh chứng bổ sung cho một trong: {', '.join(sorted(evidence_codes))}."
    if kind is AdoptSoftware:
        capabilities = values.get("capabilities")
        if (not isinstance(capabilities, list) or not capabilities
                or any(not isinstance(key, str) for key in capabilities)):
            problems["capabilities"] = "Cần danh sách chức năng của phần mềm."
        elif unknown := sorted(set(capabilities) - set(SCORING_CAPABILITIES)):
            problems["capabilities"] = (f"Chức năng không được tính điểm: {', '.join(unknown)} "
                                        f"(các chức năng: {', '.join(SCORING_CAPABILITIES)}).")
        else:
            values["capabilities"] = tuple(dict.fromkeys(capabilities))
        software_id = values.get("software_id")
        if software_id is not None and (isinstance(software_id, bool) or not isinstance(software_id, int)):
            problems["software_id"] = "Mã phần mềm là một số nguyên."
        name = values.get("name")
        if name is not None and (not isinstance(name, str) or not clean(name) or len(name) > 200):
            problems["name"] = "Tên phần mềm từ 1 đến 200 ký tự."
        elif name is not None:
            values["name"] = clean(name)
    if problems:
        raise ChangeError(problems)
    return kind(**values)


# --- what the projection needs to know about the school ------------------------------

@dataclass(frozen=True)
class RoomState:
    """A room with what it holds in working order (displays: projector, TV or interactive
    board; computers: desktop or laptop)."""

    id: int
    name: str
    kind: str
    internet: bool
    working_displays: int = 0
    working_computers: int = 0


@dataclass(frozen=True)
class DeviceState:
    """A broken device and the room it stands in (None: in none)."""

    id: int
    kind: str
    room_id: int | None


@dataclass(frozen=True)
class SoftwareState:
    """A piece of software in use and its capabilities."""

    id: int
    name: str
    capabilities: frozenset[str]


@dataclass(frozen=True)
class SchoolState:
    """The records a projection may change: every room, the broken devices, the software in
    use, per skill the ids of teachers without it, the ids of materials not approved by
    both the department and the principal."""

    rooms: tuple[RoomState, ...] = ()
    broken: tuple[DeviceState, ...] = ()
    software: tuple[SoftwareState, ...] = ()
    teachers_lacking: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    unapproved_materials: tuple[int, ...] = ()

    @functools.cached_property
    def room_name_keys(self) -> frozenset[str]:
        """The rooms' names as they are compared (worked out once: the cheapest path
        projects the same school hundreds of times)."""
        return frozenset(_name_key(room.name) for room in self.rooms)


# --- the projection -------------------------------------------------------------------

def project(facts: Facts, school_state: SchoolState, changes: Sequence[Change]) -> tuple[Facts, list[dict]]:
    """The facts after ``changes`` (applied in order) and the actions making them real.
    ``facts`` are the school's as app.inventory.facts counts them (every software need of
    the framework a key). Raises ChangeError ``{"<index>": reason}`` for an impossible
    change (repairing more devices than are broken, training more teachers than lack the
    skill, approving more materials than are waiting, software that is not in use)."""
    plan = _Plan(facts, school_state)
    problems = {}
    for index, change in enumerate(changes):
        try:
            _APPLY[type(change)](plan, change)
        except ChangeError as error:
            problems[str(index)] = error.fields[""]
    if problems:
        raise ChangeError(problems)
    return plan.facts(), plan.actions


def price(actions: Iterable[dict], prices: UnitPrices) -> tuple[list[dict], int]:
    """``actions`` each with its ``cost_vnd`` (the sum of the unit prices it is
    ``priced_as``), and their total."""
    priced = [{**action, "cost_vnd": sum(prices.of(key) for key in action.get("priced_as", ()))}
              for action in actions]
    return priced, sum(action["cost_vnd"] for action in priced)


@dataclass
class _Room:
    ref: int | str  # a record id, or "@rN" for a room created by the plan
    name: str
    kind: str
    internet: bool
    displays: int
    computers: int


class _Plan:
    """The school as the changes leave it: rooms, what is broken, software, who is left to
    train or approve, and the actions taken so far."""

    def __init__(self, facts: Facts, state: SchoolState):
        self.start = facts
        self.rooms = [_Room(room.id, room.name, room.kind, room.internet, room.working_displays,
                            room.working_computers) for room in sorted(state.rooms, key=lambda room: room.id)]
        self.initial = self.room_counts()
        self.broken = list(state.broken)
        self.software = {item.id: set(item.capabilities) for item in state.software}
        self.software_names = {item.id: item.name for item in state.software}
        self.teachers = {skill: list(state.teachers_lacking.get(skill, ())) for skill in SKILL_FACTS}
        self.materials = list(state.unapproved_materials)
        self.counts = dict(facts.counts)
        self.names = {need: list(names) for need, names in facts.software.items()}
        self.totals = {need: facts.software_count.get(need, len(facts.software.get(need, ())))
                       for need in {*facts.software, *facts.software_count}}
        self.evidence = dict(facts.evidence)
        self.actions: list[dict] = []
        self.taken_names = set(state.room_name_keys)
        self.next_number: dict[str, int] = {}  # per base name, where new_room looks for a free name next
        self.rooms_by_ref = {room.ref: room for room in self.rooms}
        self.next_ref = 1

    # -- records --

    def create(self, collection: str, values: dict, priced_as: Sequence[str] = ()) -> str:
        ref = f"r{self.next_ref}"
        self.next_ref += 1
        self.actions.append({"collection": collection, "op": "create", "ref": ref, "values": values,
                             "priced_as": list(priced_as)})
        return "@" + ref

    def update(self, collection: str, record_id: int, values: dict, priced_as: Sequence[str] = ()) -> None:
        self.actions.append({"collection": collection, "op": "update", "id": record_id, "values": values,
                             "priced_as": list(priced_as)})

    def new_room(self, base: str, kind: str, priced_as: Sequence[str] = ()) -> _Room:
        """A new room named ``base``, or "``base`` N" with the first free N (searched from
        where the last room of that base stopped, so N new rooms cost N look-ups)."""
        number = self.next_number.get(base, 1)
        name = base if number == 1 else f"{base} {number}"
        while _name_key(name) in self.taken_names:
            number += 1
            name = f"{base} {number}"
        self.next_number[base] = number + 1
        self.taken_names.add(_name_key(name))
        room = _Room("", name, kind, True, 0, 0)
        room.ref = self.create("rooms", {"name": name, "kind": kind, "internet": True}, priced_as)
        self.rooms.append(room)
        self.rooms_by_ref[room.ref] = room
        return room

    def add_device(self, room: _Room, kind: str, name: str, priced_as: Sequence[str]) -> None:
        self.create("equipment", {"kind": kind, "name": name, "status": "in_use", "room_id": room.ref}, priced_as)
        if kind in DISPLAY_KINDS:
            room.displays += 1
        if kind in COMPUTER_KINDS:
            room.computers += 1

    def room(self, ref) -> _Room | None:
        return self.rooms_by_ref.get(ref)

    # -- facts --

    def room_counts(self) -> dict[str, int]:
        """The count facts that rooms and their devices decide."""
        classrooms = [room for room in self.rooms if room.kind == "classroom"]
        return {"classrooms": len(classrooms),
                "equipped_classrooms": sum(1 for room in classrooms if room.internet and room.displays),
                "lab_working_computers": sum(room.computers for room in self.rooms if room.kind == "computer_lab"),
                "studio_rooms": sum(1 for room in self.rooms if room.kind == "studio" and room.computers)}

    def software_gained(self, name: str, before: set[str], after: set[str]) -> None:
        """Count software going from ``before`` to ``after`` capabilities for each need."""
        def meets(need, capabilities):
            capability, together = need
            return capability in capabilities and (together is None or together in capabilities)

        for need in self.totals:
            if meets(need, after) and not meets(need, before):
                names = self.names.setdefault(need, [])
                if len(names) == self.totals[need] and len(names) < NAMES_SHOWN:
                    names.append(name)
                self.totals[need] += 1

    def facts(self) -> Facts:
        counts = dict(self.counts)
        for name, value in self.room_counts().items():
            counts[name] += value - self.initial[name]
        return Facts(counts=counts, software={need: tuple(names) for need, names in self.names.items()},
                     software_count=dict(self.totals), evidence=self.evidence)


def _impossible(reason: str) -> ChangeError:
    return ChangeError({"": reason})


def _equip_classrooms(plan: _Plan, change: EquipClassrooms) -> None:
    unequipped = (room for room in plan.rooms if room.kind == "classroom" and not (room.internet and room.displays))
    # Those missing least first; a stable sort keeps the rest in record order.
    waiting = sorted(unequipped, key=lambda room: int(not room.internet) + int(not room.displays))
    for index in range(change.count):
        if index < len(waiting):
            room = waiting[index]
            if not room.internet:  # only recorded rooms: the plan's own are created connected
                room.internet = True
                plan.update("rooms", room.ref, {"internet": True}, ["classroom_internet"])
        else:
            room = plan.new_room("Phòng học mới", "classroom", ["classroom_internet"])
        if not room.displays:
            plan.add_device(room, "projector", f"Máy chiếu {room.name}", ["projector"])


def _repair_effect(plan: _Plan, device: DeviceState) -> int:
    """How much repairing ``device`` counts now: 0 equips a classroom, 1 makes a studio,
    2 adds a lab computer, 3 counts for nothing."""
    room = plan.room(device.room_id) if device.room_id is not None else None
    if room is None:
        return 3
    if device.kind in DISPLAY_KINDS and room.kind == "classroom" and room.internet and not room.displays:
        return 0
    if device.kind in COMPUTER_KINDS and room.kind == "studio" and not room.computers:
        return 1
    if device.kind in COMPUTER_KINDS and room.kind == "computer_lab":
        return 2
    return 3


def _repair_equipment(plan: _Plan, change: RepairEquipment) -> None:
    """Repair the ``count`` devices that count most, one at a time (each repair can make
    another count for less: a classroom's second display). A device's effect only grows,
    so a heap re-checked on the way out gives the same order as looking at all each time."""
    if change.count > len(plan.broken):
        raise _impossible(f"Không thể sửa {change.count} thiết bị: chỉ còn {len(plan.broken)} thiết bị hỏng.")
    queue = [(_repair_effect(plan, device), device.id, device) for device in plan.broken]
    heapq.heapify(queue)
    repaired = set()
    for _ in range(change.count):
        while True:
            effect, _, device = heapq.heappop(queue)
            now = _repair_effect(plan, device)
            if now == effect:
                break
            heapq.heappush(queue, (now, device.id, device))
        repaired.add(device.id)
        plan.update("equipment", device.id, {"status": "in_use"}, ["repair"])
        room = plan.room(device.room_id) if device.room_id is not None else None
        if room is not None:
            room.displays += device.kind in DISPLAY_KINDS
            room.computers += device.kind in COMPUTER_KINDS
    plan.broken = [device for device in plan.broken if device.id not in repaired]


def _add_lab_computers(plan: _Plan, change: AddLabComputers) -> None:
    lab = next((room for room in plan.rooms if room.kind == "computer_lab"), None) or plan.new_room(
        "Phòng máy tính", "computer_lab")
    for number in range(1, change.count + 1):
        plan.add_device(lab, "desktop", f"Máy tính {lab.name} (mới {number})", ["lab_computer"])


def _build_studio(plan: _Plan, change: BuildStudio) -> None:
    studio = plan.new_room("Phòng studio", "studio", ["studio"])
    plan.add_device(studio, "desktop", f"Máy tính {studio.name}", [])


def _adopt_software(plan: _Plan, change: AdoptSoftware) -> None:
    wanted = set(change.capabilities)
    target = change.software_id
    if target is None and wanted <= LMS_FUNCTIONS:
        # The school's own LMS first (ids), then one this plan adds ("@r1" refs).
        target = next((software_id for software_id, capabilities in sorted(
            plan.software.items(), key=lambda pair: (isinstance(pair[0], str), str(pair[0]).zfill(20)))
                       if "lms" in capabilities), None)
    if target is not None:
        if target not in plan.software:
            raise _impossible(f"Không có phần mềm đang sử dụng với mã {target}.")
        before = plan.software[target]
        added = sorted(wanted - before)
        if not added:
            raise _impossible(f"{plan.software_names[target]} đã có các chức năng này.")
        after = before | wanted
        plan.software[target] = after
        priced_as = [f"capability:{key}" for key in added]
        if isinstance(target, str):  # software this plan adds: its creation gains the capabilities
            created = next(action for action in plan.actions
                           if action["op"] == "create" and "@" + action["ref"] == target)
            created["values"]["capabilities"] = [*created["values"]["capabilities"], *added]
            created["priced_as"] = [*created["priced_as"], *priced_as]
        else:
            plan.update("software", target, {"capabilities": sorted(after)}, priced_as)
        plan.software_gained(plan.software_names[target], before, after)
        return
    name = change.name or _software_name(change.capabilities)
    category = "teaching" if wanted & GROUP_1_CAPABILITIES else "management"
    ref = plan.create("software", {"name": name, "category": category, "acquisition": "rented", "status": "in_use",
                                   "capabilities": list(change.capabilities)},
                      [f"capability:{key}" for key in change.capabilities])
    plan.software[ref] = set(wanted)
    plan.software_names[ref] = name
    plan.software_gained(name, set(), wanted)


def _software_name(capabilities: Sequence[str]) -> str:
    main = "lms" if "lms" in capabilities else capabilities[0]
    return f"Phần mềm mới: {SCORING_CAPABILITIES[main]}"


def _approve_materials(plan: _Plan, change: ApproveMaterials) -> None:
    if change.count > len(plan.materials):
        raise _impossible(f"Không thể phê duyệt {change.count} học liệu: chỉ có {len(plan.materials)} học liệu "
                          f"chưa được tổ chuyên môn thông qua và hiệu trưởng phê duyệt.")
    for material_id in plan.materials[:change.count]:
        plan.update("materials", material_id, {"approved_by_department": True, "approved_by_principal": True},
                    ["material_approval"])
    del plan.materials[:change.count]
    plan.counts["approved_materials"] += change.count


def _train_teachers(plan: _Plan, change: TrainTeachers) -> None:
    waiting = plan.teachers[change.skill]
    if change.count > len(waiting):
        raise _impossible(f"Không thể bồi dưỡng {change.count} giáo viên ({SKILL_NAMES[change.skill]}): chỉ có "
                          f"{len(waiting)} giáo viên chưa có kỹ năng này.")
    for staff_id in waiting[:change.count]:
        plan.update("staff", staff_id, {change.skill: True}, ["teacher_training"])
    del waiting[:change.count]
    plan.counts[SKILL_FACTS[change.skill]] += change.count


def _add_evidence(plan: _Plan, change: AddEvidence) -> None:
    plan.actions.append({"collection": "evidence", "op": "link", "criterion": change.criterion,
                         "priced_as": ["evidence_document"]})
    plan.evidence.setdefault(change.criterion, "linked")


_APPLY = {EquipClassrooms: _equip_classrooms, RepairEquipment: _repair_equipment, AddLabComputers: _add_lab_computers,
          BuildStudio: _build_studio, AdoptSoftware: _adopt_software, ApproveMaterials: _approve_materials,
          TrainTeachers: _train_teachers, AddEvidence: _add_evidence}


def _name_key(name: str) -> str:
    """Room names compared as the inventory compares them."""
    return identity_key(name)
