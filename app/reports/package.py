"""The evidence package of a school year, and its check.

The package is a ZIP streamed from storage as it is sent, never assembled in memory or
on disk. Its entries are STORED (evidence files are mostly compressed already), so its
exact size is known before the first byte and the browser shows its own progress bar.
zipstream-ng writes it (local headers with data descriptors, ZIP64 where an entry or the
archive passes 4 GB, the size computed in advance for stored entries of known sizes).

Entries::

    manifest.json                      what follows, with the SHA-256 of every entry
    snapshot.json                      the snapshot, canonical JSON: the sealed one (its hash is
                                       the seal's), or for a draft the live state and its signer
    bao-cao-tu-danh-gia.xlsx / .pdf    the self-assessment report
    danh-muc-minh-chung.xlsx / .pdf    the evidence catalogue
    minh-chung/H1-1.3-02 - <title>.<ext>   each evidence file once, under its first code
    minh-chung/chua-co-ma/<title>.<ext>    a file of the year linked to no criterion

``manifest.json`` is ``{format, school {code, name}, year, sealed, snapshot_sha256,
approved_at, approved_by, files: [{path, sha256, size, codes, evidence_id, version}],
reports: [{path, sha256, size}]}``. A package of a year not approved is a draft:
``sealed`` false, its file name ends in ``-BAN-NHAP.zip``. A sealed result's reports are
made by its first package and kept in storage beside its manifest
(``schools/{id}/sealed/{year}/{sha256}/``), so every package of it carries the same ones.

``verify_package`` checks a package: every entry against the manifest, snapshot.json
against ``snapshot_sha256``, the manifest's files against the snapshot, and the snapshot's
hash against the sealed results in the database."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from zipstream import ZIP_STORED, ZipStream

from app import audit
from app.assessments.models import Assessment, SealedResult
from app.assessments.sealing import SEALED_PREFIX, canonical
from app.assessments.services import assessment_of
from app.errors import PortalError
from app.extensions import db
from app.schools.models import School
from app.spreadsheets import XLSX_TYPE
from app.storage import Storage, StorageUnavailable, storage
from app.storage.backends import CHUNK

PACKAGE_FORMAT = "qd4725-package/1"
MANIFEST = "manifest.json"
SNAPSHOT = "snapshot.json"
EVIDENCE_FOLDER = "minh-chung"
UNCODED_FOLDER = "minh-chung/chua-co-ma"  # evidence of the year linked to no criterion
# The reports, by their names in the package: (name, the function of app.reports that makes it).
REPORTS = (("bao-cao-tu-danh-gia.xlsx", "self_assessment_xlsx"), ("bao-cao-tu-danh-gia.pdf", "self_assessment_pdf"),
           ("danh-muc-minh-chung.xlsx", "catalogue_xlsx"), ("danh-muc-minh-chung.pdf", "catalogue_pdf"))
REPORT_TYPES = {"xlsx": XLSX_TYPE, "pdf": "application/pdf"}
TITLE_CHARACTERS = 100  # of a title in an entry's name: paths stay well under Windows' 260
STAT_THREADS = 8
LIST_FROM = 50  # files of a package from which S3 objects are found by listing rather than one by one
# Characters no file name may hold on Windows, macOS or Linux (and control characters).
NOT_IN_FILENAMES = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
# A manifest or snapshot larger than this is not one the portal wrote.
JSON_LIMIT = 64 * 1024 * 1024
# A child of the app's logger ("app"), usable once the request's context is gone (files stream after it).
log = logging.getLogger(__name__)


class PackageUnavailable(PortalError):
    """The package cannot be sent: objects it needs are missing from the store, or the
    store does not answer. Checked before the first byte, since a response under way
    cannot turn into an error page."""

    status = 503
    code = "storage_unavailable"


# --- the package ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PackedFile:
    """An evidence file in the package: where it goes, the stored object it comes from,
    and what the snapshot says of it."""

    path: str
    key: str
    sha256: str
    size: int
    codes: tuple[str, ...]
    evidence_id: int
    version: int

    def manifest_entry(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "size": self.size, "codes": list(self.codes),
                "evidence_id": self.evidence_id, "version": self.version}


@dataclass
class Package:
    """A package ready to stream: iterate it for its bytes (``size`` of them in all)."""

    filename: str
    school_id: int
    year: str
    sealed: SealedResult | None
    manifest: dict
    files: list[PackedFile]
    stream: ZipStream = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.stream)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)


def package_of(school: School, year: str) -> Package:
    """The package of ``year`` at ``school``: the sealed snapshot while one is in force,
    else (the school's current year only) a draft of the live state. Every stored object
    it needs has been found, with its recorded size, before it is returned.

    Raises NotFound (another year with nothing sealed), PackageUnavailable (objects
    missing or of another size, or the store does not answer)."""
    from app.reports.services import report_source  # with the reports' machinery, loaded when first needed

    snapshot, draft = report_source(school, year)
    if draft:
        return build_package(snapshot, None, report_documents(snapshot, draft=True), storage())
    sealed = assessment_of(school, year).in_force
    return build_package(snapshot, sealed, sealed_reports(sealed), storage())


def report_documents(snapshot: dict, draft: bool) -> list[tuple[str, bytes]]:
    """The four reports of ``snapshot`` as (name in the package, bytes), each marked as a
    draft on every page when ``draft``."""
    from app import reports

    return [(name, getattr(reports, function)(snapshot, draft)) for name, function in REPORTS]


def sealed_reports(sealed: SealedResult) -> list[tuple[str, bytes]]:
    """The reports of a sealed result as (name, bytes): made by its first package and kept
    in storage beside its manifest, so every later package of it carries the very same
    files (and the same manifest) and does not wait for them to be made again. Raises
    PackageUnavailable when the store does not answer."""
    store = storage()
    try:
        return [(name, _read_object(store, _report_key(sealed, name))) for name, _function in REPORTS]
    except FileNotFoundError:
        pass  # not made yet (or not all of them)
    except StorageUnavailable as error:
        current_app.logger.warning("The store refused the reports of sealed result %s: %s", sealed.id, error.reason)
        raise PackageUnavailable() from None
    made = report_documents(sealed.snapshot, draft=False)
    try:
        for name, body in made:
            store.put(_report_key(sealed, name), io.BytesIO(body), len(body), REPORT_TYPES[name.rsplit(".", 1)[1]])
    except StorageUnavailable as error:  # the package goes out all the same; the next one makes them again
        current_app.logger.warning("Could not keep the reports of sealed result %s: %s", sealed.id, error.reason)
    return made


def _report_key(sealed: SealedResult, name: str) -> str:
    """Beside the sealed result's manifest (app.assessments.sealing.manifest_key)."""
    return f"schools/{sealed.school_id}/{SEALED_PREFIX}/{sealed.school_year}/{sealed.sha256}/{name}"


def _read_object(store: Storage, key: str) -> bytes:
    stream = store.open(key)
    try:
        return stream.read()
    finally:
        stream.close()


def build_package(snapshot: dict, sealed: SealedResult | None, reports: list[tuple[str, bytes]],
                  store: Storage) -> Package:
    """The package of ``snapshot`` (sealed by ``sealed``, or a draft when None) with
    ``reports`` as (name, bytes), its evidence read from ``store`` as it streams.

    Raises PackageUnavailable when an object is missing or not of its recorded size, or
    the store does not answer."""
    files = evidence_files(snapshot)
    _check_objects(store, files)
    snapshot_bytes = canonical(snapshot)
    snapshot_sha256 = hashlib.sha256(snapshot_bytes).hexdigest()
    if sealed is not None and sealed.sha256 != snapshot_sha256:
        current_app.logger.error("Sealed result %s no longer hashes to its sha256 %s (now %s)", sealed.id,
                                 sealed.sha256, snapshot_sha256)
        snapshot_sha256 = sealed.sha256  # the seal's hash is the one a package is checked against
    manifest = {
        "format": PACKAGE_FORMAT,
        "school": {"code": snapshot["school"]["code"], "name": snapshot["school"]["name"]},
        "year": snapshot["year"],
        "sealed": sealed is not None,
        "snapshot_sha256": snapshot_sha256,
        "approved_at": snapshot.get("approved_at") if sealed is not None else None,
        "approved_by": (snapshot.get("approved_by") or {}).get("name") if sealed is not None else None,
        "files": [packed.manifest_entry() for packed in files],
        "reports": [{"path": name, "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
                    for name, body in reports],
    }
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    stream.add(json.dumps(manifest, ensure_ascii=False, indent=2).encode(), MANIFEST)
    stream.add(snapshot_bytes, SNAPSHOT)
    for name, body in reports:
        stream.add(body, name)
    for packed in files:
        stream.add(_object_chunks(store, packed), packed.path, size=packed.size)
    return Package(package_filename(snapshot, sealed is not None), snapshot["school"]["id"], snapshot["year"],
                   sealed, manifest, files, stream)


def evidence_files(snapshot: dict) -> list[PackedFile]:
    """Every evidence file of ``snapshot`` once, named by its document's first code and
    title (documents without a file, such as web links, have none)."""
    taken: set[str] = set()
    files = []
    for entry in snapshot["evidence"]:
        stored = entry.get("file")
        if not stored:
            continue
        codes = tuple(link["code"] for link in entry["links"])
        title = safe_filename(entry["title"])
        extension = _extension(stored["filename"])
        stem = f"{EVIDENCE_FOLDER}/{codes[0]} - {title}" if codes else f"{UNCODED_FOLDER}/{title}"
        path = f"{stem}{extension}"
        if path in taken:  # two documents of one title without a code
            path = f"{stem} ({entry['id']}){extension}"
        taken.add(path)
        files.append(PackedFile(path, stored["key"], stored["sha256"], stored["size"], codes, entry["id"],
                                stored["version"]))
    return files


def safe_filename(text: str, limit: int = TITLE_CHARACTERS) -> str:
    """``text`` as a file name on any system: NFC (Vietnamese letters kept as one
    character each), without the characters file systems refuse, spaces collapsed, at
    most ``limit`` characters, no trailing dot or space."""
    text = NOT_IN_FILENAMES.sub(" ", unicodedata.normalize("NFC", text or ""))
    text = " ".join(text.split())[:limit].rstrip(" .")
    return text or "minh-chung"


def _extension(filename: str) -> str:
    extension = os.path.splitext(filename or "")[1].lower()
    return extension if re.fullmatch(r"\.[a-z0-9]{1,10}", extension) else ""


def package_filename(snapshot: dict, sealed: bool) -> str:
    """``CVA-2025-2026-goi-minh-chung.zip``; a draft's ends in ``-BAN-NHAP.zip``."""
    code = safe_filename(snapshot["school"]["code"]).replace(" ", "-")
    return f"{code}-{snapshot['year']}-goi-minh-chung{'' if sealed else '-BAN-NHAP'}.zip"


def _check_objects(store: Storage, files: list[PackedFile]) -> None:
    """Raise PackageUnavailable unless every file's object is in ``store`` with the size
    the snapshot records."""
    try:
        sizes = _stored_sizes(store, {packed.key for packed in files})
    except StorageUnavailable as error:
        current_app.logger.warning("The store refused a package's checks: %s", error.reason)
        raise PackageUnavailable() from None
    wrong = [packed for packed in files if sizes.get(packed.key) != packed.size]
    if wrong:
        for packed in wrong:
            current_app.logger.error("Object %s of evidence %s (%s) is missing or not of its recorded size",
                                     packed.key, packed.evidence_id, packed.path)
        names = ", ".join(packed.path.rsplit("/", 1)[-1] for packed in wrong[:3])
        raise PackageUnavailable(_(
            "The package cannot be made: %(count)d of its files are missing from the file store or damaged "
            "(%(names)s). Nothing was downloaded. Tell the administrator, who can restore them from a backup.",
            count=len(wrong), names=names + ("…" if len(wrong) > 3 else "")))


def _stored_sizes(store: Storage, keys: set[str]) -> dict[str, int | None]:
    """Key → size in ``store`` (None: missing) of each of ``keys``. On S3 many keys are
    found by listing their folders (a request per 1,000 objects rather than one each);
    the rest, and every key on a local disk, by a stat each, a few at a time."""
    sizes: dict[str, int | None] = {}
    if store.name == "s3" and len(keys) >= LIST_FROM:
        for folder in {key.rsplit("/", 2)[0] + "/" for key in keys if key.count("/") >= 2}:
            sizes.update((info.key, info.size) for info in store.keys(folder) if info.key in keys)
    unseen = sorted(keys - sizes.keys())  # also what a lagging listing left out
    if unseen:
        with ThreadPoolExecutor(max_workers=min(STAT_THREADS, len(unseen))) as pool:
            for key, info in zip(unseen, pool.map(store.stat, unseen), strict=True):
                sizes[key] = None if info is None else info.size
    return sizes


def _object_chunks(store: Storage, packed: PackedFile) -> Iterator[bytes]:
    """The object's bytes in blocks of CHUNK, read when the ZIP reaches it."""
    try:
        stream = store.open(packed.key)
    except (FileNotFoundError, StorageUnavailable):
        # Too late for an error page: the download stops short of its Content-Length, which
        # the browser reports as failed.
        log.error("Object %s vanished while its package was sent", packed.key)
        raise
    try:
        while chunk := stream.read(CHUNK):
            yield chunk
    finally:
        stream.close()


def record_download(actor, package: Package) -> None:
    """Audit the download of a sealed package (``package.downloaded``) and commit; a
    draft's download is not recorded."""
    if package.sealed is None:
        return
    audit.record(actor, "package.downloaded", package.sealed, school_id=package.school_id, year=package.year,
                 sealed_sha256=package.sealed.sha256, size=package.size, files=len(package.files))
    db.session.commit()


# --- the check ---------------------------------------------------------------------------------

CHANGED, MISSING, ADDED, DISAGREES = KINDS = ("changed", "missing", "added", "disagrees")

NOT_A_ZIP = _l("This file is not a ZIP file, or it is incomplete (a download that stopped early). "
               "Choose the evidence package as it was downloaded.")
NO_MANIFEST = _l("This ZIP has no manifest.json: it is not an evidence package of the portal.")
BAD_MANIFEST = _l("The manifest.json of this ZIP is not a package manifest: it cannot be checked.")
TOO_EXPANDED = _l("This ZIP unpacks to far more than its own size: it is not an evidence package of the portal.")


@dataclass(frozen=True)
class Problem:
    """A difference between the package and its manifest: a ``changed`` entry (hash or
    size differs; ``note`` "crc" or "unreadable" when its bytes could not all be read), a
    ``missing`` one (listed, not in the ZIP), an ``added`` one (in the ZIP, not listed),
    or a manifest entry that ``disagrees`` with snapshot.json (``note`` "unlisted": a file
    of the snapshot the manifest leaves out)."""

    kind: str
    path: str
    expected_sha256: str | None = None
    expected_size: int | None = None
    found_sha256: str | None = None
    found_size: int | None = None
    note: str = ""


@dataclass(frozen=True)
class SealMatch:
    """The approval whose sealed snapshot has the package's hash."""

    school_code: str
    school_name: str
    year: str
    approved_at: str
    approved_by: str
    in_force: bool  # False when the year was reopened since (or approved again)

    @property
    def approved_moment(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.approved_at)
        except (TypeError, ValueError):
            return None


@dataclass
class Verdict:
    """What ``verify_package`` found. ``error``: the file is not a package at all (then
    nothing else was checked)."""

    error: str | None = None
    manifest: dict = field(default_factory=dict)
    checked: int = 0  # entries whose bytes match the manifest
    problems: list[Problem] = field(default_factory=list)
    snapshot_present: bool = False
    snapshot_intact: bool = False  # snapshot.json hashes to the manifest's snapshot_sha256
    seal: SealMatch | None = None
    seal_lookup_failed: bool = False

    @property
    def sealed(self) -> bool:
        return self.manifest.get("sealed") is True

    @property
    def snapshot_sha256(self) -> str:
        return str(self.manifest.get("snapshot_sha256") or "")

    @property
    def ok(self) -> bool:
        """Intact: every entry as listed, the snapshot as hashed, and, for a sealed
        package, an approval in the database with that snapshot."""
        return (self.error is None and not self.problems and self.snapshot_intact
                and (not self.sealed or self.seal is not None))


def verify_package(fileobj: BinaryIO) -> Verdict:
    """Check the package in ``fileobj`` (seekable, read from its start): hash every entry
    (streamed, one block in memory at a time) against manifest.json; snapshot.json against
    its ``snapshot_sha256``; the manifest's files against snapshot.json; and look that hash
    up among the sealed results. Never raises for a bad file: the Verdict says what is wrong."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return Verdict(error=str(NOT_A_ZIP))
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        fileobj.seek(0, os.SEEK_END)
        if sum(info.file_size for info in entries) > 10 * fileobj.tell() + JSON_LIMIT:
            return Verdict(error=str(TOO_EXPANDED))
        names = [info.filename for info in entries]
        if MANIFEST not in names:
            return Verdict(error=str(NO_MANIFEST))
        manifest = _read_json(archive, archive.getinfo(MANIFEST))
        if not _is_manifest(manifest):
            return Verdict(error=str(BAD_MANIFEST))
        verdict = Verdict(manifest=manifest)
        listed = {entry["path"]: entry for entry in (*manifest["files"], *manifest["reports"])}
        seen: set[str] = set()
        for info in entries:
            name = info.filename
            if name == MANIFEST and name not in seen:
                seen.add(name)
                continue
            found_sha256, found_size, note = _hash_entry(archive, info)
            if name == SNAPSHOT and name not in seen:
                verdict.snapshot_present = True
                verdict.snapshot_intact = found_sha256 == verdict.snapshot_sha256
            elif name not in listed or name in seen:
                verdict.problems.append(Problem(ADDED, name, found_sha256=found_sha256, found_size=found_size))
            elif found_sha256 == listed[name]["sha256"] and found_size == listed[name]["size"]:
                verdict.checked += 1
            else:
                verdict.problems.append(Problem(CHANGED, name, listed[name]["sha256"], listed[name]["size"],
                                                found_sha256, found_size, note))
            seen.add(name)
        verdict.problems += [Problem(MISSING, path, entry["sha256"], entry["size"])
                             for path, entry in listed.items() if path not in seen]
        if verdict.snapshot_intact:
            verdict.problems += _disagreements(manifest, _read_json(archive, archive.getinfo(SNAPSHOT)))
    verdict.problems.sort(key=lambda problem: KINDS.index(problem.kind))  # stable: the ZIP's order within a kind
    _find_seal(verdict)
    return verdict


def _read_json(archive: zipfile.ZipFile, info: zipfile.ZipInfo):
    """The JSON value of an entry, or None (too large, unreadable, not JSON)."""
    if info.file_size > JSON_LIMIT:
        return None
    try:
        with archive.open(info) as entry:
            return json.loads(entry.read(JSON_LIMIT + 1))
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError):
        return None


def _is_manifest(manifest) -> bool:
    def entry_ok(entry, *extra: str) -> bool:
        return (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("sha256"), str) and isinstance(entry.get("size"), int)
                and all(name in entry for name in extra))

    return (isinstance(manifest, dict) and isinstance(manifest.get("snapshot_sha256"), str)
            and isinstance(manifest.get("files"), list) and isinstance(manifest.get("reports"), list)
            and all(entry_ok(entry, "evidence_id") for entry in manifest["files"])
            and all(entry_ok(entry) for entry in manifest["reports"]))


def _hash_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str | None, int, str]:
    """(SHA-256, size, note) of an entry's bytes read in blocks; the hash is None when
    they cannot all be read (the note says why: the ZIP's CRC-32 does not match them, or
    the entry is damaged or encrypted)."""
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(info) as entry:
            while block := entry.read(CHUNK):
                digest.update(block)
                size += len(block)
    except zipfile.BadZipFile as error:
        return None, size, "crc" if "CRC" in str(error) else "unreadable"
    except (zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError):
        return None, size, "unreadable"
    return digest.hexdigest(), size, ""


def _disagreements(manifest: dict, snapshot) -> list[Problem]:
    """The manifest's evidence files that differ from what the (intact) snapshot holds,
    and the snapshot's files the manifest leaves out."""
    try:
        expected = {packed.evidence_id: packed for packed in evidence_files(snapshot)}
    except (KeyError, TypeError, IndexError, AttributeError):
        return [Problem(DISAGREES, SNAPSHOT, note="unreadable")]
    problems = []
    for entry in manifest["files"]:
        packed = expected.pop(entry["evidence_id"], None)
        if packed is None or (packed.sha256, packed.size, packed.version) != (
                entry["sha256"], entry["size"], entry.get("version")):
            problems.append(Problem(DISAGREES, entry["path"], packed and packed.sha256, packed and packed.size,
                                    entry["sha256"], entry["size"]))
    problems += [Problem(DISAGREES, packed.path, packed.sha256, packed.size, note="unlisted")
                 for packed in expected.values()]
    return problems


def _find_seal(verdict: Verdict) -> None:
    """Fill ``verdict.seal`` with the approval whose snapshot has the package's hash."""
    if not verdict.snapshot_sha256:
        return
    try:
        found = db.session.execute(
            select(SealedResult, School, Assessment.sealed_id, Assessment.status)
            .join(School, School.id == SealedResult.school_id)
            .join(Assessment, Assessment.id == SealedResult.assessment_id)
            .where(SealedResult.sha256 == verdict.snapshot_sha256).order_by(SealedResult.id).limit(1)).first()
    except SQLAlchemyError:
        current_app.logger.exception("Could not look up a package's seal")
        db.session.rollback()
        verdict.seal_lookup_failed = True
        return
    if found is not None:
        seal, school, in_force_id, status = found
        verdict.seal = SealMatch(school.code, school.name, seal.school_year, seal.snapshot.get("approved_at", ""),
                                 (seal.snapshot.get("approved_by") or {}).get("name", ""),
                                 in_force_id == seal.id and status.sealed)
