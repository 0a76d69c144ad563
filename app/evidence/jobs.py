"""Work done outside the request, through huey: reading the text of an uploaded file
(and OCR of scans) so documents can be searched and the upload form pre-filled.

``JOBS_URL`` picks the queue: ``sqlite:///PATH`` (default: ``instance/jobs.db``, the
embedded default, no service needed), ``redis://HOST:PORT/DB`` (a real broker, shared
by several app servers), or ``immediate`` (run at once, in the caller: tests and
one-off scripts). A worker runs the jobs: ``flask --app wsgi jobs worker``
(``make run`` starts one beside the web server).

A job reads only ids from the queue; what it works on is the database's current state,
so a job run twice, late, or for a file since replaced does no harm."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Huey
from sqlalchemy import select

from app.evidence.extraction import ExtractionFailed, extract_text, ocr_available
from app.evidence.filecheck import ALLOWED
from app.evidence.header import read_header
from app.evidence.models import EvidenceFile, TextStatus
from app.evidence.search import reindex
from app.evidence.suggestions import suggest_criteria
from app.extensions import db
from app.framework.services import framework
from app.storage import storage

jobs_cli = AppGroup("jobs", help="The background job queue (reading documents' text, OCR).")


def queue(app: Flask | None = None) -> tuple[Huey, dict]:
    """The app's queue and its tasks by name (built once per app)."""
    app = app or current_app._get_current_object()
    built = app.extensions.get("portal_jobs")
    if built is None:
        url = str(app.config["JOBS_URL"] or f"sqlite:///{Path(app.instance_path) / 'jobs.db'}")
        if url == "immediate":
            huey = MemoryHuey("portal", immediate=True)
        elif url.startswith(("redis://", "rediss://")):
            huey = RedisHuey("portal", url=url)
        elif url.startswith("sqlite:///"):
            huey = SqliteHuey("portal", filename=url.removeprefix("sqlite:///"))
        else:
            raise ValueError(f"JOBS_URL must be sqlite:///PATH, redis://… or immediate, not {url!r}")

        @huey.task(retries=2, retry_delay=60, name="read_text")
        def read_text_task(file_id: int) -> None:
            with app.app_context():
                read_file_text(file_id)

        built = app.extensions["portal_jobs"] = (huey, {"read_text": read_text_task})
    return built


def read_text(file_id: int) -> None:
    """Queue the reading of evidence file version ``file_id``'s text."""
    queue()[1]["read_text"](file_id)


def read_file_text(file_id: int) -> None:
    """Read the text of file version ``file_id`` from the storage, with OCR for scans when
    this server has it, and record it with what its first page says (number, date,
    issuer) and the criteria it suggests. A version no longer waiting is left alone. No
    transaction stays open while the file is read (seconds, minutes for a long scan)."""
    version = db.session.get(EvidenceFile, file_id)
    if version is None or version.text_status != TextStatus.PENDING:
        return
    key, content_type = version.object.key, version.object.content_type
    db.session.commit()
    extension = next((kind.extension for kind in ALLOWED.values() if kind.content_type == content_type), None)
    ocr = ocr_available()
    failure = None
    with tempfile.NamedTemporaryFile(prefix="portal-read-") as copy:
        with storage().open(key) as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        try:
            extracted = extract_text(copy.name, extension, ocr=ocr)
        except ExtractionFailed as error:
            current_app.logger.info("Could not read the text of file %s: %s", file_id, error.reason)
            failure = error
    version = db.session.get(EvidenceFile, file_id)
    if version is None or version.text_status != TextStatus.PENDING:
        return  # read meanwhile by another worker
    if failure is not None:
        version.text_status, version.found = TextStatus.FAILED, {"error": failure.code}
        db.session.commit()
        return
    version.text = extracted.text
    version.ocr_used = extracted.ocr_used
    scanned = not extracted.text.strip() and not ocr and extension in {"pdf", "png", "jpg", "webp"}
    version.text_status = TextStatus.OCR_OFF if scanned else TextStatus.DONE
    header = read_header(extracted.text)
    document = version.document
    suggested = suggest_criteria(framework(), extracted.text, title=document.title)
    version.found = {
        "number": header.number, "issued_on": header.issued_on.isoformat() if header.issued_on else None,
        "issuer": header.issuer, "doc_type": header.doc_type,
        "criteria": [suggestion.code for suggestion in suggested],
    }
    if version is document.current_file:
        reindex(document)
    db.session.commit()


def requeue_pending() -> int:
    """Queue again every file version still waiting to be read (its job was lost: the
    queue was down, or the server stopped); how many."""
    file_ids = list(db.session.scalars(select(EvidenceFile.id).where(EvidenceFile.text_status == TextStatus.PENDING)
                                       .order_by(EvidenceFile.id)))
    db.session.commit()
    for file_id in file_ids:
        read_text(file_id)
    return len(file_ids)


@jobs_cli.command("requeue")
def requeue() -> None:
    """Queue again the reading of every file still waiting for it."""
    click.echo(f"{requeue_pending()} files queued again.")


@jobs_cli.command("worker")
@click.option("--workers", default=1, show_default=True, help="Jobs run at once (threads).")
def worker(workers: int) -> None:
    """Run queued jobs until stopped (Ctrl+C)."""
    from huey.consumer import Consumer

    huey, _tasks = queue()
    waiting = requeue_pending()
    click.echo(f"Job worker started ({workers} at once); {waiting} files waiting to be read.")
    Consumer(huey, workers=workers, worker_type="thread", periodic=False).run()
