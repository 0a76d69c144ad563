"""Creating, changing and deleting inventory records. Every write is validated by the
record's schema (the API and the pages send the same data), checked against the rest of
the school's inventory, audited with what changed, and committed once."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.orm import contains_eager, joinedload

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
    search_text,
)
from app.schools.models import School

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
               _l("Add a staff member"), lambda: (StaffMember.full_name,)),
)}
COLLECTION_OF = {collection.model: collection for collection in COLLECTIONS.values()}

# Asset tags generated for equipment without one: a prefix per kind and a number.
TAG_PREFIXES = {
    EquipmentKind.DESKTOP: "PC", EquipmentKind.LAPTOP: "LT", EquipmentKind.TABLET: "MTB",
    EquipmentKind.PROJECTOR: "MC", EquipmentKind.TV: "TV", EquipmentKind.INTERACTIVE_BOARD: "BTM",
    EquipmentKind.DOCUMENT_CAMERA: "MVT", EquipmentKind.CAMERA: "CAM", EquipmentKind.PRINTER: "MI",
    EquipmentKind.SERVER: "MC-SV", EquipmentKind.NETWORK_DEVICE: "TBM", EquipmentKind.OTHER: "TB",
}
TAG_LENGTH = 40


def records_of(collection: Collection, school_id: int):
    """The query listing ``school_id``'s records of ``collection`` in their list order."""
    model = collection.model
    return select(model).where(model.school_id == school_id).order_by(*collection.order_by(), model.id)


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
    reported per field as ``"<index>.<field>"``."""
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
    records = []
    with db.session.no_autoflush:
        for index, values in enumerate(loaded):
            try:
                records.append(_create(actor, school, collection, values))
            except (ValidationFailed, Conflict) as error:
                db.session.rollback()
                raise type(error)(error.message, fields={f"{index}.{name}": text
                                                         for name, text in error.fields.items()}) from None
    db.session.commit()
    return records


def create_record(actor, school: School, collection: Collection, data) -> object:
    """Create one record from ``data``; raises ValidationFailed / Conflict with per-field messages."""
    record = _create(actor, school, collection, validated(collection, data))
    db.session.commit()
    return record


def _create(actor, school: School, collection: Collection, values: dict):
    record = collection.model(school_id=school.id, school=school)
    _apply(record, values)
    db.session.add(record)
    audit.record(actor, f"{collection.name}.created", record, after=snapshot(record))
    return record


def insert_checked(actor, school: School, collection: Collection, rows: list[dict], **details) -> list[int]:
    """Insert ``rows`` (values already checked by ``validated`` and against the school,
    asset tags given) as new records of ``school``; return their ids in order. Does what
    ``create_record`` does (search text, score stamp, one audit event per record with
    ``details``) in a few statements instead of per-record ORM work, for imports."""
    model = collection.model
    rows = [row | {"capabilities": list(dict.fromkeys(row["capabilities"]))} if row.get("capabilities") else row
            for row in rows]
    values = [{key: value for key, value in row.items() if key != "capabilities"}
              | {"school_id": school.id, "search": search_text(model, row)} for row in rows]
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


def update_record(actor, record, changes) -> object:
    """Apply ``changes`` (any subset of the fields) to ``record``; audited with before/after."""
    collection = COLLECTION_OF[type(record)]
    _change(actor, collection, record, validated(collection, changes, partial=True))
    db.session.commit()
    return record


def delete_record(actor, record) -> None:
    """Delete ``record``; a room that still holds equipment is refused (409)."""
    collection = COLLECTION_OF[type(record)]
    if isinstance(record, Room):
        held = db.session.scalar(select(func.count(Equipment.id)).where(Equipment.room_id == record.id))
        if held:
            raise Conflict(_("This room still holds %(n)d pieces of equipment: move them first.", n=held))
    audit.record(actor, f"{collection.name}.deleted", record, before=snapshot(record))
    db.session.delete(record)
    db.session.commit()


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
    changed = sum(_change(actor, collection, item, values) for item in items)
    db.session.commit()
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
    """Apply checked ``values`` to ``record`` and audit what changed (before/after);
    returns whether anything did."""
    before = snapshot(record)
    with db.session.no_autoflush:
        _apply(record, values)
    after = snapshot(record)
    diff = {key: [before.get(key), after[key]] for key in after if before.get(key) != after[key]}
    if diff:
        audit.record(actor, f"{collection.name}.updated", record, changes=diff)
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
    skip = {"id", "school_id", "created_at", "updated_at", "search", "equipment_count"}
    return tuple(attr.key for attr in db.inspect(model).column_attrs if attr.key not in skip)


def _json_ready(values: dict) -> dict:
    return {key: value.value if isinstance(value, enum.Enum) else
            value.isoformat() if isinstance(value, date) else value for key, value in values.items()}


# --- applying checked values -----------------------------------------------------------

def _apply(record, values: dict) -> None:
    values = dict(values)
    if isinstance(record, Room):
        _check_room_name(record, values.get("name", record.name))
    if isinstance(record, Equipment):
        _check_equipment(record, values)
    if isinstance(record, Software) and "capabilities" in values:
        _set_capabilities(record, values.pop("capabilities"))
    for name, value in values.items():
        setattr(record, name, value)


def _check_room_name(room: Room, name: str) -> None:
    clash = db.session.scalar(select(Room.id).where(Room.school_id == room.school_id, Room.name == name,
                                                    Room.id != (room.id or 0)))
    if clash:
        message = _("This school already has a room with this name.")
        raise Conflict(message, fields={"name": message})


def _check_equipment(item: Equipment, values: dict) -> None:
    if values.get("room_id") is not None:
        room = db.session.get(Room, values["room_id"])
        if room is None or room.school_id != item.school_id:
            raise ValidationFailed(_("Some fields are not valid."),
                                   fields={"room_id": _("There is no such room in this school.")})
    if "asset_tag" in values or item.id is None:
        tag = values.get("asset_tag") or item.asset_tag or next_asset_tag(
            item.school_id, values.get("kind", item.kind))
        clash = db.session.scalar(select(Equipment.id).where(
            Equipment.school_id == item.school_id, Equipment.asset_tag == tag, Equipment.id != (item.id or 0)))
        pending = any(other is not item and isinstance(other, Equipment) and other.school_id == item.school_id
                      and other.asset_tag == tag for other in db.session.new)
        if clash or pending:
            message = _("Asset tag %(tag)s is already used in this school.", tag=tag)
            raise Conflict(message, fields={"asset_tag": message})
        values["asset_tag"] = tag


def next_asset_tag(school_id: int, kind: EquipmentKind) -> str:
    """The next free generated tag for ``kind`` in the school: the prefix and one more
    than the highest number among tags of exactly that form (``PC-0021`` → ``PC-0022``),
    counting tags given in this transaction but not yet saved. Raises ValidationFailed
    when the number would not fit the tag's length."""
    prefix = TAG_PREFIXES[EquipmentKind(kind)] + "-"
    tags = [item.asset_tag for item in db.session.new
            if isinstance(item, Equipment) and item.school_id == school_id and item.asset_tag]
    tags += db.session.scalars(select(Equipment.asset_tag).where(
        Equipment.school_id == school_id, Equipment.asset_tag.startswith(prefix, autoescape=True)))
    numbers = [int(tag[len(prefix):]) for tag in tags if tag.startswith(prefix) and tag[len(prefix):].isdigit()]
    tag = f"{prefix}{max(numbers, default=0) + 1:04d}"
    if len(tag) > TAG_LENGTH:
        raise ValidationFailed(_("Some fields are not valid."),
                               fields={"asset_tag": _("No free tag can be generated: please enter one.")})
    return tag


def _set_capabilities(software: Software, keys: list[str]) -> None:
    unknown = sorted({key for key in keys if key not in KNOWN_CAPABILITIES})
    if unknown:
        raise ValidationFailed(_("Some fields are not valid."), fields={"capabilities": _(
            "Unknown capability: %(keys)s. Known: %(known)s.", keys=", ".join(unknown),
            known=", ".join(KNOWN_CAPABILITIES))})
    wanted = list(dict.fromkeys(keys))
    kept = [row for row in software.capability_rows if row.capability in wanted]
    have = {row.capability for row in kept}
    software.capability_rows = kept + [SoftwareCapability(capability=key, school_id=software.school_id)
                                       for key in wanted if key not in have]
