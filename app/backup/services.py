"""Backups that restore: a consistent copy of the database and of the stored objects,
described by a manifest that is written last.

A backup folder holds
- ``database.sqlite3`` (SQLite's online backup API: consistent while the portal runs) or
  ``database.pgdump`` (``pg_dump --format=custom`` inside a snapshot the objects are listed
  from too);
- ``objects/<key>``: the bytes of each object (always for the local store; for S3 only
  when asked, since a bucket has its own replication and versioning);
- ``manifest.json``: ``"complete": true``, the database's migration revision, its kind,
  ``created_at``, the database file's size and SHA-256, and every object the database
  refers to (key, size, SHA-256, content type, whether its bytes are in the folder).

The objects are the stored objects' rows and every file kept beside a sealed result (its
manifest, which ``assessments verify`` reads, and its reports). Everything is streamed in
chunks of ``CHUNK`` bytes; no file is held in memory.

A restore refuses an incomplete backup, a tampered one (every hash is checked before
anything changes) and a database that holds any school or user; it puts the objects
first and the database last (in one transaction), so a restore that stops halfway
leaves a database with no school, which is retried as it is."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import shutil
import sqlite3
import subprocess  # nosec B404: runs pg_dump and pg_restore, no shell
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import MetaData, func, inspect, select, text
from sqlalchemy.engine import make_url

from app.accounts.models import User
from app.assessments.sealing import SEALED_PREFIX
from app.extensions import db
from app.schools.models import School
from app.storage import CHUNK, Storage, StorageUnavailable, object_key, storage

FORMAT = 1
MANIFEST = "manifest.json"
OBJECTS = "objects"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
PROBLEMS_SHOWN = 20

Say = Callable[[str], None]


class BackupError(Exception):
    """Why a backup or a restore cannot go on, in plain words that say what to do."""


@dataclass
class BackupObject:
    """An object of the store as the manifest lists it."""

    key: str
    size: int
    sha256: str | None  # None until read, for files beside a sealed result
    content_type: str
    included: bool = False

    def as_json(self) -> dict:
        return {"key": self.key, "size": self.size, "sha256": self.sha256, "content_type": self.content_type,
                "included": self.included}


@dataclass
class Records:
    """What the copied database refers to: its migration revision, its stored objects as
    (school id, sha256, size, content type), and its sealed years as (school id, year)."""

    revision: str
    objects: list[tuple[int, str, int, str]]
    sealed_years: list[tuple[int, str]]


@dataclass
class Outcome:
    """What a backup or a restore did, for its summary."""

    database: str
    revision: str
    objects: int = 0
    object_bytes: int = 0
    copied: int = 0
    checked_in_store: int = 0
    migrated_to: str | None = None
    notes: list[str] = field(default_factory=list)


# --- create ------------------------------------------------------------------------------

def create_backup(folder: Path, with_objects: bool = False, say: Say = lambda _line: None) -> Outcome:
    """Write a backup of this portal into ``folder`` (made if missing; refused unless
    empty). The objects' bytes are copied for the local store, and for S3 when
    ``with_objects``. On any failure the folder is emptied again, and BackupError says why."""
    folder = Path(folder)
    _claim_empty_folder(folder)
    try:
        return _write_backup(folder, with_objects, say)
    except BaseException:
        _empty(folder)
        raise


def _write_backup(folder: Path, with_objects: bool, say: Say) -> Outcome:
    kind = db.engine.dialect.name
    if kind not in DATABASE_FILES:
        raise BackupError(f"Backups handle SQLite and PostgreSQL databases, not {kind}.")
    database_file = folder / DATABASE_FILES[kind]
    say(f"Copying the {kind} database to {database_file} ...")
    records = _copy_sqlite(database_file) if kind == "sqlite" else _dump_postgresql(database_file)
    store = storage()
    include = with_objects or store.name == "local"
    objects = list(_listed_objects(store, records))
    outcome = Outcome(database=kind, revision=records.revision, objects=len(objects),
                      object_bytes=sum(entry.size for entry in objects))
    say(f"{'Copying' if include else 'Listing'} {len(objects)} objects ({_megabytes(outcome.object_bytes)}) "
        f"from the {store.name} store ...")
    try:
        for entry in objects:
            if include:
                _copy_object(store, entry, _backup_path(folder, entry.key))
                entry.included = True
                outcome.copied += 1
            elif entry.sha256 is None:
                entry.sha256 = _hash_stream(store, entry)
    except StorageUnavailable as error:
        raise BackupError(f"The store does not answer: {error.reason}. Check it with `flask storage check`, "
                          "then back up again.") from None
    manifest = {
        "format": FORMAT,
        "complete": True,
        "portal_version": records.revision,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"kind": kind, "file": database_file.name, "size": database_file.stat().st_size,
                     "sha256": _hash_file(database_file)},
        "storage": {"backend": store.name, "objects_included": include},
        "objects": [entry.as_json() for entry in objects],
    }
    _write_manifest(folder, manifest)
    if not include:
        outcome.notes.append("The objects stay in the bucket (its replication or versioning keeps them); "
                             "the manifest lists them with their SHA-256. Use --with-objects to copy them too.")
    return outcome


def _claim_empty_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise BackupError(f"{folder} is a file, not a folder: give a new or empty folder for the backup.")
    if folder.is_dir() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: give a new or empty folder for the backup "
                          "(each backup goes into a folder of its own, e.g. one named by the date).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"Cannot make the folder {folder}: {error.strerror or error}") from None


def _empty(folder: Path) -> None:
    """Remove what a failed backup wrote (the folder was empty before it began)."""
    if folder.is_dir():
        for child in folder.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


def _copy_sqlite(target: Path) -> Records:
    """Copy the live SQLite database with its online backup API into ``target`` (one
    self-contained file: rollback journal, not WAL) and read its records from the copy."""
    source_path = db.engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("The database is in memory: there is nothing on disk to back up.")
    db.session.remove()  # no transaction of this process stays open during the copy
    with closing(sqlite3.connect(source_path)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
        return _read_records(lambda sql: copy.execute(sql).fetchall())


def _dump_postgresql(target: Path) -> Records:
    """``pg_dump --format=custom`` into ``target`` from a snapshot exported by a
    transaction that then reads the records: the dump and the list of objects are of the
    same moment."""
    pg_dump = client_program("pg_dump")
    dsn, env = libpq_connection(db.engine.url)
    db.session.remove()
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            run_client([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                        f"--dbname={dsn}"], env, "pg_dump")
            return _read_records(lambda sql: connection.execute(text(sql)).all())


def _read_records(query: Callable[[str], list]) -> Records:
    try:
        revision = query("SELECT version_num FROM alembic_version")
        objects = query("SELECT school_id, sha256, size, content_type FROM stored_objects ORDER BY id")
        sealed = query("SELECT DISTINCT school_id, school_year FROM sealed_results ORDER BY school_id, school_year")
    except Exception as error:  # noqa: BLE001 - sqlite3 and SQLAlchemy raise different errors
        raise BackupError(f"The database does not hold the portal's tables ({error}): run "
                          "`flask db upgrade` on it first, or check DATABASE_URL.") from None
    if not revision:
        raise BackupError("The database has no migration revision: run `flask db upgrade` on it first.")
    return Records(revision[0][0], [tuple(row) for row in objects], [tuple(row) for row in sealed])


def _listed_objects(store: Storage, records: Records) -> Iterator[BackupObject]:
    for school_id, sha256, size, content_type in records.objects:
        yield BackupObject(object_key(school_id, sha256), size, sha256, content_type)
    try:
        for school_id, year in records.sealed_years:
            for info in store.keys(f"schools/{school_id}/{SEALED_PREFIX}/{year}/"):
                yield BackupObject(info.key, info.size, None,
                                   mimetypes.guess_type(info.key)[0] or "application/octet-stream")
    except StorageUnavailable as error:
        raise BackupError(f"The store does not answer: {error.reason}. Check it with `flask storage check`.") from None


def _copy_object(store: Storage, entry: BackupObject, target: Path) -> None:
    """Stream the object into ``target``, hashing it; a recorded object must match its
    row (else BackupError), a sealed result's file gets its hash measured here."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with store.open(entry.key) as source, target.open("xb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except FileNotFoundError:
        raise BackupError(f"The object {entry.key} is recorded in the database but missing from the store: "
                          "run `flask storage verify` to list every such object.") from None
    _check_read(entry, digest.hexdigest(), size)


def _hash_stream(store: Storage, entry: BackupObject) -> str:
    digest, size = hashlib.sha256(), 0
    try:
        with store.open(entry.key) as source:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise BackupError(f"The object {entry.key} disappeared from the store while it was backed up: "
                          "back up again.") from None
    _check_read(entry, digest.hexdigest(), size)
    return digest.hexdigest()


def _check_read(entry: BackupObject, sha256: str, size: int) -> None:
    if entry.sha256 is None:
        entry.sha256, entry.size = sha256, size
    elif sha256 != entry.sha256 or size != entry.size:
        raise BackupError(f"The object {entry.key} in the store differs from its record (SHA-256 or size): "
                          "run `flask storage verify`, and restore that file from an older backup.")


def _write_manifest(folder: Path, manifest: dict) -> None:
    """Write the manifest beside the files, whole or not at all (a renamed temporary file)."""
    handle = tempfile.NamedTemporaryFile("w", dir=folder, prefix=".manifest-", suffix=".json", delete=False,
                                         encoding="utf-8")
    with handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, folder / MANIFEST)


# --- restore -----------------------------------------------------------------------------

def restore_backup(folder: Path, say: Say = lambda _line: None) -> Outcome:
    """Restore the backup in ``folder`` into this portal's database (which must hold no
    school and no user) and store, then migrate the database to the head revision.

    Refuses (BackupError, nothing changed) an incomplete backup, one whose files do not
    match the manifest, one of another kind of database or of a newer portal, and objects
    that are neither in the backup nor in the bucket."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    kind = db.engine.dialect.name
    backup_kind = manifest["database"]["kind"]
    if backup_kind != kind:
        raise BackupError(f"This is a backup of a {backup_kind} database and this portal uses {kind} "
                          "(DATABASE_URL): restore it into a portal configured with the same kind of database.")
    revision = manifest["portal_version"]
    heads = _migration_heads(revision)
    _refuse_data_in_database()
    pg_restore = client_program("pg_restore") if kind == "postgresql" else None
    store = storage()
    objects = [BackupObject(**entry) for entry in manifest["objects"]]
    say(f"Checking the backup's {len(objects)} objects and its database file against the manifest ...")
    in_store = _check_backup(folder, manifest, objects, store)
    outcome = Outcome(database=kind, revision=revision, objects=len(objects),
                      object_bytes=sum(entry.size for entry in objects), checked_in_store=in_store)
    say(f"Putting {sum(entry.included for entry in objects)} objects into the {store.name} store ...")
    outcome.copied = _put_objects(folder, objects, store)
    say("Restoring the database ...")
    database_file = folder / manifest["database"]["file"]
    if kind == "sqlite":
        _restore_sqlite(database_file)
    else:
        _restore_postgresql(pg_restore, database_file)
    if revision not in heads:
        say(f"Migrating the database from revision {revision} to {', '.join(heads)} ...")
        upgrade()
        outcome.migrated_to = ", ".join(heads)
    return outcome


def read_manifest(folder: Path) -> dict:
    """The manifest of a complete backup in ``folder``; BackupError for anything else."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder: give the folder `backup create` wrote.")
    if not path.is_file():
        raise BackupError(f"{folder} holds no {MANIFEST}: it is not a backup, or its creation did not finish. "
                          "Use another backup.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise BackupError(f"{path} cannot be read ({error}): use another backup.") from None
    if not isinstance(manifest, dict) or manifest.get("complete") is not True:
        raise BackupError(f"{path} does not say the backup is complete: its creation did not finish. "
                          "Use another backup.")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is of backup format {manifest.get('format')!r}; this portal reads format "
                          f"{FORMAT}. Restore it with the portal version that made it.")
    return manifest


def _migration_heads(revision: str) -> list[str]:
    """This portal's head revisions; BackupError when ``revision`` is unknown to it."""
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"The backup's database is at revision {revision}, which this portal does not know: "
                          "it was made by a newer version. Install that version (or a newer one), then restore.")
    return list(script.get_heads())


def _refuse_data_in_database() -> None:
    """BackupError unless the database is empty: no table but the portal's (whose tables a
    restore replaces), and no school and no user in them."""
    tables = set(inspect(db.engine).get_table_names())
    portal = (*db.metadata.tables, "alembic_version")
    foreign = sorted(name for name in tables if not name.startswith(portal))  # FTS tables: evidence_search_fts*
    if foreign:
        raise BackupError(
            f"The database holds tables that are not the portal's ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}): a backup is restored only into an empty database. Point "
            "DATABASE_URL at a new, empty database, then restore again.")
    schools = db.session.scalar(select(func.count()).select_from(School)) if School.__tablename__ in tables else 0
    users = db.session.scalar(select(func.count()).select_from(User)) if User.__tablename__ in tables else 0
    db.session.remove()
    if schools or users:
        raise BackupError(
            f"The database already holds {_count(schools, 'school')} and {_count(users, 'user')}: a backup is "
            "restored only into an "
            "empty database, so that nothing is overwritten. Point DATABASE_URL at a new, empty database, then "
            "restore again.")


def _check_backup(folder: Path, manifest: dict, objects: list[BackupObject], store: Storage) -> int:
    """Check the database file and every included object against the manifest, and that
    every other object is in the store; BackupError naming the problems. Returns how many
    objects were found in the store."""
    problems, in_store = [], 0
    database = manifest["database"]
    problems.extend(_file_problems(folder / database["file"], database["file"], database["sha256"],
                                   database["size"]))
    try:
        for entry in objects:
            if entry.included:
                problems.extend(_file_problems(_backup_path(folder, entry.key), f"{OBJECTS}/{entry.key}",
                                               entry.sha256, entry.size))
            else:
                info = store.stat(entry.key)
                if info is None or info.size != entry.size:
                    problems.append(f"{entry.key}: not in the backup, and "
                                    f"{'missing from' if info is None else 'of another size in'} the store")
                else:
                    in_store += 1
    except StorageUnavailable as error:
        raise BackupError(f"The store does not answer: {error.reason}. Check it with `flask storage check`, "
                          "then restore again. Nothing was restored.") from None
    if problems:
        shown = problems[:PROBLEMS_SHOWN] + ([f"... and {len(problems) - PROBLEMS_SHOWN} more"]
                                             if len(problems) > PROBLEMS_SHOWN else [])
        raise BackupError("The backup does not match its manifest, so nothing was restored:\n  "
                          + "\n  ".join(shown) + "\nUse another backup.")
    return in_store


def _file_problems(path: Path, name: str, sha256: str, size: int) -> list[str]:
    try:
        if path.stat().st_size != size:
            return [f"{name}: {path.stat().st_size} bytes, the manifest says {size}"]
        if _hash_file(path) != sha256:
            return [f"{name}: its SHA-256 differs from the manifest's (the file was changed)"]
    except FileNotFoundError:
        return [f"{name}: missing from the backup"]
    return []


def _put_objects(folder: Path, objects: list[BackupObject], store: Storage) -> int:
    """Put every included object into the store, hashing it again as it goes."""
    put = 0
    try:
        for entry in objects:
            if not entry.included:
                continue
            with _backup_path(folder, entry.key).open("rb") as source:
                reader = HashingReader(source)
                store.put(entry.key, reader, entry.size, entry.content_type)
            if reader.digest.hexdigest() != entry.sha256:
                store.delete(entry.key)
                raise BackupError(f"{OBJECTS}/{entry.key} changed while it was restored: the database was not "
                                  "restored. Restore again from an unchanged backup.")
            put += 1
    except StorageUnavailable as error:
        raise BackupError(f"The store does not answer: {error.reason}. The database was not restored; check "
                          "the store with `flask storage check`, then restore again.") from None
    return put


class HashingReader:
    """A binary stream that hashes what is read from it."""

    def __init__(self, stream):
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        return chunk


def _restore_sqlite(backup_file: Path) -> None:
    """Copy the backup into the configured SQLite file with the backup API (whatever
    empty tables it held are replaced as a whole)."""
    target_path = db.engine.url.database
    db.session.remove()
    db.engine.dispose()
    Path(target_path).parent.mkdir(parents=True, exist_ok=True)
    with (closing(sqlite3.connect(f"{backup_file.resolve().as_uri()}?mode=ro", uri=True)) as source,
          closing(sqlite3.connect(target_path)) as target):
        source.backup(target)
    db.engine.dispose()


def _restore_postgresql(pg_restore: str, backup_file: Path) -> None:
    """``pg_restore --no-owner`` in one transaction into the configured database, after
    dropping the tables an empty portal may already have there (``flask db upgrade``)."""
    db.session.remove()
    with db.engine.begin() as connection:
        tables = MetaData()
        tables.reflect(bind=connection)
        tables.drop_all(bind=connection)
    db.engine.dispose()
    dsn, env = libpq_connection(db.engine.url)
    run_client([pg_restore, "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
                f"--dbname={dsn}", str(backup_file)], env, "pg_restore")


# --- shared ------------------------------------------------------------------------------

def client_program(name: str) -> str:
    """The path of PostgreSQL's client program ``name``; BackupError when not installed."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} was not found on this server (PATH). Install PostgreSQL's client programs, "
                          "of the server's major version or newer (Debian: apt install postgresql-client), "
                          "then run again.")
    return found


def libpq_connection(url) -> tuple[str, dict]:
    """(a libpq URL without the password, the environment with PGPASSWORD): the
    password never appears on a command line, where other users of the machine see it."""
    url = make_url(url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def run_client(command: list[str], env: dict, name: str) -> None:
    """Run a PostgreSQL client program; BackupError with its own message when it fails."""
    try:
        finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # nosec B603: a list, no shell
    except OSError as error:
        raise BackupError(f"{name} could not be started: {error}") from None
    if finished.returncode != 0:
        message = (finished.stderr or finished.stdout).strip().splitlines()[-5:]
        raise BackupError(f"{name} failed (exit status {finished.returncode}): " + " / ".join(message))


def _backup_path(folder: Path, key: str) -> Path:
    """Where an object's bytes are in the backup; refuses a key that would leave it."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise BackupError(f"The manifest names an object {key!r} that is not a storage key: use another backup.")
    return folder / OBJECTS / Path(*parts)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"
