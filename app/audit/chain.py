"""The tamper-evident audit trail: every entry carries the hash of the one before it.

An entry's ``entry_hash`` is the SHA-256 of its own fields (``hashed_text``) and its
``previous_hash``, which is the ``entry_hash`` of the entry with the next lower id (64
zeros for the first entry, and for the first one after the legacy entries written before
the chain existed, whose hashes are NULL). Editing an entry changes its recomputed hash;
removing one leaves the next entry pointing at a hash that no longer precedes it.
(Removing the newest entries leaves no trace in the chain itself: compare the head with
a copy kept elsewhere, e.g. a sealed result's manifest.)

Hashes are written in the transaction that writes the entries, after their ids are
assigned, from the values as stored (read back, so the hash covers exactly what the
database holds). Writers take turns: PostgreSQL writers take a transaction-scoped
advisory lock before drawing ids, so ids follow the chain's order; SQLite lets one
write transaction run at a time. ORM writes are chained by the flush hooks below,
bulk inserts by ``app.audit.record_inserted`` calling ``lock`` and ``chain_from``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import bindparam, event, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.models import AuditEvent

GENESIS = "0" * 64
# The key of PostgreSQL's advisory lock that makes audit writers take turns ("audit" in ASCII).
LOCK_KEY = 0x6175646974
VERIFY_BATCH = 1000

_table = AuditEvent.__table__
HASHED_COLUMNS = (_table.c.id, _table.c.occurred_at, _table.c.actor_id, _table.c.school_id, _table.c.action,
                  _table.c.object_type, _table.c.object_id, _table.c.client, _table.c.details)


def hashed_text(entry, previous_hash: str) -> bytes:
    """The canonical serialisation of ``entry`` (a row of HASHED_COLUMNS) and the hash
    before it: sorted-key JSON in UTF-8, the time in ISO 8601 UTC with microseconds."""
    occurred_at = entry.occurred_at.astimezone(UTC).isoformat(timespec="microseconds") if entry.occurred_at else None
    return json.dumps({
        "id": entry.id, "occurred_at": occurred_at, "actor_id": entry.actor_id, "school_id": entry.school_id,
        "action": entry.action, "object_type": entry.object_type, "object_id": entry.object_id,
        "client": entry.client, "details": entry.details, "previous_hash": previous_hash,
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry, previous_hash: str) -> str:
    return hashlib.sha256(hashed_text(entry, previous_hash)).hexdigest()


def lock(connection: Connection) -> None:
    """Wait for this transaction's turn to write audit entries (PostgreSQL; held until
    commit or rollback). Call it before the entries are inserted: their ids are drawn
    after it, so they follow every entry committed before."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def chain_from(connection: Connection, first_id: int) -> dict[int, tuple[str, str]]:
    """Hash the entries from ``first_id`` on — those this transaction just inserted,
    under ``lock`` — onto the entry before them; returns id → (previous_hash, entry_hash)."""
    previous = connection.scalar(select(_table.c.entry_hash).where(_table.c.id < first_id)
                                 .order_by(_table.c.id.desc()).limit(1)) or GENESIS
    hashes = {}
    for entry in connection.execute(select(*HASHED_COLUMNS).where(_table.c.id >= first_id).order_by(_table.c.id)):
        hashes[entry.id] = (previous, entry_hash(entry, previous))
        previous = hashes[entry.id][1]
    if connection.dialect.name == "postgresql" and len(hashes) > 1:  # one statement, not one per row
        connection.execute(text(
            "UPDATE audit_events SET previous_hash = chained.previous, entry_hash = chained.own"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:previous AS text[]), CAST(:own AS text[]))"
            " AS chained (id, previous, own) WHERE audit_events.id = chained.id"),
            {"ids": list(hashes), "previous": [pair[0] for pair in hashes.values()],
             "own": [pair[1] for pair in hashes.values()]})
    elif hashes:
        connection.execute(update(_table).where(_table.c.id == bindparam("chained_id"))
                           .values(previous_hash=bindparam("chained_previous"), entry_hash=bindparam("chained_hash")),
                           [{"chained_id": entry_id, "chained_previous": previous_hash, "chained_hash": own_hash}
                            for entry_id, (previous_hash, own_hash) in hashes.items()])
    return hashes


@event.listens_for(Session, "before_flush")
def _lock_before_new_entries(session: Session, _context, _instances) -> None:
    if any(isinstance(instance, AuditEvent) for instance in session.new):
        lock(session.connection())


@event.listens_for(Session, "after_flush")
def _chain_new_entries(session: Session, _context) -> None:
    new = [instance for instance in session.new if isinstance(instance, AuditEvent)]
    if not new:
        return
    hashes = chain_from(session.connection(), min(instance.id for instance in new))
    for instance in new:
        previous_hash, own_hash = hashes[instance.id]
        set_committed_value(instance, "previous_hash", previous_hash)
        set_committed_value(instance, "entry_hash", own_hash)


# --- verification ----------------------------------------------------------------------

@dataclass
class Verification:
    """What ``verify`` found: ``checked`` chained entries after ``legacy`` entries
    without hashes (the first chained one is ``first_id``), and the ``problems``, each a
    sentence naming the entries concerned."""

    checked: int = 0
    legacy: int = 0
    first_id: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session, batch: int = VERIFY_BATCH) -> Verification:
    """Walk every entry in id order, ``batch`` rows at a time, each batch read in a short
    transaction of its own (a long walk never holds SQLite's lock, nor memory), recompute
    each hash and check each link. An entry whose hash no longer matches its contents was edited; an
    entry whose ``previous_hash`` is not the hash of the entry before it follows removed
    entries (or a rewritten one); an entry without a hash after the chain began was
    written around the chain, or had its hash removed."""
    result = Verification()
    before = None  # the entry before the current one: (id, its stored entry_hash)
    for entry in _entries(session, batch):
        if result.first_id is None and entry.entry_hash is None:
            result.legacy += 1
            before = (entry.id, None)
            continue
        if result.first_id is None:
            result.first_id = entry.id
        result.checked += 1
        if entry.entry_hash is None:
            result.problems.append(f"entry {entry.id}: it has no hash, though the chain began at entry "
                                   f"{result.first_id}: written around the chain, or its hash removed")
        elif entry.previous_hash != (before and before[1] or GENESIS):  # as chain_from links it
            if before is None:
                result.problems.append(f"entry {entry.id}: it is the first entry, but its previous_hash names "
                                       f"one before it: the entries before it were removed")
            elif entry.id - before[0] > 1:
                result.problems.append(f"entry {entry.id}: its previous_hash is not the hash of entry {before[0]}: "
                                       f"{_removed(before[0] + 1, entry.id - 1)} removed")
            else:
                result.problems.append(f"entry {entry.id}: its previous_hash is not the hash of entry {before[0]}: "
                                       f"one of the two was rewritten")
        if entry.entry_hash is not None and entry_hash(entry, entry.previous_hash) != entry.entry_hash:
            result.problems.append(f"entry {entry.id}: its hash does not match its contents: it was edited")
        before = (entry.id, entry.entry_hash)
    return result


def _removed(first: int, last: int) -> str:
    return f"entry {first} was" if first == last else f"entries {first}–{last} were"


def _entries(session: Session, batch: int) -> Iterator:
    """Every entry with its hashes, in id order, ``batch`` rows per query (keyset), the
    session's transaction ended after each."""
    after = 0
    while True:
        rows = session.execute(select(*HASHED_COLUMNS, _table.c.previous_hash, _table.c.entry_hash)
                               .where(_table.c.id > after).order_by(_table.c.id).limit(batch)).all()
        session.rollback()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def head(session: Session) -> tuple[int, str] | None:
    """The newest chained entry's id and hash (to keep outside the database, where a
    removal of the newest entries shows), or None."""
    row = session.execute(select(_table.c.id, _table.c.entry_hash).where(_table.c.entry_hash.is_not(None))
                          .order_by(_table.c.id.desc()).limit(1)).first()
    return (row.id, row.entry_hash) if row else None

