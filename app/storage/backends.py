"""The two places bytes can live: a folder on this machine, or a bucket of any
S3-compatible store (MinIO, Garage, Ceph RGW, AWS S3) reached through boto3.

Both keep the same contract: objects are named by keys such as
``schools/7/sha256/ab/abcd…``; ``put`` writes a whole object or nothing; ``open`` streams
it back; ``delete`` of a missing key is not an error. A store that cannot be reached (or
answers with an error) raises ``StorageUnavailable`` within the configured timeouts, so
a request never hangs on it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from app.ops.metrics import STORAGE_ERRORS

CHUNK = 1024 * 1024
# Answers the portal asks for and expects (not counted as storage errors).
EXPECTED_ANSWERS = frozenset({"ObjectLockConfigurationNotFoundError"})


class StorageUnavailable(Exception):
    """The store could not be reached or refused the operation; ``reason`` says which in
    plain words, for logs and ``storage check`` (users get a generic message)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime


class Storage(Protocol):
    name: str

    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        """Store ``stream``'s bytes (read from its current position) under ``key``."""

    def open(self, key: str) -> BinaryIO:
        """A stream of the object's bytes; raises FileNotFoundError when it is missing."""

    def stat(self, key: str) -> ObjectInfo | None:
        """The object's size and last change, or None when it is missing."""

    def delete(self, key: str) -> None:
        """Remove the object, if it exists."""

    def keys(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix``."""

    def retain(self, keys: list[str], until: datetime) -> None:
        """Keep these objects from being changed or deleted until ``until``, where the
        store can (S3 Object Lock on the bucket); otherwise nothing."""

    def ready(self) -> str | None:
        """None when the store can be used now, else why not (for /readyz)."""

    def download_url(self, key: str, disposition: str, content_type: str, seconds: int) -> str | None:
        """A short-lived URL that serves the object with these headers, or None when the
        backend cannot give one (the portal then streams the bytes itself)."""


def _safe_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalStorage:
    """Objects as files under ``root`` (the embedded default, ``UPLOAD_FOLDER``). A put
    writes a temporary file beside the target and renames it into place, so a reader
    never sees half an object."""

    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=".part-", delete=False)
            try:
                with handle:
                    shutil.copyfileobj(stream, handle, CHUNK)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(handle.name, path)
            except BaseException:
                Path(handle.name).unlink(missing_ok=True)
                raise
        except OSError as error:
            STORAGE_ERRORS.inc()
            raise StorageUnavailable(f"cannot write under {self.root}: {error.strerror or error}") from error

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise
        except OSError as error:
            STORAGE_ERRORS.inc()
            raise StorageUnavailable(f"cannot read under {self.root}: {error.strerror or error}") from error

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            status = self._path(key).stat()
        except FileNotFoundError:
            return None
        return ObjectInfo(key, status.st_size, datetime.fromtimestamp(status.st_mtime, UTC))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[ObjectInfo]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".part-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    status = path.stat()
                    yield ObjectInfo(key, status.st_size, datetime.fromtimestamp(status.st_mtime, UTC))

    def retain(self, keys: list[str], until: datetime) -> None:
        return None  # a folder has no retention; backups keep the copies (see README)

    def ready(self) -> str | None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)  # as the first upload would
        except OSError as error:
            return f"the folder {self.root} cannot be made: {error.strerror or error}"
        if not os.access(self.root, os.W_OK | os.X_OK):
            return f"the folder {self.root} cannot be written"
        return None

    def download_url(self, key: str, disposition: str, content_type: str, seconds: int) -> str | None:
        return None


class S3Storage:
    """Objects in one bucket of an S3-compatible store. Only the plain S3 API is used
    (PutObject/multipart through ``upload_fileobj``, GetObject, HeadObject, DeleteObject,
    ListObjectsV2, presigned GET), so MinIO, Garage, Ceph RGW and AWS behave alike.

    Timeouts and retries are bounded (``S3_CONNECT_TIMEOUT``, ``S3_READ_TIMEOUT``,
    ``S3_MAX_ATTEMPTS``) so that a store that is down or stalls fails a request within
    seconds instead of holding it."""

    name = "s3"

    def __init__(self, config):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = config["S3_BUCKET"]
        self.retention_mode = config.get("SEAL_RETENTION_MODE") or "GOVERNANCE"
        self.client = boto3.client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            aws_access_key_id=config["S3_ACCESS_KEY"],
            aws_secret_access_key=config["S3_SECRET_KEY"],
            region_name=config.get("S3_REGION") or "us-east-1",
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "path"},
                connect_timeout=float(config["S3_CONNECT_TIMEOUT"]),
                read_timeout=float(config["S3_READ_TIMEOUT"]),
                retries={"total_max_attempts": int(config["S3_MAX_ATTEMPTS"]), "mode": "standard"},
                # Checksums only where the S3 API requires them: stores other than AWS may
                # not know the newer checksum headers.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        # Parts of 8 MB, at most 4 held in memory: a 200 MB upload adds about 32 MB to the
        # worker, not the 160 MB of boto3's defaults for a file object.
        self.transfer = TransferConfig(multipart_threshold=8 * CHUNK, multipart_chunksize=8 * CHUNK,
                                       max_concurrency=4)
        self.transfer.max_in_memory_upload_chunks = 4

    def _call(self, what: str, function, *args, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(*args, **kwargs)
        except ClientError as error:
            if not _missing(error) and _code(error) not in EXPECTED_ANSWERS:
                STORAGE_ERRORS.inc()
            raise StorageUnavailable(describe_client_error(what, self.bucket, error)) from error
        except BotoCoreError as error:  # unreachable, timed out
            STORAGE_ERRORS.inc()
            raise StorageUnavailable(f"{what}: {error}") from error

    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        from boto3.exceptions import S3UploadFailedError

        try:
            self._call("upload", self.client.upload_fileobj, stream, self.bucket, _safe_key(key),
                       ExtraArgs={"ContentType": content_type}, Config=self.transfer)
        except S3UploadFailedError as error:
            STORAGE_ERRORS.inc()
            raise StorageUnavailable(f"upload: {error}") from error

    def open(self, key: str) -> BinaryIO:
        try:
            return self._call("read", self.client.get_object, Bucket=self.bucket, Key=_safe_key(key))["Body"]
        except StorageUnavailable as error:
            if _missing(error.__cause__):
                raise FileNotFoundError(key) from error
            raise

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = self._call("stat", self.client.head_object, Bucket=self.bucket, Key=_safe_key(key))
        except StorageUnavailable as error:
            if _missing(error.__cause__):
                return None
            raise
        return ObjectInfo(key, head["ContentLength"], head["LastModified"])

    def delete(self, key: str) -> None:
        self._call("delete", self.client.delete_object, Bucket=self.bucket, Key=_safe_key(key))

    def keys(self, prefix: str = "") -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        iterator = iter(pages)
        while True:
            page = self._call("list", next, iterator, None)
            if page is None:
                return
            for item in page.get("Contents", []):
                yield ObjectInfo(item["Key"], item["Size"], item["LastModified"])

    def retain(self, keys: list[str], until: datetime) -> None:
        if not self._object_lock_enabled():
            return
        for key in keys:
            self._call("retain", self.client.put_object_retention, Bucket=self.bucket, Key=_safe_key(key),
                       Retention={"Mode": self.retention_mode, "RetainUntilDate": until})

    def _object_lock_enabled(self) -> bool:
        try:
            answer = self._call("object lock", self.client.get_object_lock_configuration, Bucket=self.bucket)
        except StorageUnavailable as error:
            response = getattr(error.__cause__, "response", None) or {}
            if response.get("Error", {}).get("Code") == "ObjectLockConfigurationNotFoundError":
                return False
            raise
        return answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"

    def ready(self) -> str | None:
        try:
            self._call("reach the bucket", self.client.head_bucket, Bucket=self.bucket)
        except StorageUnavailable as error:
            return error.reason
        return None

    def download_url(self, key: str, disposition: str, content_type: str, seconds: int) -> str | None:
        return self.client.generate_presigned_url("get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": _safe_key(key),
            "ResponseContentDisposition": disposition, "ResponseContentType": content_type})


def _code(error) -> str | None:
    return (getattr(error, "response", None) or {}).get("Error", {}).get("Code")


def _missing(error) -> bool:
    return _code(error) in ("NoSuchKey", "404", "NotFound")


def describe_client_error(what: str, bucket: str, error) -> str:
    """An S3 error answer in plain words: which setting is probably wrong."""
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    hints = {
        "NoSuchBucket": f"the bucket {bucket!r} does not exist: create it or correct S3_BUCKET",
        "InvalidAccessKeyId": "the access key is not known to the store: check S3_ACCESS_KEY",
        "SignatureDoesNotMatch": "the secret key does not match the access key: check S3_SECRET_KEY",
        "AccessDenied": f"the keys may not use the bucket {bucket!r}: check the bucket policy",
        "RequestTimeTooSkewed": "this server's clock differs too much from the store's: set the time (NTP)",
        "AuthorizationHeaderMalformed": "the region does not match the store's: check S3_REGION",
    }
    return f"{what}: {hints.get(code, f'the store answered {status} {code}'.strip())}"
