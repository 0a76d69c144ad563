"""The planner page's form: one field per change a principal understands, read into the
API's CHANGE objects (and back, to fill the form with a saved plan or a cheapest path),
and the actions described in words with the names of the records they touch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.framework.engine import SCORING_CAPABILITIES
from app.inventory.models import Equipment, EquipmentKind, Material, Room, RoomKind, Software, StaffMember
from app.planner.changes import LMS_FUNCTIONS, MAX_COUNT, SKILL_FACTS

# Count fields in the order their changes apply (repairs first, so that a repaired
# display equips its classroom before new ones are bought).
COUNT_FIELDS = ("repair_equipment", "equip_classrooms", "add_lab_computers")
LATER_COUNT_FIELDS = ("approve_materials", *(f"train_{skill}" for skill in SKILL_FACTS))
SKILL_LABELS = {
    "training_account": _l("an account on the training system"),
    "uses_teaching_software": _l("using teaching software"),
    "builds_digital_materials": _l("building digital learning materials"),
}


def field_label(field: str, n: str = "N") -> str:
    """The sentence of a count field around ``n``: "Sửa N thiết bị hỏng"."""
    if field.startswith("train_"):
        return _("Train %(n)s teachers in %(skill)s", n=n, skill=SKILL_LABELS[field.removeprefix("train_")])
    return {"repair_equipment": _("Repair %(n)s broken devices", n=n),
            "equip_classrooms": _("Equip %(n)s more classrooms (Internet and a display device)", n=n),
            "add_lab_computers": _("Add %(n)s computers to the computer lab", n=n),
            "approve_materials": _("Approve %(n)s learning materials", n=n)}[field]


def _count(value: str | None) -> int | None:
    """A count typed in the form: None when empty or 0; ValueError when not 0..MAX_COUNT."""
    value = (value or "").strip()
    if value in ("", "0"):
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_COUNT:
        raise ValueError(_("A whole number from 0 to %(n)d.", n=MAX_COUNT))
    return int(value)


def read_form(args: Mapping, evidence_codes: Sequence[str]) -> tuple[list[dict], list[str], dict[str, str]]:
    """The CHANGE objects the form ``args`` (a MultiDict) asks for, the form field each
    comes from (same order), and the messages of fields that are not numbers."""
    changes, fields, errors = [], [], {}

    def add(field: str, change: dict) -> None:
        changes.append(change)
        fields.append(field)

    def counted(field: str, kind: str, **extra) -> None:
        try:
            count = _count(args.get(field))
        except ValueError as error:
            errors[field] = str(error)
            return
        if count:
            add(field, {"kind": kind, "count": count, **extra})

    for field in COUNT_FIELDS:
        counted(field, field)
    if args.get("build_studio"):
        add("build_studio", {"kind": "build_studio"})
    chosen = [key for key in SCORING_CAPABILITIES if key in args.getlist("capabilities")]
    # LMS functions count only on an LMS: with a new LMS they go on it, alone on the school's own.
    functions = [key for key in chosen if key in LMS_FUNCTIONS or key == "lms"]
    others = [key for key in chosen if key not in functions]
    if functions:
        add("capabilities", {"kind": "adopt_software", "capabilities": functions})
    if others:
        add("capabilities", {"kind": "adopt_software", "capabilities": others})
    counted("approve_materials", "approve_materials")
    for skill in SKILL_FACTS:
        counted(f"train_{skill}", "train_teachers", skill=skill)
    for code in evidence_codes:
        if code in args.getlist("evidence"):
            add("evidence", {"kind": "add_evidence", "criterion": code})
    return changes, fields, errors


def form_of(changes: Sequence[dict]) -> dict[str, int | bool | list[str]]:
    """The form values that ask for ``changes`` (counts of one kind added up)."""
    values: dict = {"capabilities": [], "evidence": []}
    for change in changes:
        kind = change.get("kind")
        field = f"train_{change.get('skill')}" if kind == "train_teachers" else kind
        if "count" in change:
            values[field] = values.get(field, 0) + change["count"]
        elif kind == "build_studio":
            values["build_studio"] = True
        elif kind == "adopt_software":
            values["capabilities"] += [key for key in change["capabilities"] if key not in values["capabilities"]]
        elif kind == "add_evidence" and change["criterion"] not in values["evidence"]:
            values["evidence"].append(change["criterion"])
    return values


def query_of(changes: Sequence[dict]) -> dict[str, object]:
    """``form_of`` as URL query arguments (for url_for)."""
    values = form_of(changes)
    return {key: (1 if value is True else value) for key, value in values.items() if value}


def field_errors(fields: Sequence[str], errors: Mapping[str, str]) -> dict[str, str]:
    """services.whatif's ``changes.<index>[.<field>]`` messages by form field."""
    found: dict[str, str] = {}
    for name, text in errors.items():
        parts = name.split(".")
        index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        field = fields[index] if index is not None and index < len(fields) else "changes"
        found[field] = f"{found[field]} {text}" if field in found else text
    return found


_NAMES = {"rooms": (Room, Room.name), "equipment": (Equipment, Equipment.name), "software": (Software, Software.name),
          "materials": (Material, Material.title), "staff": (StaffMember, StaffMember.full_name)}


def describe(actions: Sequence[dict]) -> list[str]:
    """Each action as a sentence naming the record it touches (one query per collection)."""
    names: dict[str, dict[int, str]] = {}
    for collection, (model, column) in _NAMES.items():
        ids = {action["id"] for action in actions if action["collection"] == collection and action["op"] == "update"}
        if ids:
            names[collection] = dict(db.session.execute(select(model.id, column).where(model.id.in_(ids))).all())
    return [_sentence(action, names.get(action["collection"], {})) for action in actions]


def _sentence(action: dict, names: dict[int, str]) -> str:
    values, collection = action.get("values", {}), action["collection"]
    if action["op"] == "link":
        return _("Add the missing evidence for criterion %(code)s", code=action["criterion"])
    if action["op"] == "create":
        if collection == "rooms":
            return _("Set up a new room “%(name)s” (%(kind)s) connected to the Internet", name=values["name"],
                     kind=RoomKind(values["kind"]).label)
        if collection == "equipment":
            return _("Buy a %(kind)s: “%(name)s”", kind=EquipmentKind(values["kind"]).label.lower(),
                     name=values["name"])
        if collection == "software":
            return _("Use software “%(name)s” with: %(functions)s", name=values["name"],
                     functions=", ".join(SCORING_CAPABILITIES.get(key, key) for key in values["capabilities"]))
    name = names.get(action["id"], f"#{action['id']}")
    if collection == "rooms":
        return _("Connect room “%(name)s” to the Internet", name=name)
    if collection == "equipment":
        return _("Repair “%(name)s”", name=name)
    if collection == "software":
        return _("Add functions to “%(name)s”: %(functions)s", name=name,
                 functions=", ".join(SCORING_CAPABILITIES.get(key, key) for key in values["capabilities"]))
    if collection == "materials":
        return _("Have “%(name)s” approved by the department and the principal", name=name)
    if collection == "staff":
        skill = next(iter(values))
        return _("Train %(name)s in %(skill)s", name=name, skill=SKILL_LABELS.get(skill, skill))
    return f"{collection} {action['op']}"
