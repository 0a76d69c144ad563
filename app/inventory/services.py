"""Creating, changing and deleting inventory records. Every write is validated by the
record's schema (the API and the pages send the same data), checked against the rest of
the school's inventory, audited with what changed, and committed once."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache, partial

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.audit.models import AuditEvent
from app.bulk import insert_rows
from app.db_types import is_record_id
from app.errors import Conflict, NotFound, ValidationFailed, flatten_messages
from app.extensions import db
from app.inventory import schemas
from app.inventory.capabilities import KNOWN_CAPABILITIES
from app.inventory.models import (
    Equipment,
    EquipmentKind,
    Material,
    NetworkLine,
    Room,
    Software,
    SoftwareCapability,
    StaffMember,
    derived_values,
)
from app.schools.counters import take_numbers
from app.schools.models import School
from app.text import identity_key
from app.versions import StaleRecord, saving  # noqa: F401  (StaleRecord: the views catch it here)

MAX_BATCH = 1000  # records in one create request


@dataclass(frozen=True)
class Collection:
    """One kind of inventory record: its URL name, the URL parameter of one record's id,
    model, schema, labels and default order."""

    name: str
    param: str
    model: type
    schema: type[ma.Schema]
    label: str
    add_label: str
    order_by: Callable

    @property
    def key(self) -> str:
        """The name as an identifier (endpoint names, form registries)."""
        return self.name.replace("-", "_")


COLLECTIONS = {collection.name: collection for collection in (
    Collection("rooms", "room_id", Room, schemas.RoomSchema, _l("Rooms"), _l("Add a room"),
               lambda: (Room.kind, Room.name)),
    Collection("equipment", "equipment_id", Equipment, schemas.EquipmentSchema, _l("Equipment"),
               _l("Add equipment"), lambda: (Equipment.kind, Equipment.asset_tag)),
    Collection("network-lines", "line_id", NetworkLine, schemas.NetworkLineSchema, _l("Internet lines"),
               _l("Add an Internet line"), lambda: (NetworkLine.status, NetworkLine.provider)),
    Collection("software", "software_id", Software, schemas.SoftwareSchema, _l("Software and links"),
               _l("Add software or a link"), lambda: (Software.name,)),
    Collection("materials", "material_id", Material, schemas.MaterialSchema, _l("Digital learning materials"),
               _l("Add a learning material"), lambda: (Material.title,)),
    Collection("staff", "staff_id", StaffMember, schemas.StaffSchema, _l("Staff and digital skills"),
               _l("Add a staff member"), lambda: (StaffMember.name_sort,)),
)}
COLLECTION_OF = {collection.model: collection for collection in COLLECTIONS.values()}

# Asset tags generated for equipment without one: a prefix per kind and a number.
TAG_PREFIXES = {
    EquipmentKind.DESKTOP: "PC", EquipmentKind.LAPTOP: "LT", EquipmentKind.TABLET: "MTB",
    EquipmentKind.PROJECTOR: "MC", EquipmentKind.TV: "TV", EquipmentKind.INTERACTIVE_BOARD: "BTM",
    EquipmentKind.DOCUMENT_CAMERA: "MVT", EquipmentKind.CAMERA: "CAM", EquipmentKind.PRINTER: "MI",
    EquipmentKind.SERVER: "MC-SV", EquipmentKind.NETWORK_DEVICE: "TBM", EquipmentKind.OTHER: "TB",
}


def validated(collection: Collection, data, partial: bool = False) -> dict:
    """``data`` loaded by the collection's schema. Raises ValidationFailed with a message
    per field (unknown fields included)."""
    try:
        return _schema(collection.schema, partial).load(data)
    except ma.ValidationError as error:
        raise ValidationFailed(_("Some fields are not valid."), fields=flatten_messages(error.messages)) from None


def schema_fields(collection: Collection) -> dict[str, ma.fields.Field]:
    """The fields of the collection's schema (name → field)."""
    return _schema(collection.schema, False).fields


@cache
def _schema(schema_class: type[ma.Schema], partial: bool) -> ma.Schema:
    """One instance per schema and mode, reused: a schema keeps no state between loads."""
    return schema_class(partial=partial)


def create_records(actor, school: School, collection: Collection, items: list) -> list:
    """Create every record in ``items`` in one transaction, or none: problems are
    reported per field as ``"<index>.<field>"`` (ValidationFailed, or Conflict when a
    name or asset tag is taken). Equipment without an asset tag gets the next generated
    one of its kind."""
    if not isinstance(items, list) or not items:
        raise ValidationFailed(_("Send one record or a non-empty list of records."))
    if len(items) > MAX_BATCH:
        raise ValidationFailed(_("At most %(n)d records in one request.", n=MAX_BATCH))
    problems: dict[str, str] = {}
    loaded = []
    for index, item in enumerate(items):
        try:
            loaded.append(validated(collection, item))
        except ValidationFailed as error:
            problems.update({f"{index}.{name}": text for name, text in error.fields.items()})
    if problems:
        raise ValidationFailed(_("Some fields are not valid."), fields=problems)
    _check_new(school, collection, loaded)
    if collection.model is Equipment:
        give_tags(school.id, loaded)
    ids = insert_checked(actor, school, collection, loaded)
    db.session.commit()
    found = {record.id: record for record in db.session.scalars(
        select(collection.model).where(collection.model.id.in_(ids)))}
    return [found[record_id] for record_id in ids]


def create_record(actor, school: School, collection: Collection, data) -> object:
    """Create one record from ``data``; raises ValidationFailed / Conflict with per-field messages."""
    try:
        return create_records(actor, school, collection, [data])[0]
    except (ValidationFailed, Conflict) as error:
        raise type(error)(error.message, fields={name.removeprefix("0."): text
                                                 for name, text in error.fields.items()}) from None


def _check_new(school: School, collection: Collection, rows: list[dict]) -> None:
    """Check new records' checked values against the school and each other: rooms that
    exist, room names and asset tags not taken (compared by app.text.identity_key) and
    known capabilities. Raises Conflict (a name or tag taken) or ValidationFailed, with
    messages per ``"<index>.<field>"``."""
    taken: dict[str, str] = {}
    invalid: dict[str, str] = {}
    model = collection.model
    for key_column, field in model.KEYS.items():
        keys = [identity_key(row.get(field) or "") for row in rows]
        existing = set(db.session.scalars(select(getattr(model, key_column)).where(
            model.school_id == school.id, getattr(model, key_column).in_({key for key in keys if key}))))
        seen: set[str] = set()
        for index, (row, key) in enumerate(zip(rows, keys, strict=True)):
            if key and (key in existing or key in seen):
                taken[f"{index}.{field}"] = _taken_message(model, row[field], in_this_request=key in seen)
            seen.add(key)
    if model is Equipment:
        wanted = {row["room_id"] for row in rows if row.get("room_id") is not None}
        rooms = set(db.session.scalars(select(Room.id).where(Room.school_id == school.id, Room.id.in_(wanted))))
        invalid.update({f"{index}.room_id": _("There is no such room in this school.")
                        for index, row in enumerate(rows) if row.get("room_id") is not None
                        and row["room_id"] not in rooms})
    if model is Software:
        invalid.update({f"{index}.capabilities": message for index, row in enumerate(rows)
                        if (message := unknown_capabilities(row.get("capabilities") or ()))})
    if taken:
        raise Conflict(next(iter(taken.values())), fields={**invalid, **taken})
    if invalid:
        raise ValidationFailed(_("Some fields are not valid."), fields=invalid)


def _taken_message(model: type, value: str, in_this_request: bool = False) -> str:
    if model is Equipment:
        return (_("Asset tag %(tag)s is given twice here.", tag=value) if in_this_request
                else _("Asset tag %(tag)s is already used in this school.", tag=value))
    return (_("The room name %(name)s is given twice here.", name=value) if in_this_request
            else _("This school already has a room with this name."))


def unknown_capabilities(keys) -> str | None:
    """The message refusing the unknown keys among ``keys``, or None when all are known."""
    unknown = sorted({key for key in keys if key not in KNOWN_CAPABILITIES})
    if not unknown:
        return None
    return _("Unknown capability: %(keys)s. Known: %(known)s.", keys=", ".join(unknown),
             known=", ".join(KNOWN_CAPABILITIES))


def insert_checked(actor, school: School, collection: Collection, rows: list[dict], **details) -> list[int]:
    """Insert ``rows`` (values already checked by ``validated`` and against the school,
    asset tags given) as new records of ``school``; return their ids in order. Does what
    the ORM would (derived columns, score stamp) and audits each record as created (with
    ``details``), in a few statements whatever the number of rows."""
    model = collection.model
    rows = [row | {"capabilities": list(dict.fromkeys(row["capabilities"]))} if row.get("capabilities") else row
            for row in rows]
    values = [{key: value for key, value in row.items() if key != "capabilities"}
              | {"school_id": school.id, **derived_values(model, row)} for row in rows]
    ids = insert_rows(model, values)
    insert_rows(SoftwareCapability, [{"software_id": software_id, "school_id": school.id, "capability": key}
                                     for software_id, row in zip(ids, rows, strict=True)
                                     for key in row.get("capabilities") or ()])
    if model.feeds_score:
        school.renew_score_stamp()
    audit.record_inserted(actor, f"{collection.name}.created", model.__name__, school.id, [
        (record_id, {"after": _snapshot_of_values(model, row), **details})
        for record_id, row in zip(ids, rows, strict=True)])
    return ids


def update_record(actor, record, changes, version: int | None = None) -> object:
    """Apply ``changes`` (any subset of the fields) to ``record``; audited with
    before/after. ``version``: the version of the record the change was made on (an edit
    form's, or the API's body or If-Match); when it is not the saved one, or another
    change is saved while this one is, raises StaleRecord and changes nothing."""
    collection = COLLECTION_OF[type(record)]
    values = validated(collection, changes, partial=True)
    with saving(record, version):
        _change(actor, collection, record, values)
    return record


def delete_record(actor, record, version: int | None = None) -> None:
    """Delete ``record``; a room that still holds equipment is refused (409). Of two
    deletions at once one deletes and is audited; the other raises StaleRecord."""
    collection = COLLECTION_OF[type(record)]
    if isinstance(record, Room):
        held = db.session.scalar(select(func.count(Equipment.id)).where(Equipment.room_id == record.id))
        if held:
            raise Conflict(_("This room still holds %(n)d pieces of equipment: move them first.", n=held))
    with saving(record, version):
        audit.record(actor, f"{collection.name}.deleted", record, before=snapshot(record))
        db.session.delete(record)


def update_equipment(actor, school: School, ids: list[int], changes: dict) -> int:
    """Apply ``changes`` (a status and/or a room) to the school's equipment ``ids`` in one
    transaction, each change audited; returns how many items changed. Ids of other
    schools' equipment are refused like unknown ones."""
    if not ids:
        raise ValidationFailed(_("Select at least one item."))
    if len(ids) > MAX_BATCH:
        raise ValidationFailed(_("At most %(n)d records in one request.", n=MAX_BATCH))
    items = list(db.session.scalars(select(Equipment).where(Equipment.school_id == school.id,
                                                            Equipment.id.in_(filter(is_record_id, ids)))))
    if len(items) != len(set(ids)):
        raise ValidationFailed(_("Some of the selected items are not this school's equipment."))
    collection = COLLECTIONS["equipment"]
    values = validated(collection, changes, partial=True)
    try:
        changed = sum(_change(actor, collection, item, values) for item in items)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_("Someone else changed some of these items meanwhile. Reload the list and try again.")) \
            from None
    return changed


def equipment_for_labels(school_id: int, ids: list[int]) -> list[Equipment]:
    """The school's equipment among ``ids`` (others ignored), by room name (no room last)
    then asset tag."""
    return list(db.session.scalars(
        select(Equipment).outerjoin(Equipment.room).options(contains_eager(Equipment.room))
        .where(Equipment.school_id == school_id, Equipment.id.in_(ids))
        .order_by(Room.name.is_(None), Room.name, Equipment.asset_tag)))


def history_of(record) -> list[AuditEvent]:
    """Every audited change of ``record``, newest first."""
    return list(db.session.scalars(
        select(AuditEvent).options(joinedload(AuditEvent.actor))
        .where(AuditEvent.object_type == type(record).__name__, AuditEvent.object_id == record.id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())))


def deleted_records(collection: Collection, school_id: int) -> list[AuditEvent]:
    """The deletions of ``collection``'s records in the school that can still be undone
    (the record has not come back since), newest first."""
    model = collection.model
    return list(db.session.scalars(
        select(AuditEvent).options(joinedload(AuditEvent.actor))
        .where(AuditEvent.school_id == school_id, AuditEvent.action == f"{collection.name}.deleted",
               ~exists().where(model.id == AuditEvent.object_id))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(200)))


def restore_record(actor, school: School, collection: Collection, event_id: int):
    """Bring back the record deleted by audit event ``event_id``, with its id and fields
    as they were. Raises NotFound when that event is not a deletion in ``collection`` of
    this school, Conflict when the record is back already or a field now clashes (an
    asset tag or room name given to another record since)."""
    event = db.session.get(AuditEvent, event_id) if is_record_id(event_id) else None
    if event is None or event.school_id != school.id or event.action != f"{collection.name}.deleted":
        raise NotFound(_("There is no such deleted record."))
    if db.session.get(collection.model, event.object_id) is not None:
        raise Conflict(_("This record has been restored already."))
    before = dict(event.details.get("before") or {})
    data = {key: value for key, value in before.items() if key in schema_fields(collection)}
    if data.get("room_id") is not None and db.session.get(Room, data["room_id"]) is None:
        data["room_id"] = None  # its room is gone too: it comes back without one
    record = collection.model(id=event.object_id, school_id=school.id, school=school)
    with db.session.no_autoflush:
        _apply(record, validated(collection, data))
    db.session.add(record)
    audit.record(actor, f"{collection.name}.restored", record, after=snapshot(record))
    db.session.commit()
    return record


def _change(actor, collection: Collection, record, values: dict) -> bool:
    """Apply checked ``values`` to ``record``, save it and audit what changed
    (before/after, and the version it made); returns whether anything did."""
    before = snapshot(record)
    with db.session.no_autoflush:
        _apply(record, values)
    after = snapshot(record)
    diff = {key: [before.get(key), after[key]] for key in after if before.get(key) != after[key]}
    if diff:
        db.session.flush()  # the UPDATE, checked against the version it was read at
        audit.record(actor, f"{collection.name}.updated", record, changes=diff, version=record.version)
    return bool(diff)


def snapshot(record) -> dict:
    """The record's own fields as JSON-ready values (for the audit trail)."""
    values = {key: getattr(record, key) for key in _own_fields(type(record))}
    if isinstance(record, Software):
        values["capabilities"] = record.capabilities
    return _json_ready(values)


def _snapshot_of_values(model: type, values: dict) -> dict:
    """``snapshot`` of a record about to be inserted with ``values``."""
    return _json_ready({key: values.get(key) for key in _own_fields(model)}
                       | ({"capabilities": values.get("capabilities") or []} if model is Software else {}))


@cache
def _own_fields(model: type) -> tuple[str, ...]:
    skip = {"id", "school_id", "created_at", "updated_at", "search", "equipment_count", "version",
            *model.KEYS, *model.SORT_KEYS}
    return tuple(attr.key for attr in db.inspect(model).column_attrs if attr.key not in skip)


def _json_ready(values: dict) -> dict:
    return {key: value.value if isinstance(value, enum.Enum) else
            value.isoformat() if isinstance(value, date) else value for key, value in values.items()}


# --- applying checked values -----------------------------------------------------------

def _apply(record, values: dict) -> None:
    values = dict(values)
    if isinstance(record, Room) and "name" in values:
        _check_unique(record, "name", values["name"])
    if isinstance(record, Equipment):
        _check_equipment(record, values)
    if isinstance(record, Software) and "capabilities" in values:
        _set_capabilities(record, values.pop("capabilities"))
    for name, value in values.items():
        setattr(record, name, value)


def _check_unique(record, field: str, value: str) -> None:
    """Raise Conflict when another record of the school has ``value`` as its ``field``
    (compared by identity key)."""
    model = type(record)
    key_column = next(column for column, of in model.KEYS.items() if of == field)
    clash = db.session.scalar(select(model.id).where(
        model.school_id == record.school_id, getattr(model, key_column) == identity_key(value),
        model.id != (record.id or 0)))
    if clash:
        message = _taken_message(model, value)
        raise Conflict(message, fields={field: message})


def _check_equipment(item: Equipment, values: dict) -> None:
    if values.get("room_id") is not None:
        room = db.session.get(Room, values["room_id"])
        if room is None or room.school_id != item.school_id:
            raise ValidationFailed(_("Some fields are not valid."),
                                   fields={"room_id": _("There is no such room in this school.")})
    if not values.get("asset_tag"):
        values.pop("asset_tag", None)  # an emptied tag keeps the one the item has
        if not item.asset_tag:  # a restored item that had none
            row = {"kind": values.get("kind", item.kind)}
            give_tags(item.school_id, [row])
            values["asset_tag"] = row["asset_tag"]
    if "asset_tag" in values:
        _check_unique(item, "asset_tag", values["asset_tag"])


# --- generated asset tags ----------------------------------------------------------

def give_tags(school_id: int, rows: list[dict]) -> None:
    """Give each equipment row (checked values) without an ``asset_tag`` the next
    generated tag of its kind, ``PREFIX-0001`` on: numbers come from the school's
    counter (app.schools.counters), skipping any tag somebody typed by hand meanwhile. The
    cost does not grow with the inventory, and concurrent requests never get one tag
    twice."""
    wanting: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("asset_tag"):
            wanting.setdefault(TAG_PREFIXES[EquipmentKind(row["kind"])], []).append(row)
    given = {identity_key(row["asset_tag"]) for row in rows if row.get("asset_tag")}
    for prefix, waiting in wanting.items():
        while waiting:
            numbers = take_numbers(school_id, prefix, len(waiting), partial(_highest_tag_number, school_id, prefix))
            tags = [f"{prefix}-{number:04d}" for number in numbers]
            given |= set(db.session.scalars(select(Equipment.asset_tag_key).where(
                Equipment.school_id == school_id, Equipment.asset_tag_key.in_([identity_key(t) for t in tags]))))
            for tag in tags:
                if identity_key(tag) not in given:
                    waiting.pop(0)["asset_tag"] = tag
                    given.add(identity_key(tag))


def _highest_tag_number(school_id: int, prefix: str) -> int:
    """The highest N among the school's tags ``PREFIX-N`` (ASCII digits), or 0. A
    number of more than 9 digits is somebody's own code, not a place to count from
    (and would soon not fit the counter)."""
    form = re.compile(re.escape(prefix.casefold()) + "-([0-9]{1,9})")
    keys = db.session.scalars(select(Equipment.asset_tag_key).where(
        Equipment.school_id == school_id, Equipment.asset_tag_key.startswith(prefix.casefold() + "-",
                                                                             autoescape=True)))
    return max((int(match.group(1)) for key in keys if (match := form.fullmatch(key))), default=0)


def _set_capabilities(software: Software, keys: list[str]) -> None:
    message = unknown_capabilities(keys)
    if message:
        raise ValidationFailed(_("Some fields are not valid."), fields={"capabilities": message})
    wanted = list(dict.fromkeys(keys))
    kept = [row for row in software.capability_rows if row.capability in wanted]
    have = {row.capability for row in kept}
    software.capability_rows = kept + [SoftwareCapability(capability=key, school_id=software.school_id)
                                       for key in wanted if key not in have]
