"""``flask storage``: check the configured store, verify what it holds against the
database, and find (and, when asked, remove) objects no row refers to."""

from __future__ import annotations

import hashlib
import io
import secrets
import sys
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.storage import CHUNK, StorageUnavailable, key_digest, object_key, storage
from app.storage.models import StoredObject

storage_cli = AppGroup("storage", help="The file store (local folder or S3-compatible bucket).")


def _where() -> str:
    config = current_app.config
    if config["STORAGE_BACKEND"] == "s3":
        return f"bucket {config['S3_BUCKET']!r} at {config.get('S3_ENDPOINT_URL') or 'AWS S3'}"
    return f"folder {config['UPLOAD_FOLDER']}"


@storage_cli.command("check")
def check() -> None:
    """Write, read back and delete a small probe object; say in plain words what is wrong."""
    store = storage()
    key = f"portal-check/{secrets.token_hex(8)}"
    probe = secrets.token_bytes(64)
    click.echo(f"Checking the {store.name} store: {_where()}")
    steps = [("write", lambda: store.put(key, io.BytesIO(probe), len(probe), "application/octet-stream")),
             ("read", lambda: _read_back(store, key, probe)),
             ("delete", lambda: store.delete(key))]
    for name, step in steps:
        try:
            step()
        except StorageUnavailable as error:
            click.echo(f"FAILED to {name}: {error.reason}", err=True)
            sys.exit(1)
        except (OSError, ValueError) as error:
            click.echo(f"FAILED to {name}: {error}", err=True)
            sys.exit(1)
        click.echo(f"  {name}: ok")
    click.echo("The store works.")


def _read_back(store, key: str, probe: bytes) -> None:
    with store.open(key) as stream:
        if stream.read() != probe:
            raise ValueError("the object read back differs from the one written")


def _referenced() -> dict[str, tuple[int, int]]:
    """Key → (object row id, size) of every stored object the database records."""
    rows = db.session.execute(select(StoredObject.id, StoredObject.school_id, StoredObject.sha256,
                                     StoredObject.size)).all()
    db.session.rollback()  # no transaction stays open while the store is read
    return {object_key(school_id, sha256): (row_id, size) for row_id, school_id, sha256, size in rows}


def _manifests() -> set[str]:
    """The keys of every approval's manifest the database records."""
    from app.assessments.models import SealedResult

    keys = set(db.session.scalars(select(SealedResult.manifest_key)))
    db.session.rollback()
    return keys


def _still_old(store, key: str, cutoff: datetime) -> bool:
    """Whether the object was not written again since it was listed: an upload of the same
    bytes rewrites it (renewing its age) before it records its row."""
    info = store.stat(key)
    return info is not None and info.modified <= cutoff


def _still_orphaned(key: str) -> bool:
    """Whether no row refers to ``key`` now (asked again right before a removal)."""
    from app.assessments.models import SealedResult

    digest = key_digest(key)
    if digest is None:  # a manifest
        found = db.session.scalar(select(SealedResult.id).where(SealedResult.manifest_key == key))
    else:
        found = db.session.scalar(select(StoredObject.id).where(StoredObject.school_id == digest[0],
                                                                StoredObject.sha256 == digest[1]))
    db.session.rollback()
    return found is None


@storage_cli.command("verify")
def verify() -> None:
    """Re-read every recorded object, re-hash it and report the missing and the
    mismatched ones (exit status 1 when there are any)."""
    store = storage()
    missing, mismatched, checked = [], [], 0
    for key, (_row_id, size) in sorted(_referenced().items()):
        expected = key_digest(key)[1]
        try:
            with store.open(key) as stream:
                digest, length = hashlib.sha256(), 0
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    length += len(chunk)
        except FileNotFoundError:
            missing.append(key)
            continue
        except StorageUnavailable as error:
            click.echo(f"The store does not answer: {error.reason}", err=True)
            sys.exit(2)
        checked += 1
        if digest.hexdigest() != expected or length != size:
            mismatched.append(key)
    for key in missing:
        click.echo(f"MISSING  {key}")
    for key in mismatched:
        click.echo(f"MISMATCH {key}")
    click.echo(f"{checked} objects checked: {len(missing)} missing, {len(mismatched)} mismatched.")
    if missing or mismatched:
        sys.exit(1)


@storage_cli.command("reconcile")
@click.option("--delete", is_flag=True, help="Remove the orphans older than the grace period.")
@click.option("--grace-hours", type=float, default=None,
              help="Only objects older than this count (default: STORAGE_ORPHAN_GRACE_HOURS).")
def reconcile(delete: bool, grace_hours: float | None) -> None:
    """List objects in the store that no database row refers to (left by an upload or an
    approval whose database write failed or was cut off). With --delete, remove those
    older than the grace period; each is checked again just before it goes."""
    from app.assessments.sealing import is_manifest_key

    store = storage()
    grace = timedelta(hours=grace_hours if grace_hours is not None
                      else current_app.config["STORAGE_ORPHAN_GRACE_HOURS"])
    cutoff = datetime.now(UTC) - grace
    referenced = _referenced().keys() | _manifests()
    orphans, young, removed, foreign = [], 0, 0, 0
    try:
        for info in store.keys("schools/"):
            if info.key in referenced:
                continue
            if key_digest(info.key) is None and not is_manifest_key(info.key):
                # not a name the portal gives: somebody else's, never removed
                foreign += 1
                click.echo(f"FOREIGN {info.key} (not the portal's: kept)")
                continue
            orphans.append(info)
            old = info.modified <= cutoff
            click.echo(f"ORPHAN {info.key} {info.size} bytes, {info.modified:%Y-%m-%d %H:%M} UTC"
                       + ("" if old else " (within the grace period: kept)"))
            if not old:
                young += 1
            elif delete and _still_orphaned(info.key) and _still_old(store, info.key, cutoff):
                store.delete(info.key)
                removed += 1
    except StorageUnavailable as error:
        click.echo(f"The store does not answer: {error.reason}", err=True)
        sys.exit(2)
    click.echo(f"{len(orphans)} orphaned objects ({young} within the grace period of {grace}); {removed} removed.")
