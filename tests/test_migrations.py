"""The migrations are the schema: one head, they build an empty database of the run's kind
(SQLite, or PostgreSQL with --db=postgresql), they go down and up again, and they agree
with the models."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.evidence.search import is_index_name
from app.extensions import db
from tests.conftest import TEST_CONFIG, new_database

pytestmark = pytest.mark.real_commits


@pytest.fixture()
def empty_database(db_url, tmp_path):
    """A new, empty database of the same kind as the run's."""
    with new_database(db_url, tmp_path, "migrations") as url:
        yield url


def test_there_is_one_head(app):
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        assert len(script.get_heads()) == 1


def test_upgrade_builds_an_empty_database_that_matches_the_models(empty_database, tmp_path):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database, "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "include_name": lambda name, type_, _parents: not is_index_name(name, type_)})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        assert {"schools", "users", "api_tokens", "audit_events"} <= set(inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "schools" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_upgrading_a_school_with_inventory_keeps_it_and_makes_it_searchable(empty_database, tmp_path):
    """A database at the first inventory revision, with a room holding equipment, moves on
    to folded search text, and to ids that a deleted record never hands on."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database, "INSTANCE_PATH": str(tmp_path)})
    now = "2023-02-15 08:00:00"
    with app.app_context():
        upgrade(revision="fa990281fb91")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO districts (id, name, province, created_at) "
                                    "VALUES (1, 'Đắk Song', 'Đắk Nông', :now)"), {"now": now})
            connection.execute(text(
                "INSERT INTO schools (id, code, name, level, district_id, students, teachers, classes, "
                "largest_class_size, created_at, updated_at, score_stamp) VALUES "
                "(1, 'THCVA', 'Trường Tiểu học Chu Văn An', 'tieu_hoc', 1, 480, 20, 15, 35, :now, :now, '')"),
                {"now": now})
            connection.execute(text(
                "INSERT INTO rooms (school_id, name, kind, internet, notes, created_at, updated_at) "
                "VALUES (1, 'Phòng Tin học', 'computer_lab', true, '', :now, :now)"), {"now": now})
            connection.execute(text(
                "INSERT INTO equipment (school_id, kind, name, asset_tag, serial, status, room_id, "
                "funding_source, notes, created_at, updated_at) VALUES (1, 'projector', 'Máy chiếu Đa năng', "
                "'MC-0001', '', 'in_use', (SELECT id FROM rooms), '', '', :now, :now)"), {"now": now})
            room_id, item_id = connection.execute(text("SELECT room_id, id FROM equipment")).one()
            connection.execute(text(  # typed before tags were compared whatever their case
                "INSERT INTO equipment (school_id, kind, name, asset_tag, serial, status, funding_source, notes, "
                "created_at, updated_at) VALUES (1, 'projector', 'Máy chiếu', 'mc-0001\u200b', '', 'in_use', '', '', "
                ":now, :now)"), {"now": now})
            twin_id = connection.execute(text("SELECT max(id) FROM equipment")).scalar()
        upgrade()
        with db.engine.begin() as connection:
            assert connection.execute(text("SELECT search, room_id FROM equipment WHERE id = :id"),
                                      {"id": item_id}).one() == ("may chieu da nang mc-0001", room_id)
            # Both look-alike tags are kept; the later one's key is told apart by its id.
            assert connection.execute(text("SELECT id, asset_tag_key, version FROM equipment ORDER BY id")).all() \
                == [(item_id, "mc-0001", 1), (twin_id, f"mc-0001#{twin_id}", 1)]
            assert connection.execute(text("SELECT name_key FROM rooms")).scalar() == "phòng tin học"
            connection.execute(text("DELETE FROM equipment WHERE id = :id"), {"id": twin_id})
            assert connection.execute(text("SELECT search FROM rooms")).scalar() == "phong tin hoc"
            connection.execute(text("DELETE FROM equipment WHERE id = :id"), {"id": item_id})
            connection.execute(text(
                "INSERT INTO equipment (school_id, kind, name, asset_tag, asset_tag_key, serial, status, "
                "funding_source, notes, search, created_at, updated_at) VALUES (1, 'tv', 'Tivi', 'TV-0001', "
                "'tv-0001', '', 'in_use', '', '', '', :now, :now)"), {"now": now})
            assert connection.execute(text("SELECT id FROM equipment")).scalar() > twin_id
        db.engine.dispose()


def test_upgrading_keeps_each_seal_and_copies_its_score_beside_it(empty_database, tmp_path):
    """Seals made before the district's pages read a copy of the sealed score get that copy
    (and its groups' figures) from their own snapshot; the snapshot and its hash stay as
    they were."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database, "INSTANCE_PATH": str(tmp_path)})
    now = "2026-03-20 08:00:00"
    score = {"framework": "qd4725-2022", "groups": [{"code": "1", "points": 32, "recognised_level": 1}],
             "criteria": [{"code": "1.7", "points": 8, "level": 2, "met": None}]}
    snapshot = json.dumps({"score": score, "evidence": [{"title": "Kế hoạch"}] * 3}, ensure_ascii=False)
    with app.app_context():
        upgrade(revision="486e55a59673")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO districts (id, name, province, created_at) "
                                    "VALUES (1, 'Đắk Song', 'Đắk Nông', :now)"), {"now": now})
            connection.execute(text(
                "INSERT INTO schools (id, code, name, level, district_id, students, teachers, classes, "
                "largest_class_size, created_at, updated_at, score_stamp, school_year) VALUES "
                "(1, 'THCVA', 'Trường Tiểu học Chu Văn An', 'tieu_hoc', 1, 480, 20, 15, 35, :now, :now, '', "
                "'2025-2026')"), {"now": now})
            connection.execute(text(
                "INSERT INTO assessments (id, school_id, school_year, status, version, changed_at, reason) "
                "VALUES (1, 1, '2025-2026', 'approved', 1, :now, '')"), {"now": now})
            connection.execute(text(
                "INSERT INTO sealed_results (id, assessment_id, school_id, school_year, sealed_at, snapshot, "
                "sha256, manifest_key) VALUES (1, 1, 1, '2025-2026', :now, :snapshot, :sha, 'k')"),
                {"now": now, "snapshot": snapshot, "sha": "a" * 64})
        upgrade()
        with db.engine.begin() as connection:
            stored_score, stored_snapshot, sha, groups = connection.execute(
                text("SELECT score, snapshot, sha256, groups FROM sealed_results WHERE id = 1")).one()
        assert _json(stored_score) == score
        assert _json(groups) == [{"code": "1", "points": 32, "max": None, "level": None, "recognised_level": 1,
                                  "evidenced_points": None}]  # the groups' figures, for a province's summary
        assert _json(stored_snapshot) == json.loads(snapshot) and sha == "a" * 64
        downgrade(revision="486e55a59673")
        with db.engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM sealed_results")).scalar() == 1
        db.engine.dispose()


def _json(value):
    """A JSON column read with plain SQL: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value
