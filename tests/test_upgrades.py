"""Upgrades keep data (issue 14): a portal filled at head as schools and a district use it
(tests/portal_in_use.py); for every earlier migration head, a new database of the run's
kind upgraded to that revision holds the rows its tables could hold then, and upgraded to
head it finds every record with the same values, every school's live score, every sealed
result and the audit chain intact, and what the migrations backfill as head writes it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import MetaData, delete, func, insert, select, text, update
from sqlalchemy.schema import sort_tables, sort_tables_and_constraints

from app import create_app
from app.audit.models import AuditEvent
from app.evidence.search import hits, is_index_name
from app.extensions import db
from app.framework.models import SchoolScore
from app.framework.scores import live_scorecard
from app.inventory import services as inventory
from app.schools.models import School, new_score_stamp
from app.schools.years import calendar_school_year
from tests import portal_in_use
from tests.conftest import TEST_CONFIG, new_database

pytestmark = pytest.mark.real_commits

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
# Every revision but head, oldest first: each was the head of some release.
EARLIER = [script.revision for script in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))][:-1]

# A table a later revision replaced: its rows at head, and which of them it held.
REPLACED = {"asset_tag_counters": ("school_counters", lambda row: "/" not in row["prefix"])}
# A table a later revision builds from another's rows: its parent, and the column naming it.
BUILT = {"evidence_search": ("evidence_documents", "document_id")}
# Searches for words of documents' titles and of their files' text.
SEARCHED = ("ban chi dao", "4725 bgddt", "google meet")
# Columns a migration adds with a starting value rather than one worked out from the row:
# what each row holds after the upgrade (and any record's "version" starts at 1).
STARTING_VALUES = {
    ("schools", "score_stamp"): "",  # computed afresh
    ("schools", "school_year"): calendar_school_year(date.today()),  # the year the upgrade runs in
    ("audit_events", "previous_hash"): None, ("audit_events", "entry_hash"): None,  # before the chain
    ("evidence_documents", "carried_from_id"): None,
}


def portal(url: str, folder: Path, uploads: Path):
    """The app on database ``url`` with its files in ``uploads``."""
    return create_app({**TEST_CONFIG, "DATABASE_URL": url, "INSTANCE_PATH": str(folder),
                       "UPLOAD_FOLDER": str(uploads)})


def reflected(engine) -> MetaData:
    """The tables as the database has them (not the full-text index's own, nor Alembic's)."""
    metadata = MetaData()
    metadata.reflect(engine, only=lambda name, _metadata: name != "alembic_version"
                     and not is_index_name(name, "table"))
    return metadata


def stored_columns(table) -> list:
    return [column for column in table.columns if column.computed is None]


def key_of(table, row) -> tuple:
    return tuple(row[column.name] for column in table.primary_key.columns)


def rows_of(connection, metadata: MetaData) -> dict[str, dict[tuple, dict]]:
    """Every row of every table: table → primary key → column → value."""
    found = {}
    for table in metadata.tables.values():
        columns = stored_columns(table)
        found[table.name] = {}
        for row in connection.execute(select(*columns)).mappings():
            found[table.name][key_of(table, row)] = dict(row)
    return found


def cycle_breakers(metadata: MetaData) -> set:
    """The nullable foreign keys that close a cycle (an assessment's seal, which points back
    at it): filled in after both rows exist, emptied before either is removed."""
    *_, (last, remaining) = sort_tables_and_constraints(metadata.tables.values())
    return {constraint for constraint in (remaining if last is None else ())
            if all(column.nullable for column in constraint.columns)}


def in_order(metadata: MetaData, breakers: set) -> list:
    """The tables, each after those it points at (but for ``breakers``)."""
    return sort_tables(metadata.tables.values(), skip_fn=lambda key: key.constraint in breakers)


def as_it_was(table, row: dict) -> dict:
    """``row`` (of head) as ``table`` (of an earlier revision) could hold it: its columns
    only, and a figure it required where head allows it unknown as 0 (what that revision
    took for unknown, as the downgrade writes it)."""
    held = {}
    for column in stored_columns(table):
        value = row.get(column.name)
        if value is None and not column.nullable and column.server_default is None:
            assert column.type.python_type in (int, float), f"{table.name}.{column.name} has no old form"
            value = 0
        held[column.name] = value
    return held


def rows_for(old: MetaData, head_rows: dict) -> dict[str, list[dict]]:
    """The rows each table of the earlier revision holds: those of head that fit."""
    wanted = {}
    for table in old.tables.values():
        source, fits = REPLACED.get(table.name, (table.name, lambda _row: True))
        rows = [row for _key, row in sorted(head_rows[source].items()) if fits(row)]
        wanted[table.name] = [as_it_was(table, row) for row in rows]
    return wanted


def put(connection, old: MetaData, wanted: dict[str, list[dict]]) -> None:
    """Insert ``wanted`` into the tables of ``old``, parents first; the cycle's foreign
    keys after; PostgreSQL's id sequences moved past the ids given, as use would have."""
    breakers = cycle_breakers(old)
    later = {(constraint.table.name, column.name) for constraint in breakers for column in constraint.columns}
    for table in in_order(old, breakers):
        rows = wanted[table.name]
        if rows:
            connection.execute(insert(table), [{name: None if (table.name, name) in later else value
                                                 for name, value in row.items()} for row in rows])
    for table_name, column in later:
        table = old.tables[table_name]
        for row in wanted[table_name]:
            if row[column] is not None:
                connection.execute(update(table).where(*(key == row[key.name] for key in table.primary_key.columns))
                                   .values({column: row[column]}))
    if connection.dialect.name == "postgresql":
        for table in old.tables.values():
            if [column.name for column in table.primary_key.columns] == ["id"] and wanted[table.name]:
                connection.execute(text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                                   {"table": table.name, "last": max(row["id"] for row in wanted[table.name])})


def found_by_search() -> dict[str, list[int]]:
    """The documents each of SEARCHED finds through the full-text index."""
    results = {}
    for typed in SEARCHED:
        found, _rank = hits(typed)
        results[typed] = sorted(db.session.scalars(select(found.c.document_id)))
    return results


def live_scores() -> dict[int, dict]:
    """Each school's live score, computed now in the current context."""
    return {school.id: live_scorecard(school).to_dict()
            for school in db.session.scalars(select(School).order_by(School.id))}


def scores_with_only(head, old: MetaData, wanted: dict[str, list[dict]]) -> dict[int, dict]:
    """Each school's live score at head from the rows the earlier revision held (head's
    database brought to them in a transaction rolled back afterwards)."""
    metadata = head.metadata
    breakers = cycle_breakers(metadata)
    kept = {REPLACED.get(name, (name,))[0] for name in old.tables}
    gone = [table for table in reversed(in_order(metadata, breakers)) if table.name not in kept]
    with head.app.test_request_context():
        session = db.session
        for constraint in breakers:
            if constraint.table in gone:
                session.execute(update(constraint.table).values({column.name: None for column in constraint.columns}))
        for table in gone:
            session.execute(delete(table))
        for table in old.tables.values():  # figures the earlier revision held as 0
            for column in table.columns:
                now = metadata.tables[table.name].c.get(column.name) if table.name in metadata.tables else None
                if now is not None and now.nullable and not column.nullable:
                    session.execute(update(now.table).where(now.is_(None)).values({column.name: 0}))
        session.execute(update(School).values(score_stamp=new_score_stamp()))  # as any change does
        try:
            return live_scores()
        finally:
            session.rollback()


@pytest.fixture(scope="module")
def head(db_url, tmp_path_factory):
    """The portal filled at head: its app, its folder (with the stored files), its tables,
    their rows and what SEARCHED finds."""
    folder = tmp_path_factory.mktemp("upgrades")
    with new_database(db_url, folder, "at_head") as url:
        app = portal(url, folder, folder / "uploads")
        with app.app_context():
            upgrade()
            portal_in_use.fill(app)
            metadata = reflected(db.engine)
            with db.engine.connect() as connection:
                rows = rows_of(connection, metadata)
        with app.test_request_context():
            searches = found_by_search()
        yield SimpleNamespace(app=app, folder=folder, metadata=metadata, rows=rows, searches=searches)
        with app.app_context():
            db.engine.dispose()


def test_the_portal_in_use_has_something_in_every_table(head):
    """Each table upgraded below holds rows, so no upgrade is checked on an empty table."""
    assert [name for name, rows in head.rows.items() if not rows] == []
    assert len(head.rows["sealed_results"]) == 2 and len(head.rows["evaluations"]) == 2
    assert any(row["carried_from_id"] for row in head.rows["evidence_documents"].values())


@pytest.mark.parametrize("revision", EARLIER)
def test_upgrading_from_an_earlier_head_keeps_every_record_score_seal_and_the_audit_chain(
        head, db_url, tmp_path, revision):
    with new_database(db_url, tmp_path, f"at_{revision[:8]}") as url:
        app = portal(url, tmp_path, head.folder / "uploads")
        with app.app_context():
            upgrade(revision=revision)
            old = reflected(db.engine)
            wanted = rows_for(old, head.rows)
            with db.engine.begin() as connection:
                put(connection, old, wanted)
            upgrade()
            with db.engine.connect() as connection:
                after = rows_of(connection, reflected(db.engine))
            db.engine.dispose()

        # Every record found again with the values it had; what the upgrade added to it, as head has it.
        lost, changed, added = [], [], []
        for name, rows in wanted.items():
            table_name = REPLACED.get(name, (name,))[0]
            table = head.metadata.tables[table_name]
            for row in rows:
                key = key_of(table, row)
                found = after[table_name].get(key)
                if found is None:
                    lost.append(f"{table_name} {key}")
                    continue
                changed += [f"{table_name} {key} {column}: {row[column]!r} → {found[column]!r}"
                            for column in row if found[column] != row[column]]
                for column in found.keys() - row.keys():
                    expected = 1 if column == "version" else STARTING_VALUES.get(
                        (table_name, column), head.rows[table_name][key][column])
                    if found[column] != expected:
                        added.append(f"{table_name} {key} {column}: {found[column]!r}, not {expected!r}")
        assert (lost, changed[:20], added[:20]) == ([], [], [])
        # Tables a later revision builds from the rows before it hold what head holds for them.
        for name, (parent, column) in BUILT.items():
            if name not in old.tables and parent in old.tables:
                held = {row["id"] for row in wanted[parent]}
                assert after[name] == {key: row for key, row in head.rows[name].items() if row[column] in held}

        with app.test_request_context():
            upgraded = live_scores()
        expected = scores_with_only(head, old, wanted)
        assert [(school_id, criterion["code"], criterion, expected[school_id]["criteria"][index])
                for school_id, score in upgraded.items() for index, criterion in enumerate(score["criteria"])
                if criterion != expected[school_id]["criteria"][index]] == []
        assert upgraded == expected
        if "evidence_documents" in old.tables:  # the evidence uploaded before is found
            with app.test_request_context():
                assert found_by_search() == head.searches
        runner = app.test_cli_runner()
        # What the district's pages read, once `flask scores refresh` has run, is each live score.
        assert runner.invoke(args=["scores", "refresh"]).exit_code == 0
        with app.test_request_context():
            assert {row.school_id: row.score for row in db.session.scalars(select(SchoolScore))} == upgraded
        seals = runner.invoke(args=["assessments", "verify"])
        assert seals.exit_code == 0 and seals.output.startswith(f"{len(wanted.get('sealed_results', []))} sealed")
        stored = runner.invoke(args=["storage", "verify"])
        assert stored.exit_code == 0 and stored.output.startswith(
            f"{len(wanted.get('stored_objects', []))} objects checked: 0 missing, 0 mismatched"), stored.output
        # The school goes on working: a new room gets an id never used, chained in the audit trail.
        with app.test_request_context():
            school = db.session.scalar(select(School).where(School.code == "THCVA"))
            room = inventory.create_record(None, school, inventory.COLLECTIONS["rooms"],
                                           {"name": "Phòng STEM", "kind": "studio", "internet": True})
            assert room.id > max((row["id"] for row in wanted.get("rooms", [])), default=0)
            assert db.session.scalar(select(func.count()).select_from(School)) == len(head.rows["schools"])
            entries = db.session.scalar(select(func.count()).select_from(AuditEvent))
        # Entries from before the chain existed stay unhashed ahead of it; every other one is checked.
        legacy = 0 if "entry_hash" in old.tables["audit_events"].c else len(wanted["audit_events"])
        chain = runner.invoke(args=["audit", "verify"])
        assert chain.exit_code == 0 and chain.output.startswith(f"{entries - legacy} entries, chain intact"), \
            chain.output
        with app.app_context():
            db.engine.dispose()
