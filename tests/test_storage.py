"""The file store, on both backends (a folder, and an S3 bucket on moto's server over
HTTP): the contract every caller relies on, and the `flask storage` commands an
administrator runs."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.storage import TooLarge, key_digest, object_key, spool, storage
from app.storage.backends import S3Storage, StorageUnavailable
from app.storage.models import StoredObject
from tests.conftest import S3_TEST_CONFIG, s3_settings


def test_put_open_stat_delete_round_trip(app, backend):
    data = os.urandom(3 * 1024 * 1024 + 17)  # several chunks, not a whole number of them
    key = object_key(7, hashlib.sha256(data).hexdigest())
    with app.app_context():
        store = storage()
        assert store.stat(key) is None
        store.put(key, io.BytesIO(data), len(data), "application/pdf")
        with store.open(key) as stream:
            assert stream.read() == data
        info = store.stat(key)
        assert info.size == len(data)
        assert info.modified > datetime.now(UTC) - timedelta(minutes=5)
        assert [found.key for found in store.keys("schools/7/")] == [key]
        store.delete(key)
        store.delete(key)  # deleting a missing object is not an error
        assert store.stat(key) is None
        with pytest.raises(FileNotFoundError):
            store.open(key)


def test_keys_outside_the_store_are_refused(app, backend):
    with app.app_context():
        for key in ("../etc/passwd", "/etc/passwd", "schools/../../x", "schools//x", ""):
            with pytest.raises(ValueError):
                storage().put(key, io.BytesIO(b"x"), 1, "text/plain")


def test_content_addressed_keys_read_back_their_school_and_hash():
    digest = hashlib.sha256(b"plan").hexdigest()
    assert object_key(12, digest) == f"schools/12/sha256/{digest[:2]}/{digest}"
    assert key_digest(object_key(12, digest)) == (12, digest)
    assert key_digest(f"schools/12/sha256/00/{digest}") is None
    assert key_digest("portal-check/abc") is None


def test_spool_hashes_while_copying_and_stops_at_the_limit():
    data = os.urandom(2 * 1024 * 1024 + 5)
    with spool(io.BytesIO(data), max_bytes=len(data)) as spooled:
        assert spooled.sha256 == hashlib.sha256(data).hexdigest()
        assert spooled.size == len(data)
        assert spooled.file.read() == data

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            self.read_bytes += len(buffer)
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    endless = Endless()
    with pytest.raises(TooLarge):
        spool(io.BufferedReader(endless), max_bytes=3 * 1024 * 1024)
    assert endless.read_bytes < 6 * 1024 * 1024  # it stopped, it did not read to the end


def test_a_stopped_s3_server_fails_within_the_timeouts(app, tmp_path):
    from tests.conftest import MotoServer

    server = MotoServer()
    config = {**app.config, **S3_TEST_CONFIG, "S3_ENDPOINT_URL": server.url, "S3_BUCKET": "nothing-there"}
    store = S3Storage(config)  # nothing listens on the port
    with pytest.raises(StorageUnavailable):
        store.put("schools/1/x", io.BytesIO(b"abc"), 3, "text/plain")
    with pytest.raises(StorageUnavailable):
        store.stat("schools/1/x")


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["storage", *args])


def test_storage_check_writes_reads_and_deletes_a_probe(app, backend):
    result = _cli(app, "check")
    assert result.exit_code == 0, result.output
    assert "write: ok" in result.output and "read: ok" in result.output and "delete: ok" in result.output
    with app.app_context():
        assert list(storage().keys("portal-check/")) == []


def test_storage_check_names_a_missing_bucket(app, s3_server):
    with s3_settings(app, S3_ENDPOINT_URL=s3_server.url, S3_BUCKET="no-such-bucket"):
        result = _cli(app, "check")
    assert result.exit_code == 1
    assert "'no-such-bucket' does not exist" in result.output


def test_storage_check_names_an_unreachable_endpoint(app):
    from tests.conftest import MotoServer

    with s3_settings(app, S3_ENDPOINT_URL=MotoServer().url, S3_BUCKET="b"):
        result = _cli(app, "check")
    assert result.exit_code == 1
    assert "FAILED to write" in result.output


def _stored(app, school, data: bytes) -> str:
    """Bytes stored for ``school`` with their row, as an upload leaves them; their key."""
    digest = hashlib.sha256(data).hexdigest()
    key = object_key(school.id, digest)
    with app.app_context():
        storage().put(key, io.BytesIO(data), len(data), "application/pdf")
        db.session.add(StoredObject(school_id=school.id, sha256=digest, size=len(data), content_type="application/pdf"))
        db.session.commit()
    return key


def test_verify_reports_missing_and_changed_objects(app, backend, build):
    school = build.school()
    kept = _stored(app, school, b"%PDF-1.4 kept")
    lost = _stored(app, school, b"%PDF-1.4 lost")
    changed = _stored(app, school, b"%PDF-1.4 changed")
    result = _cli(app, "verify")
    assert result.exit_code == 0, result.output
    assert "3 objects checked: 0 missing, 0 mismatched" in result.output
    with app.app_context():
        storage().delete(lost)
        storage().put(changed, io.BytesIO(b"%PDF-1.4 tampered"), 17, "application/pdf")
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert f"MISSING  {lost}" in result.output
    assert f"MISMATCH {changed}" in result.output
    assert kept not in result.output


def test_reconcile_lists_orphans_and_deletes_only_old_ones_when_asked(app, backend, build):
    school = build.school()
    recorded = _stored(app, school, b"%PDF-1.4 recorded")
    orphan = object_key(school.id, hashlib.sha256(b"orphan").hexdigest())
    with app.app_context():
        storage().put(orphan, io.BytesIO(b"orphan"), 6, "application/pdf")
    listed = _cli(app, "reconcile")
    assert f"ORPHAN {orphan}" in listed.output and "(within the grace period: kept)" in listed.output
    assert recorded not in listed.output
    kept = _cli(app, "reconcile", "--delete")  # still within the default grace period
    assert "0 removed" in kept.output
    with app.app_context():
        storage().put("schools/README.txt", io.BytesIO(b"not the portal's"), 16, "text/plain")
    removed = _cli(app, "reconcile", "--delete", "--grace-hours", "0")
    assert "1 removed" in removed.output
    assert "FOREIGN schools/README.txt (not the portal's: kept)" in removed.output
    with app.app_context():
        assert storage().stat(orphan) is None
        assert storage().stat(recorded) is not None
        assert storage().stat("schools/README.txt") is not None
