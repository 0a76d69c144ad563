"""Sending a stored file back: as an attachment under its original (Vietnamese) name,
with its stored type and ``nosniff``; or, for the types a browser shows safely (PDF and
images), inline under ``Content-Security-Policy: sandbox`` so nothing in it can run
with the portal's rights. On S3 with ``S3_PRESIGNED_DOWNLOADS``, a download is a
redirect to a presigned GET valid at most five minutes, carrying the same headers."""

from __future__ import annotations

from flask import Response, current_app, redirect, request
from werkzeug.http import dump_options_header
from werkzeug.wsgi import wrap_file

from app.errors import NotFound, UnsupportedType
from app.evidence.filecheck import ALLOWED, ascii_filename
from app.evidence.models import EvidenceFile
from app.evidence.services import StorageDown
from app.storage import StorageUnavailable, storage

PREVIEW_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: ``kind`` with an ASCII ``filename`` and the UTF-8 ``filename*``."""
    from urllib.parse import quote

    return dump_options_header(kind, {"filename": ascii_filename(filename)}) + \
        f"; filename*=UTF-8''{quote(filename, safe='')}"


def send_version(version: EvidenceFile, inline: bool = False):
    """The response serving ``version``'s bytes. Raises NotFound when its object is
    missing from the store, StorageDown when the store does not answer, UnsupportedType
    for a preview of a type that is not shown inline."""
    kind = next((kind for kind in ALLOWED.values() if kind.content_type == version.content_type), None)
    if inline and not (kind and kind.previewable):
        raise UnsupportedType()
    disposition = content_disposition("inline" if inline else "attachment", version.filename)
    config = current_app.config
    store = storage()
    try:
        if not inline and config["S3_PRESIGNED_DOWNLOADS"]:
            url = store.download_url(version.object.key, disposition, version.content_type,
                                     config["S3_PRESIGNED_SECONDS"])
            if url:
                return redirect(url, 302)
        stream = store.open(version.object.key)
    except FileNotFoundError:
        current_app.logger.error("Stored object %s of file %s is missing", version.object.key, version.id)
        raise NotFound() from None
    except StorageUnavailable as error:
        current_app.logger.warning("Storage refused a read of %s: %s", version.object.key, error.reason)
        raise StorageDown() from None
    response = Response(wrap_file(request.environ, stream, buffer_size=1024 * 1024),
                        mimetype=version.content_type, direct_passthrough=True)
    response.headers["Content-Disposition"] = disposition
    response.headers["Content-Length"] = str(version.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if inline:
        response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    return response
