"""Where uploaded bytes live: one interface (``Storage``), a local-disk and an
S3-compatible backend chosen by ``STORAGE_BACKEND``, and the content-addressed keys
(``schools/{id}/sha256/ab/abcd…``) under which the same bytes are stored once per school.

An upload is hashed while it is copied to a temporary file (``spool``), checked there,
then written to the store; the database row that refers to it is written after the
object, never before (see app.evidence.services)."""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from typing import BinaryIO

from flask import Request, current_app

from app.storage.backends import CHUNK, LocalStorage, ObjectInfo, S3Storage, Storage, StorageUnavailable

__all__ = ["Storage", "StorageUnavailable", "ObjectInfo", "Spooled", "HashingFile", "UploadRequest", "storage",
           "object_key", "key_digest", "spool"]

KEY_PATTERN = re.compile(r"schools/(\d+)/sha256/([0-9a-f]{2})/([0-9a-f]{64})")


def storage() -> Storage:
    """The app's configured store (built once per app)."""
    app = current_app._get_current_object()
    store = app.extensions.get("portal_storage")
    if store is None:
        config = app.config
        store = S3Storage(config) if config["STORAGE_BACKEND"] == "s3" else LocalStorage(config["UPLOAD_FOLDER"])
        app.extensions["portal_storage"] = store
    return store


def object_key(school_id: int, sha256: str) -> str:
    """The key of a school's object with this content hash."""
    return f"schools/{school_id}/sha256/{sha256[:2]}/{sha256}"


def key_digest(key: str) -> tuple[int, str] | None:
    """(school id, sha256) of a key made by ``object_key``; None for any other key."""
    match = KEY_PATTERN.fullmatch(key)
    if match is None or match.group(2) != match.group(3)[:2]:
        return None
    return int(match.group(1)), match.group(3)


@dataclass
class Spooled:
    """An upload copied to a temporary file: its SHA-256, size, and the open file
    (positioned at the start; closing it deletes it)."""

    file: BinaryIO
    sha256: str
    size: int

    @property
    def path(self) -> str:
        return self.file.name

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Spooled:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TooLarge(Exception):
    """The stream held more than the limit; nothing past the limit was read."""


class HashingFile:
    """A temporary file on disk that hashes what is written to it: werkzeug writes each
    uploaded file of a multipart form into one (UploadRequest), so the upload is hashed
    while it arrives and never copied again."""

    def __init__(self):
        self.file = tempfile.NamedTemporaryFile(prefix="portal-upload-")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.file.write(data)

    def spooled(self) -> Spooled:
        """What was written, as a Spooled file positioned at its start."""
        self.file.flush()
        self.file.seek(0)
        return Spooled(self.file, self.digest.hexdigest(), self.size)

    def __getattr__(self, name):
        return getattr(self.file, name)


class UploadRequest(Request):
    """The app's request: uploaded files go to HashingFiles."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return HashingFile()


def spool(stream: BinaryIO, max_bytes: int) -> Spooled:
    """Copy ``stream`` to a temporary file in chunks, hashing as it goes; never more than
    one chunk in memory. Raises TooLarge after ``max_bytes`` (the rest is not read). A
    HashingFile is taken as it is, without a copy."""
    if isinstance(stream, HashingFile):
        if stream.size > max_bytes:
            raise TooLarge()
        return stream.spooled()
    digest = hashlib.sha256()
    handle = tempfile.NamedTemporaryFile(prefix="portal-upload-")
    size = 0
    try:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge()
            digest.update(chunk)
            handle.write(chunk)
        handle.flush()
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return Spooled(handle, digest.hexdigest(), size)
