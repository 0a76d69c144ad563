"""Evidence: creating documents with their files, new versions, links to criteria and
their review status, removal and restore — each change audited.

Files: an upload is copied to a temporary file while it is hashed, checked there
(app.evidence.filecheck), written to the storage under its content address, and only
then recorded in the database. A database failure after the write leaves an object no
row refers to, which ``flask storage reconcile`` finds; an object is never removed while
a row refers to it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.datastructures import FileStorage

from app import audit, notifications
from app.assessments.models import check_year_open
from app.audit.models import AuditEvent
from app.errors import Conflict, NotFound, PortalError, ValidationFailed, flatten_messages
from app.evidence import schemas
from app.evidence.filecheck import FileKind, check_file, stored_filename
from app.evidence.models import (
    DocType,
    EvidenceDocument,
    EvidenceFile,
    EvidenceLink,
    EvidenceRecordLink,
    LinkStatus,
    TextStatus,
)
from app.evidence.search import reindex
from app.extensions import db, utcnow
from app.framework.loader import Framework
from app.framework.services import framework
from app.inventory.services import COLLECTIONS
from app.schools.counters import take_numbers
from app.schools.models import School
from app.storage import Spooled, StorageUnavailable, TooLarge, object_key, spool, storage
from app.storage.models import StoredObject
from app.versions import saving

MAX_FILES = 20  # in one request
# The details a document carried over to the next school year keeps.
CARRIED_FIELDS = ("title", "doc_type", "number", "issued_on", "issuer", "description", "url")
# The fields a review judges: changing one sends the document's links back to review.
REVIEWED_FIELDS = {"title", "doc_type", "number", "issued_on", "issuer", "url"}


class StorageDown(PortalError):
    """The file store did not answer in time or refused the write: nothing was saved."""

    status = 503
    code = "storage_unavailable"


class FileTooLarge(PortalError):
    status = 413
    code = "too_large"


class SelfReview(PortalError):
    status = 403
    code = "forbidden"


@dataclass(frozen=True)
class Linkable:
    """A code evidence can be linked to: a criterion or a sub-item, with its group and
    criterion (an evidence code is numbered per criterion)."""

    code: str
    group: str
    criterion: str
    title: str


def linkable_codes(index: Framework) -> dict[str, Linkable]:
    """Every criterion and sub-item of ``index``, by code, in the index's order."""
    codes = {}
    for group in index.groups:
        for criterion in group.criteria:
            codes[criterion.code] = Linkable(criterion.code, group.code, criterion.code, criterion.title)
            for item in criterion.items:
                codes[item.code] = Linkable(item.code, group.code, criterion.code, item.title)
    return codes


def _checked_records(school_id: int, refs) -> list[tuple[str, int]]:
    """(collection, id) of each inventory record ``refs`` names ({"collection", "record_id"}),
    each a record of the school; ValidationFailed names the ones that are not."""
    wanted, problems = [], {}
    for index, ref in enumerate(refs):
        collection = COLLECTIONS.get(ref["collection"])
        record = db.session.get(collection.model, ref["record_id"]) if collection else None
        if record is None or record.school_id != school_id:
            problems[f"records.{index}"] = _("No such record in this school's inventory.")
        elif (ref["collection"], ref["record_id"]) not in wanted:
            wanted.append((ref["collection"], ref["record_id"]))
    if problems:
        raise ValidationFailed(_("Some fields are not valid."), fields=problems)
    return wanted


def set_records(actor, document: EvidenceDocument, refs: list[tuple[str, int]]) -> None:
    """Make ``refs`` (checked) the inventory records ``document`` concerns; audited."""
    have = {(link.collection, link.record_id): link for link in document.record_links}
    removed = [key for key in have if key not in refs]
    added = [key for key in refs if key not in have]
    for key in removed:
        document.record_links.remove(have[key])
    for collection, record_id in added:
        document.record_links.append(EvidenceRecordLink(collection=collection, record_id=record_id))
    if added or removed:
        db.session.flush()
        audit.record(actor, "evidence.records_changed", document, added=[list(key) for key in added],
                     removed=[list(key) for key in removed])


def validated(data, partial: bool = False) -> dict:
    """``data`` checked and cleaned by DocumentSchema; ValidationFailed names each field."""
    try:
        return schemas.DocumentSchema(partial=partial).load(data or {})
    except ValidationError as error:
        raise ValidationFailed(_("Some fields are not valid."), fields=flatten_messages(error.messages)) from None


def _checked_criteria(codes: Iterable[str]) -> list[str]:
    known = linkable_codes(framework())
    wanted = list(dict.fromkeys(code.strip() for code in codes if code and code.strip()))
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise ValidationFailed(_("Some fields are not valid."), fields={"criteria": _(
            "Unknown criterion code: %(codes)s. Use codes of the index such as 1.1, 1.3 or 2.3.a.",
            codes=", ".join(unknown[:5]))})
    return wanted


# --- files ------------------------------------------------------------------------------

@dataclass
class Upload:
    """A received upload: its temporary copy (with hash and size), its checked kind and
    the name kept."""

    spooled: Spooled
    kind: FileKind
    filename: str


def receive(upload: FileStorage) -> Upload:
    """Copy one uploaded file to a temporary file while hashing it, and check it.
    Raises FileTooLarge (413), UnsafeFile (415) or EmptyFile (400); the caller closes the
    returned upload's ``spooled`` file."""
    limit = current_app.config["UPLOAD_MAX_MB"]
    name = upload.filename or ""
    try:
        spooled = spool(upload.stream, limit * 1024 * 1024)
    except TooLarge:
        raise FileTooLarge(_("The file «%(name)s» is larger than %(n)d MB. Reduce it (e.g. scan at 150–200 dpi, "
                             "or save as a smaller PDF) and send it again.", name=stored_filename(name),
                             n=limit)) from None
    try:
        kind = check_file(spooled.path, name)
    except BaseException:
        spooled.close()
        raise
    return Upload(spooled, kind, stored_filename(name))


@dataclass(frozen=True)
class Stored:
    """An upload written to the storage, not yet recorded."""

    sha256: str
    size: int
    content_type: str
    filename: str


def receive_and_store(school_id: int, uploads: Iterable[FileStorage]) -> list[Stored]:
    """Receive each file with a name (at most MAX_FILES: copied while hashed, checked) and
    write it to the storage under its content address. Call it outside any database
    transaction: it takes seconds, and on SQLite an open write transaction would hold
    every other writer meanwhile. Raises ValidationFailed, FileTooLarge, UnsafeFile,
    EmptyFile or StorageDown; the objects already written are then orphans that
    ``storage reconcile`` finds."""
    files = [upload for upload in uploads if upload and upload.filename]
    if len(files) > MAX_FILES:
        raise ValidationFailed(_("At most %(n)d files in one upload.", n=MAX_FILES))
    stored = []
    for upload in files:
        received = receive(upload)
        try:
            stored.append(_put(school_id, received))
        finally:
            received.spooled.close()
    return stored


def _put(school_id: int, upload: Upload) -> Stored:
    """Write the upload's bytes under their key, even when the store has them already: the
    write renews the object's age, so ``reconcile`` never takes it for an old orphan
    while its row is on the way."""
    key = object_key(school_id, upload.spooled.sha256)
    try:
        upload.spooled.file.seek(0)
        storage().put(key, upload.spooled.file, upload.spooled.size, upload.kind.content_type)
    except StorageUnavailable as error:
        current_app.logger.warning("Storage refused %s: %s", key, error.reason)
        raise StorageDown(_("The file store is not answering, so «%(name)s» was not saved. Nothing was recorded; "
                            "please try again in a few minutes.", name=upload.filename)) from None
    return Stored(upload.spooled.sha256, upload.spooled.size, upload.kind.content_type, upload.filename)


def _object_row(school_id: int, stored: Stored) -> StoredObject:
    """The row of ``stored``'s object, added unless the school has it already."""
    table = StoredObject.__table__
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(table).values(
        school_id=school_id, sha256=stored.sha256, size=stored.size, content_type=stored.content_type,
        created_at=utcnow()).on_conflict_do_nothing(index_elements=[table.c.school_id, table.c.sha256]))
    return db.session.scalar(select(StoredObject).where(StoredObject.school_id == school_id,
                                                        StoredObject.sha256 == stored.sha256))


def _end_transaction() -> None:
    """Commit what the request has read so far, so that no transaction (on SQLite, the
    database's write lock) stays open through the slow part that follows. The caller
    keeps plain values, not loaded records, across it."""
    db.session.commit()


def _add_version(actor, document: EvidenceDocument, stored: StoredObject, filename: str) -> EvidenceFile | None:
    """A new version of ``document``'s file with ``stored``'s bytes; None when these
    bytes already are one of its versions (also one added in this request)."""
    if any(version.object is stored for version in document.files):
        return None
    number = 1 + (db.session.scalar(select(func.max(EvidenceFile.version))
                                    .where(EvidenceFile.document_id == document.id)) or 0)
    version = EvidenceFile(document=document, school_id=document.school_id, object=stored, version=number,
                           filename=filename, uploaded_by_id=getattr(actor, "id", None),
                           text_status=TextStatus.PENDING)
    db.session.add(version)
    return version


# --- documents ----------------------------------------------------------------------------

def create_document(actor, school: School, data, uploads: Iterable[FileStorage] = ()) -> EvidenceDocument:
    """A new evidence document of the school's current year with ``data`` (DocumentSchema
    fields, ``criteria`` to link, ``records``) and ``uploads`` as its file (several
    files: one version each, in order). The title defaults to the first file's name.
    Raises ValidationFailed, FileTooLarge, UnsafeFile, EmptyFile or StorageDown; nothing
    is recorded then."""
    values = validated(data)
    criteria = _checked_criteria(values.pop("criteria"))
    records = _checked_records(school.id, values.pop("record_links") or [])
    uploads = [upload for upload in uploads if upload and upload.filename]
    if not values.get("title") and not uploads:
        raise ValidationFailed(_("Some fields are not valid."), fields={"title": _("Enter the title.")})
    school_id, school_year = school.id, school.school_year
    check_year_open(school_id, school_year)
    _end_transaction()
    stored = receive_and_store(school_id, uploads)
    check_year_open(school_id, school_year)
    if not values.get("title"):
        values["title"] = stored[0].filename.rsplit(".", 1)[0][:300]
    document = EvidenceDocument(school_id=school_id, school_year=school_year,
                                created_by_id=getattr(actor, "id", None), **values)
    db.session.add(document)
    db.session.flush()
    versions = [version for item in stored
                if (version := _add_version(actor, document, _object_row(school_id, item), item.filename))]
    audit.record(actor, "evidence.created", document, values=_snapshot(document),
                 files=[_file_entry(version) for version in versions], criteria=criteria)
    for code in criteria:
        _link(actor, document, code)
    set_records(actor, document, records)
    reindex(document)
    waiting = [version.id for version in versions]
    db.session.commit()
    _queue_reading(waiting)
    return document


def add_file(actor, document: EvidenceDocument, upload: FileStorage) -> tuple[EvidenceFile, bool]:
    """A new version of ``document``'s file; (the version, True). The same bytes as one of
    its versions: (that version, False), nothing added. Links that were accepted or
    rejected go back to review, since what was reviewed changed. Two new versions at
    once are numbered one after the other."""
    _check_live(document)
    if not upload or not upload.filename:
        raise ValidationFailed(_("Some fields are not valid."), fields={"file": _("Choose a file.")})
    document_id, school_id = document.id, document.school_id
    _end_transaction()
    [item] = receive_and_store(school_id, [upload])
    db.session.execute(select(EvidenceDocument.id).where(EvidenceDocument.id == document_id).with_for_update())
    db.session.refresh(document)
    _check_live(document)
    stored = _object_row(school_id, item)
    version = _add_version(actor, document, stored, item.filename)
    if version is None:
        db.session.commit()
        return next(file for file in document.files if file.object is stored), False
    reopened = _back_to_review(document)
    reindex(document)
    audit.record(actor, "evidence.file_added", document, file=_file_entry(version), back_to_review=reopened)
    waiting = [version.id]
    db.session.commit()
    _queue_reading(waiting)
    return version, True


def _back_to_review(document: EvidenceDocument) -> list[str]:
    """Put the document's reviewed links back to review (what was reviewed changed), also
    the removed ones, which come back with their review when linked again; the criteria
    whose live links went back."""
    reopened = []
    for link in document.links:
        if link.status != LinkStatus.PENDING:
            if link.removed_at is None:
                reopened.append(link.criterion)
            link.status, link.reviewed_at, link.reviewed_by_id = LinkStatus.PENDING, None, None
    return reopened


def update_document(actor, document: EvidenceDocument, changes, version: int | None = None) -> EvidenceDocument:
    """Apply ``changes`` (any DocumentSchema fields; ``criteria``, when given, becomes the
    set of linked codes). ``version``: as in app.versions.saving."""
    _check_live(document)
    values = validated(changes, partial=True)
    if "title" in values and not values["title"]:
        raise ValidationFailed(_("Some fields are not valid."), fields={"title": _("Enter the title.")})
    criteria = _checked_criteria(values.pop("criteria")) if "criteria" in values else None
    records = values.pop("record_links", None)
    records = _checked_records(document.school_id, records) if records is not None else None
    if "doc_type" in values or "url" in values:
        if values.get("doc_type", document.doc_type) == DocType.LINK and not values.get("url", document.url):
            raise ValidationFailed(_("Some fields are not valid."), fields={
                "url": _("Link evidence needs its address (http:// or https://).")})
    with saving(document, version):
        before = _snapshot(document)
        for name, value in values.items():
            setattr(document, name, value)
        after = _snapshot(document)
        diff = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
        reopened = _back_to_review(document) if diff.keys() & REVIEWED_FIELDS else []
        if criteria is not None:
            set_criteria(actor, document, criteria, commit=False)
        if records is not None:
            set_records(actor, document, records)
        if diff:
            reindex(document)
            audit.record(actor, "evidence.updated", document, changes=diff, version=document.version,
                         back_to_review=reopened)
    return document


def remove_document(actor, document: EvidenceDocument, version: int | None = None) -> None:
    """Mark ``document`` removed: it leaves lists and the score; a principal can restore it."""
    _check_live(document)
    with saving(document, version):
        document.removed_at, document.removed_by_id = utcnow(), getattr(actor, "id", None)
        db.session.flush()
        audit.record(actor, "evidence.removed", document, version=document.version)


def restore_document(actor, document: EvidenceDocument) -> None:
    if document.removed_at is None:
        raise Conflict(_("This evidence is not deleted."))
    check_year_open(document.school_id, document.school_year)
    with saving(document, None):
        document.removed_at = document.removed_by_id = None
        db.session.flush()
        audit.record(actor, "evidence.restored", document, version=document.version)


def carry_over(actor, documents: Iterable[EvidenceDocument], year: str) -> list[EvidenceDocument]:
    """Copies of ``documents`` (live ones of an earlier year) in school year ``year``, in
    the caller's transaction: the same details and current file (the same stored bytes,
    as version 1), linked to the same criteria under the new year's codes, every link
    awaiting review again. The originals stay as they are in their own year."""
    copies = []
    for original in documents:
        if original.removed_at is not None or original.school_year == year:
            continue
        check_year_open(original.school_id, year)
        # Who made it stays who made it, so they still may not review it in the new year.
        copy = EvidenceDocument(school_id=original.school_id, school_year=year, carried_from_id=original.id,
                                created_by_id=original.created_by_id,
                                **{name: getattr(original, name) for name in CARRIED_FIELDS})
        db.session.add(copy)
        db.session.flush()
        current = original.current_file
        if current is not None:
            db.session.add(EvidenceFile(document=copy, school_id=copy.school_id, object_id=current.object_id,
                                        version=1, filename=current.filename, uploaded_by_id=current.uploaded_by_id,
                                        text_status=current.text_status, text=current.text,
                                        ocr_used=current.ocr_used, found=current.found))
        for record in original.record_links:
            copy.record_links.append(EvidenceRecordLink(collection=record.collection, record_id=record.record_id))
        for link in original.live_links:
            _link(actor, copy, link.criterion).created_by_id = link.created_by_id
        db.session.flush()
        reindex(copy)
        audit.record(actor, "evidence.carried_over", copy, carried_from=original.id, year=year,
                     from_year=original.school_year, codes=copy.codes)
        copies.append(copy)
    return copies


def _check_live(document: EvidenceDocument) -> None:
    """Raise Conflict for a deleted document, Sealed for one of an approved year."""
    if document.removed_at is not None:
        raise Conflict(_("This evidence was deleted. A principal can restore it first."))
    check_year_open(document.school_id, document.school_year)


# --- links ------------------------------------------------------------------------------

def link_criterion(actor, document: EvidenceDocument, code: str) -> EvidenceLink:
    """Link ``document`` to criterion or sub-item ``code`` (its evidence code is given
    now, or given back when it was linked before); a live link is returned as it is."""
    _check_live(document)
    code = _checked_criteria([code])[0] if code and code.strip() else ""
    if not code:
        raise ValidationFailed(_("Some fields are not valid."), fields={"criterion": _("Choose a criterion.")})
    link = _link(actor, document, code)
    db.session.commit()
    return link


def unlink_criterion(actor, document: EvidenceDocument, code: str) -> None:
    _check_live(document)
    link = next((link for link in document.live_links if link.criterion == code), None)
    if link is None:
        raise NotFound(_("This evidence is not linked to %(code)s.", code=code))
    _unlink(actor, link)
    db.session.commit()


def set_criteria(actor, document: EvidenceDocument, codes: list[str], commit: bool = True) -> None:
    """Make ``codes`` (checked) the document's linked criteria."""
    for link in document.live_links:
        if link.criterion not in codes:
            _unlink(actor, link)
    for code in codes:
        _link(actor, document, code)
    if commit:
        db.session.commit()


def _link(actor, document: EvidenceDocument, code: str) -> EvidenceLink:
    link = next((link for link in document.links if link.criterion == code), None)
    if link is not None and link.removed_at is None:
        return link
    if link is None:
        target = linkable_codes(framework())[code]
        series = f"{document.school_year}/H{target.group}-{target.criterion}"
        number = take_numbers(document.school_id, series, 1)[0]
        link = EvidenceLink(document=document, school_id=document.school_id, school_year=document.school_year,
                            criterion=code, code=f"H{target.group}-{target.criterion}-{number:02d}",
                            created_by_id=getattr(actor, "id", None))
        db.session.add(link)
    else:  # linked again: its code, and its review (of the same content), come back with it
        link.removed_at, link.created_by_id = None, getattr(actor, "id", None)
    document.updated_at = utcnow()  # a new document version: a form showing the old links is stale
    db.session.flush()
    audit.record(actor, "evidence.linked", document, criterion=code, code=link.code)
    return link


def _unlink(actor, link: EvidenceLink) -> None:
    link.removed_at = link.document.updated_at = utcnow()
    db.session.flush()
    audit.record(actor, "evidence.unlinked", link.document, criterion=link.criterion, code=link.code)


def review_link(actor, document: EvidenceDocument, code: str, data) -> EvidenceLink:
    """Set the review status of ``document``'s link to ``code``: ``data`` has ``decision``
    (accepted, rejected or pending), ``comment`` (required to reject) and optionally the
    link's ``version``. Nobody reviews evidence they uploaded (SelfReview, 403)."""
    _check_live(document)
    try:
        values = schemas.ReviewSchema().load(data or {})
    except ValidationError as error:
        raise ValidationFailed(_("Some fields are not valid."), fields=flatten_messages(error.messages)) from None
    link = next((link for link in document.live_links if link.criterion == code), None)
    if link is None:
        raise NotFound(_("This evidence is not linked to %(code)s.", code=code))
    if values["decision"] == LinkStatus.REJECTED and not values["comment"]:
        raise ValidationFailed(_("Some fields are not valid."), fields={
            "comment": _("Say why it is rejected, so the uploader knows what to fix.")})
    actor_id = getattr(actor, "id", None)
    if actor_id is not None and actor_id in contributors(document, link):
        raise SelfReview(_("You uploaded or changed this evidence, so someone else must review it."))
    with saving(link, values["version"]):
        link.status, link.comment = values["decision"], values["comment"]
        link.reviewed_by_id, link.reviewed_at = actor_id, utcnow()
        db.session.flush()
        if link.status == LinkStatus.REJECTED:
            notifications.notify(
                {document.created_by_id, *(version.uploaded_by_id for version in document.files[-1:])},
                "evidence_rejected", school_id=document.school_id, actor_id=actor_id,
                url=f"/schools/{document.school_id}/evidence/{document.id}", reviewer=getattr(actor, "full_name", ""),
                code=link.code, title=document.title, comment=link.comment)
        audit.record(actor, "evidence.reviewed", document, criterion=code, code=link.code,
                     status=link.status.value, comment=link.comment, version=link.version)
    return link


def contributors(document: EvidenceDocument, link: EvidenceLink | None = None,
                 editors: Iterable[int] | None = None) -> set[int]:
    """Who made what a review of ``link`` (of any link, when None) judges, and so may not
    review it: the document's creator, each version's uploader, whoever changed its
    details, also in the years it was carried over from (``editors``, when the caller
    read them already: editors_of its lineage), and whoever made the link."""
    if editors is None:
        editors = set().union(*editors_of(lineage(document)).values())
    linkers = [link.created_by_id] if link is not None else []
    return {document.created_by_id, *(version.uploaded_by_id for version in document.files), *editors,
            *linkers} - {None}


def lineage(document: EvidenceDocument) -> list[int]:
    """The document's id and those of the documents of earlier years it was carried
    over from, newest first."""
    ids, current = [document.id], document.carried_from_id
    while current is not None and current not in ids:
        ids.append(current)
        current = db.session.scalar(select(EvidenceDocument.carried_from_id).where(EvidenceDocument.id == current))
    return ids


def editors_of(document_ids: Iterable[int]) -> dict[int, set[int]]:
    """Document id → the people who changed its details, in one query."""
    editors: dict[int, set[int]] = {}
    for document_id, actor_id in db.session.execute(select(AuditEvent.object_id, AuditEvent.actor_id).where(
            AuditEvent.object_type == "EvidenceDocument", AuditEvent.object_id.in_(list(document_ids)),
            AuditEvent.action == "evidence.updated")):
        editors.setdefault(document_id, set()).add(actor_id)
    return editors


def _snapshot(document: EvidenceDocument) -> dict:
    return {"title": document.title, "doc_type": DocType(document.doc_type).value, "number": document.number,
            "issued_on": document.issued_on.isoformat() if document.issued_on else None,
            "issuer": document.issuer, "description": document.description, "url": document.url}


def _file_entry(version: EvidenceFile) -> dict:
    return {"version": version.version, "filename": version.filename, "sha256": version.object.sha256,
            "size": version.object.size}


def _queue_reading(file_ids: list[int]) -> None:
    """Have the text of new file versions read outside the request (app.evidence.jobs);
    called after the commit, with no transaction open (on SQLite a job run at once
    writes from another connection)."""
    from app.evidence import jobs

    for file_id in file_ids:
        try:
            jobs.read_text(file_id)
        except Exception:  # the document is saved; `flask jobs requeue` (and each worker's start) sends it again
            current_app.logger.exception("Could not queue the reading of file %s", file_id)
