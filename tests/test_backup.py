"""Backups that restore (``flask backup create`` / ``restore``): a school with inventory,
evidence files and an approved (sealed) year is backed up and restored into an empty
portal (a new database and a new store), which then gives the same score, the same
sealed results and the same files; and what an operator must be refused. Run on the
suite's database (SQLite, or PostgreSQL with ``--db=postgresql``) and on both stores."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, select, text

from app import create_app
from app.accounts.models import Role
from app.backup.services import BackupError, client_program
from app.extensions import db
from app.storage import storage
from app.storage.models import StoredObject
from tests.builders import Builder, bearer
from tests.conftest import S3_TEST_CONFIG, TEST_CONFIG, make_bucket, worker_database
from tests.test_assessments import Api, _ready

pytestmark = pytest.mark.real_commits  # pg_dump and SQLite's backup read what is committed


class Portals:
    """Portals of their own for a test: each a new database (a SQLite file, or a
    PostgreSQL database beside the suite's, emptied) and a new store."""

    def __init__(self, request, db_url, tmp_path):
        self.postgresql = request.config.getoption("--db") == "postgresql"
        self.request, self.db_url, self.tmp_path = request, db_url, tmp_path
        self.made = []

    def new(self, name: str, store: str = "local", bucket: str | None = None, migrated: bool = False):
        """A portal on a new, empty database (with the portal's tables when ``migrated``)
        and on ``store``: "local" (a new folder) or "s3" (``bucket``, or a new one)."""
        config = {**TEST_CONFIG, "DATABASE_URL": self._database(name),
                  "INSTANCE_PATH": str(self.tmp_path / name / "instance"),
                  "UPLOAD_FOLDER": str(self.tmp_path / name / "uploads")}
        if store == "s3":
            server = self.request.getfixturevalue("s3_server")
            config.update(STORAGE_BACKEND="s3", S3_ENDPOINT_URL=server.url, S3_BUCKET=bucket or make_bucket(server.url),
                          **S3_TEST_CONFIG)
        portal = create_app(config)
        if migrated:
            with portal.app_context():
                upgrade()
        self.made.append(portal)
        return portal

    def _database(self, name: str) -> str:
        if not self.postgresql:
            return f"sqlite:///{self.tmp_path / f'{name}.db'}"
        url = worker_database(self.db_url, f"backup_{name}")
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url

    def close(self):
        for portal in self.made:
            with portal.app_context():
                db.engine.dispose()


@pytest.fixture()
def portals(request, db_url, tmp_path):
    made = Portals(request, db_url, tmp_path)
    yield made
    made.close()


def a_school_with_a_sealed_year(portal):
    """A school with inventory, four evidence files and its year approved (sealed);
    (school id, a principal's API token)."""
    build = Builder(portal)
    with portal.app_context():  # one session for the builders (the suite's rolled-back one is not here)
        school = build.school(code="CVA", name="Trường Tiểu học Chu Văn An")
        people = {role: build.user(role, school=school) for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)}
        tokens = {role: build.token(person) for role, person in people.items()}
        build.records("staff", school, [{"full_name": f"Giáo viên {n}", "position": "teacher"} for n in range(6)])
        school = SimpleNamespace(id=school.id, school_year=school.school_year)
    api = Api(portal, school, tokens)
    _ready(api)
    assert api.act(Role.STAFF, "start-review").status_code == 200
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200
    return school.id, tokens[Role.PRINCIPAL]


def run(portal, *args):
    return portal.test_cli_runner().invoke(args=list(args))


def what_it_holds(portal, school_id: int, token: str) -> dict:
    """What must survive a backup: the live score, the year as the API gives it (with its
    seal), and every recorded object's hash as read back from the store."""
    http = portal.test_client()
    score = http.get(f"/api/v1/schools/{school_id}/score", headers=bearer(token))
    assert score.status_code == 200, score.get_json()
    with portal.app_context():
        year = db.session.scalar(text("SELECT school_year FROM schools WHERE id = :id"), {"id": school_id})
        files = {}
        for row in db.session.scalars(select(StoredObject)):
            with storage().open(row.key) as stream:
                files[row.key] = hashlib.sha256(stream.read()).hexdigest()
    assessment = http.get(f"/api/v1/schools/{school_id}/assessments/{year}", headers=bearer(token)).get_json()
    return {"score": score.get_json(), "assessment": assessment, "files": files}


@pytest.mark.parametrize("store", ["local", "s3", "s3 with objects"])
def test_a_restored_backup_gives_the_same_scores_seals_and_files(portals, tmp_path, store):
    backend, copy_objects = store.split(" ")[0], store.endswith("with objects")
    source = portals.new("source", backend, migrated=True)
    school_id, token = a_school_with_a_sealed_year(source)
    before = what_it_holds(source, school_id, token)
    assert before["assessment"]["status"] == "approved" and len(before["files"]) == 4

    folder = tmp_path / "backup"
    made = run(source, "backup", "create", str(folder), *(["--with-objects"] if copy_objects else []))
    assert made.exit_code == 0, made.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["storage"]["objects_included"] == (backend == "local"
                                                                                        or copy_objects)
    assert {entry["key"] for entry in manifest["objects"]} >= set(before["files"])
    assert any("/sealed/" in entry["key"] for entry in manifest["objects"])  # the seal's manifest

    # A new database; a new store, except for S3 without copies (the bucket keeps its objects).
    with source.app_context():
        bucket = source.config["S3_BUCKET"]
    target = portals.new("target", backend, bucket=bucket if backend == "s3" and not copy_objects else None)
    restored = run(target, "backup", "restore", str(folder))
    assert restored.exit_code == 0, restored.output

    assert what_it_holds(target, school_id, token) == before
    for check in ("storage", "assessments", "audit"):
        verified = run(target, check, "verify")
        assert verified.exit_code == 0, verified.output


def test_objects_neither_in_the_backup_nor_in_the_bucket_are_refused_before_anything_is_restored(portals, tmp_path):
    source = portals.new("source", "s3", migrated=True)
    a_school_with_a_sealed_year(source)
    folder = tmp_path / "backup"
    assert run(source, "backup", "create", str(folder)).exit_code == 0  # the manifest alone
    target = portals.new("target", "s3")  # another, empty bucket
    refused = run(target, "backup", "restore", str(folder))
    assert refused.exit_code == 1
    assert "not in the backup, and missing from the store" in refused.output
    assert nothing_restored(target)


def test_a_backup_into_a_folder_that_is_not_empty_is_refused(portals, tmp_path):
    source = portals.new("source", migrated=True)
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "last-week.txt").write_text("an older backup's note")
    made = run(source, "backup", "create", str(folder))
    assert made.exit_code == 1
    assert "is not empty: give a new or empty folder" in made.output
    assert [path.name for path in folder.iterdir()] == ["last-week.txt"]


def test_a_backup_that_fails_halfway_leaves_nothing_that_looks_complete(portals, tmp_path):
    source = portals.new("source", migrated=True)
    a_school_with_a_sealed_year(source)
    with source.app_context():
        lost = db.session.scalars(select(StoredObject)).first().key
        storage().delete(lost)
    folder = tmp_path / "backup"
    made = run(source, "backup", "create", str(folder))
    assert made.exit_code == 1
    assert f"The object {lost} is recorded in the database but missing from the store" in made.output
    assert "the folder is empty again" in made.output
    assert list(folder.iterdir()) == []


def test_a_restore_into_a_database_with_schools_or_users_is_refused(portals, tmp_path):
    source = portals.new("source", migrated=True)
    a_school_with_a_sealed_year(source)
    folder = tmp_path / "backup"
    assert run(source, "backup", "create", str(folder)).exit_code == 0
    refused = run(source, "backup", "restore", str(folder))
    assert refused.exit_code == 1
    assert "already holds 1 school and 3 users" in refused.output
    assert "Point DATABASE_URL at a new, empty database" in refused.output


def test_a_restore_into_a_database_of_something_else_is_refused(portals, backup_of_a_school):
    target = portals.new("target")
    with target.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    refused = run(target, "backup", "restore", str(backup_of_a_school))
    assert refused.exit_code == 1
    assert "holds tables that are not the portal's (invoices)" in refused.output
    with target.app_context():
        assert inspect(db.engine).get_table_names() == ["invoices"]


def test_a_restore_into_an_empty_migrated_database_replaces_its_tables(portals, tmp_path):
    source = portals.new("source", migrated=True)
    school_id, token = a_school_with_a_sealed_year(source)
    folder = tmp_path / "backup"
    assert run(source, "backup", "create", str(folder)).exit_code == 0
    target = portals.new("target", migrated=True)  # as after `flask db upgrade` on a new server
    restored = run(target, "backup", "restore", str(folder))
    assert restored.exit_code == 0, restored.output
    assert what_it_holds(target, school_id, token) == what_it_holds(source, school_id, token)


@pytest.fixture()
def backup_of_a_school(portals, tmp_path):
    source = portals.new("source", migrated=True)
    a_school_with_a_sealed_year(source)
    folder = tmp_path / "backup"
    assert run(source, "backup", "create", str(folder)).exit_code == 0
    return folder


def nothing_restored(target) -> bool:
    """The target's database holds no school and its store no object."""
    with target.app_context():
        empty_database = ("schools" not in inspect(db.engine).get_table_names()
                          or db.session.scalar(text("SELECT count(*) FROM schools")) == 0)
        return empty_database and list(storage().keys()) == []


def test_a_backup_with_a_changed_file_is_refused_before_anything_is_restored(portals, backup_of_a_school):
    manifest = json.loads((backup_of_a_school / "manifest.json").read_text())
    changed = backup_of_a_school / "objects" / manifest["objects"][1]["key"]
    body = bytearray(changed.read_bytes())
    body[len(body) // 2] ^= 1
    changed.write_bytes(bytes(body))
    target = portals.new("target")
    refused = run(target, "backup", "restore", str(backup_of_a_school))
    assert refused.exit_code == 1
    assert "The backup does not match its manifest, so nothing was restored" in refused.output
    assert f"objects/{manifest['objects'][1]['key']}: its SHA-256 differs" in refused.output
    assert nothing_restored(target)


def test_an_unfinished_backup_is_refused(portals, backup_of_a_school):
    manifest_file = backup_of_a_school / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    target = portals.new("target")
    manifest_file.write_text(json.dumps({**manifest, "complete": False}))
    refused = run(target, "backup", "restore", str(backup_of_a_school))
    assert refused.exit_code == 1 and "does not say the backup is complete" in refused.output
    manifest_file.unlink()  # as a backup stopped before its last step leaves it
    refused = run(target, "backup", "restore", str(backup_of_a_school))
    assert refused.exit_code == 1 and "holds no manifest.json" in refused.output
    assert nothing_restored(target)


def test_an_older_backup_is_migrated_to_head_after_the_restore(portals, tmp_path):
    """A backup made before the last migration: the restore upgrades it."""
    from flask_migrate import downgrade

    source = portals.new("source", migrated=True)
    with source.app_context():
        head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.rollback()
        downgrade(revision="-1")
        older = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    folder = tmp_path / "backup"
    assert run(source, "backup", "create", str(folder)).exit_code == 0
    assert json.loads((folder / "manifest.json").read_text())["portal_version"] == older
    target = portals.new("target")
    restored = run(target, "backup", "restore", str(folder))
    assert restored.exit_code == 0, restored.output
    assert f"migrated to {head}" in restored.output
    with target.app_context():
        assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head


def test_without_postgresql_client_programs_the_operator_is_told_what_to_install(portals, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH that holds no pg_dump
    with pytest.raises(BackupError, match="apt install postgresql-client"):
        client_program("pg_dump")
    if not portals.postgresql:
        return
    source = portals.new("source", migrated=True)
    made = run(source, "backup", "create", str(tmp_path / "backup"))
    assert made.exit_code == 1
    assert "pg_dump was not found on this server" in made.output
    assert list((tmp_path / "backup").iterdir()) == []
