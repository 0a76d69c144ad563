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

``verify_package`` checks a package. manifest.json is not signed, so when snapshot.json
hashes to a sealed result in the database, that approval is the truth every entry and
every field of the manifest is checked against (the reports against those kept in
storage); a package of no approval can only be checked for its internal consistency, and
its verdict says so."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import struct
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
        **manifest_header(snapshot, sealed is not None, snapshot_sha256),
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


def manifest_header(snapshot: dict, sealed: bool, snapshot_sha256: str) -> dict:
    """What a package's manifest says of its snapshot, before its lists of files."""
    return {
        "school": {"code": snapshot["school"]["code"], "name": snapshot["school"]["name"]},
        "year": snapshot["year"],
        "sealed": sealed,
        "snapshot_sha256": snapshot_sha256,
        "approved_at": snapshot.get("approved_at") if sealed else None,
        "approved_by": (snapshot.get("approved_by") or {}).get("name") if sealed else None,
    }


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

MIB = 1024 * 1024
# What the check reads at most, far above the largest real package (500 documents), so that a
# crafted ZIP is refused before it costs time or memory.
MAX_ENTRIES = 20_000  # entries of the ZIP, and files its manifest lists: a package has one per evidence file
MANIFEST_LIMIT = 4 * MIB  # 500 files with the longest titles and 30 codes each: 0.5 MB
SNAPSHOT_LIMIT = 16 * MIB  # 500 documents with 5,000-character descriptions, five commented reviews each: 6 MB
# Values in either, counted by their separators before parsing (commas in text count too: that
# snapshot has 121,000), so that parsing takes at most some 40 MB whatever the JSON holds.
JSON_VALUES = 500_000
LISTED_PROBLEMS = 200  # differences a verdict lists; the rest are only counted
LARGEST_SIZE = 2**63
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# What the manifest says of its snapshot, field by field (manifest_header), compared with the
# approval's snapshot; a draft's manifest is compared with its own snapshot on the first three.
HEADER_FIELDS = ("school.code", "school.name", "year", "sealed", "snapshot_sha256", "approved_at", "approved_by")
DRAFT_HEADER_FIELDS = HEADER_FIELDS[:3]

NOT_A_ZIP = _l("This file is not a ZIP file, or it is incomplete (a download that stopped early). "
               "Choose the evidence package as it was downloaded.")
NO_MANIFEST = _l("This ZIP has no manifest.json: it is not an evidence package of the portal.")
BAD_MANIFEST = _l("The manifest.json of this ZIP is not a package manifest: it cannot be checked.")
TOO_EXPANDED = _l("This ZIP unpacks to far more than its own size: it is not an evidence package of the portal.")


@dataclass(frozen=True)
class Problem:
    """A difference found by the check: a ``changed`` entry (hash or size differs from
    what was expected; ``note`` "crc" or "unreadable" when its bytes could not all be
    read), a ``missing`` one (expected, not in the ZIP), an ``added`` one (in the ZIP, not
    expected), or something the manifest says that ``disagrees`` with the snapshot (the
    approval's, or for a package of no approval its own): ``field`` names what differs
    ("school.name", "path,sha256"…, with ``expected_text``/``found_text`` for the
    manifest's own fields and a moved file's path); ``note`` "unlisted" (a file of the
    snapshot the manifest leaves out), "unknown" (listed, not in the snapshot) or
    "unreadable" (snapshot.json is not a snapshot)."""

    kind: str
    path: str
    expected_sha256: str | None = None
    expected_size: int | None = None
    found_sha256: str | None = None
    found_size: int | None = None
    note: str = ""
    field: str = ""
    expected_text: str | None = None
    found_text: str | None = None


@dataclass(frozen=True)
class SealMatch:
    """The approval whose sealed snapshot has the package's hash: its school as the
    database names it now, its year, who approved it and when."""

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
    """What ``verify_package`` found. ``error``: the file is not a package at all, or is
    refused by the check's bounds (then nothing else was checked)."""

    error: str | None = None
    manifest: dict = field(default_factory=dict)
    checked: int = 0  # entries whose bytes are as expected
    problems: list[Problem] = field(default_factory=list)  # the first LISTED_PROBLEMS, changed files first
    problem_count: int = 0  # all of them
    snapshot_present: bool = False
    snapshot_intact: bool = False  # snapshot.json hashes to an approval's snapshot, or else to snapshot_sha256
    seal: SealMatch | None = None
    seal_lookup_failed: bool = False
    reports_unchecked: tuple[str, ...] = ()  # reports of the approval the portal does not keep (or could not read)
    reports_store_failed: bool = False  # the store did not answer

    @property
    def sealed(self) -> bool:
        """What the manifest says: true only for a package made from an approval."""
        return self.manifest.get("sealed") is True

    @property
    def snapshot_sha256(self) -> str:
        return str(self.manifest.get("snapshot_sha256") or "")

    @property
    def more_problems(self) -> int:
        return self.problem_count - len(self.problems)

    @property
    def snapshot_untrusted(self) -> bool:
        """snapshot.json is missing or changed, or the manifest says sealed and no approval has it."""
        return not self.snapshot_intact or (self.sealed and self.seal is None and not self.seal_lookup_failed)

    @property
    def internal_only(self) -> bool:
        """No approval in the database has the package's snapshot (a draft, a package of
        another portal, or one whose snapshot was changed): only the package's internal
        consistency was checked, and nothing proves it is an approved one."""
        return self.error is None and self.seal is None

    @property
    def ok(self) -> bool:
        """Intact and proven: no difference, and every entry and the manifest checked
        against an approval recorded in the database, its reports included."""
        return (self.error is None and self.problem_count == 0 and self.snapshot_intact and self.seal is not None
                and not self.reports_unchecked)


def verify_package(fileobj: BinaryIO) -> Verdict:
    """Check the package in ``fileobj`` (seekable, read from its start), every entry
    hashed as it streams, one block in memory at a time.

    When snapshot.json hashes to a sealed result in the database, that approval is the
    truth: its school and year, each evidence file's path, hash and size (as
    ``evidence_files`` names them), and the reports kept in storage beside it. Every entry
    is checked against it, and whatever the manifest says otherwise is a difference. Else
    only the package's internal consistency can be checked: each entry against
    manifest.json, snapshot.json against its ``snapshot_sha256``, the manifest against
    snapshot.json; ``Verdict.internal_only`` says so.

    A ZIP beyond the check's bounds (MAX_ENTRIES, MANIFEST_LIMIT, SNAPSHOT_LIMIT) is refused
    before its entries are read. Never raises for a bad file: the Verdict says what is wrong."""
    count = _entry_count(fileobj)
    if count is None:
        return Verdict(error=str(NOT_A_ZIP))
    if count > MAX_ENTRIES:
        return Verdict(error=_("This ZIP holds more than %(count)d files, more than any evidence package of the "
                               "portal: it was not checked.", count=MAX_ENTRIES))
    fileobj.seek(0, os.SEEK_END)
    package_size = fileobj.tell()
    fileobj.seek(0)
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return Verdict(error=str(NOT_A_ZIP))
    with archive:
        return _check(archive, package_size)


def _entry_count(fileobj: BinaryIO) -> int | None:
    """The entries of the ZIP's central directory, counted (up to MAX_ENTRIES + 1) where
    zipfile.ZipFile would read them but without making an object of each; None when the
    file is not a ZIP."""
    try:
        end = zipfile._EndRecData(fileobj)
        if not end:
            return None
        if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ENTRIES:
            return end[zipfile._ECD_ENTRIES_TOTAL]
        size = end[zipfile._ECD_SIZE]
        start = end[zipfile._ECD_LOCATION] - size
        if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
            start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
        if start < 0:
            return None
        fileobj.seek(start)
        count = read = 0
        while read < size and count <= MAX_ENTRIES:
            record = fileobj.read(zipfile.sizeCentralDir)
            if len(record) != zipfile.sizeCentralDir or record[:4] != zipfile.stringCentralDir:
                return None
            variable = sum(struct.unpack("<3H", record[28:34]))  # name, extra field, comment
            fileobj.seek(variable, os.SEEK_CUR)
            read += zipfile.sizeCentralDir + variable
            count += 1
        return count
    except (OSError, ValueError, struct.error, EOFError):
        return None
    finally:
        fileobj.seek(0)


def _check(archive: zipfile.ZipFile, package_size: int) -> Verdict:
    entries = [info for info in archive.infolist() if not info.is_dir()]
    if sum(info.file_size for info in entries) > 10 * package_size + MANIFEST_LIMIT + SNAPSHOT_LIMIT:
        return Verdict(error=str(TOO_EXPANDED))
    first: dict[str, zipfile.ZipInfo] = {}
    for info in entries:
        first.setdefault(info.filename, info)
    if MANIFEST not in first:
        return Verdict(error=str(NO_MANIFEST))
    for name, limit in ((MANIFEST, MANIFEST_LIMIT), (SNAPSHOT, SNAPSHOT_LIMIT)):
        if name in first and first[name].file_size > limit:
            return Verdict(error=_("The %(name)s of this ZIP is larger than %(mb)d MB, more than the portal ever "
                                   "writes: it is not an evidence package of the portal.", name=name,
                                   mb=limit // MIB))
    manifest = _read_json(archive, first[MANIFEST], MANIFEST_LIMIT)
    if not _is_manifest(manifest):
        return Verdict(error=str(BAD_MANIFEST))
    verdict = Verdict(manifest=manifest)
    snapshot_info = first.get(SNAPSHOT)
    sealed = None
    if snapshot_info is not None:
        verdict.snapshot_present = True
        snapshot_sha256 = _hash_entry(archive, snapshot_info)[0]
        sealed = _find_seal(verdict, snapshot_sha256) if snapshot_sha256 else None
        verdict.snapshot_intact = sealed is not None or snapshot_sha256 == manifest["snapshot_sha256"]
    if sealed is not None:
        expected, problems = _against_approval(verdict, sealed)
    else:
        expected, problems = _against_itself(verdict, archive, snapshot_info)
    seen: set[str] = set()
    for info in entries:
        if info is first[MANIFEST] or info is snapshot_info:
            continue
        name = info.filename
        found_sha256, found_size, note = _hash_entry(archive, info)
        if name not in expected or name in seen:
            problems.append(Problem(ADDED, name, found_sha256=found_sha256, found_size=found_size))
        elif (found_sha256, found_size) == expected[name]:
            verdict.checked += 1
        else:
            problems.append(Problem(CHANGED, name, *expected[name], found_sha256, found_size, note))
        seen.add(name)
    problems += [Problem(MISSING, path, sha256, size) for path, (sha256, size) in expected.items()
                 if path not in seen]
    problems.sort(key=lambda problem: KINDS.index(problem.kind))  # stable: the ZIP's order within a kind
    verdict.problem_count = len(problems)
    verdict.problems = problems[:LISTED_PROBLEMS]
    return verdict


Expected = dict[str, tuple[str, int]]  # path in the package → (SHA-256, size) its bytes should have


def _against_approval(verdict: Verdict, sealed: SealedResult) -> tuple[Expected, list[Problem]]:
    """What each entry of a package of ``sealed`` should be, from the database and the
    reports kept in storage (a report the portal does not keep is checked against the
    manifest alone, and named in ``verdict.reports_unchecked``); and what the manifest
    says otherwise."""
    manifest = verdict.manifest
    truth = evidence_files(sealed.snapshot)
    kept = _kept_reports(verdict, sealed)
    expected = {packed.path: (packed.sha256, packed.size) for packed in truth}
    listed = {entry["path"]: (entry["sha256"], entry["size"]) for entry in manifest["reports"]}
    for name, _function in REPORTS:
        if name in kept or name in listed:
            expected[name] = kept.get(name) or listed[name]
    problems = _header_differences(manifest, manifest_header(sealed.snapshot, True, sealed.sha256), HEADER_FIELDS)
    problems += _file_differences(manifest["files"], truth)
    problems += _report_differences(manifest["reports"], kept)
    return expected, problems


def _against_itself(verdict: Verdict, archive: zipfile.ZipFile,
                    snapshot_info: zipfile.ZipInfo | None) -> tuple[Expected, list[Problem]]:
    """What each entry should be by the manifest alone, and where the manifest disagrees
    with the package's own snapshot.json (when that is intact)."""
    manifest = verdict.manifest
    expected = {entry["path"]: (entry["sha256"], entry["size"]) for entry in (*manifest["files"], *manifest["reports"])}
    if not verdict.snapshot_intact:
        return expected, []
    own = _package_snapshot(_read_json(archive, snapshot_info, SNAPSHOT_LIMIT))
    if own is None:
        return expected, [Problem(DISAGREES, SNAPSHOT, note="unreadable")]
    header, files = own
    return expected, _header_differences(manifest, header, DRAFT_HEADER_FIELDS) + _file_differences(
        manifest["files"], files)


def _package_snapshot(snapshot) -> tuple[dict, list[PackedFile]] | None:
    """(the manifest header, the evidence files) a package of ``snapshot`` would have, or
    None when it is not a snapshot of the shape the portal writes."""
    try:
        header = manifest_header(snapshot, False, "")
        files = evidence_files(snapshot)
    except (KeyError, TypeError, IndexError, AttributeError, ValueError):
        return None
    texts_ok = all(_is_text(value, 300) for value in (header["year"], *header["school"].values()))
    files_ok = all(_is_whole(packed.evidence_id) and _is_sha256(packed.sha256) and _is_whole(packed.size)
                   and _is_whole(packed.version) and all(_is_text(code, 40) for code in packed.codes)
                   for packed in files)
    return (header, files) if texts_ok and files_ok else None


def _header_differences(manifest: dict, header: dict, fields: tuple[str, ...]) -> list[Problem]:
    """The manifest's ``fields`` ("school.name"…) that differ from ``header``."""
    def value(source: dict, name: str):
        for part in name.split("."):
            source = source.get(part) if isinstance(source, dict) else None
        return source

    return [Problem(DISAGREES, MANIFEST, field=name, expected_text=_shown(value(header, name)),
                    found_text=_shown(value(manifest, name)))
            for name in fields if value(header, name) != value(manifest, name)]


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _file_differences(entries: list[dict], truth: list[PackedFile]) -> list[Problem]:
    """The manifest's evidence files that differ from ``truth`` (its path, hash, size,
    version or codes: ``field`` names which), or that it does not hold; and the files of
    ``truth`` the manifest leaves out."""
    expected = {packed.evidence_id: packed for packed in truth}
    problems = []
    for entry in entries:
        packed = expected.pop(entry["evidence_id"], None)
        if packed is None:
            problems.append(Problem(DISAGREES, entry["path"], found_sha256=entry["sha256"], found_size=entry["size"],
                                    note="unknown"))
            continue
        differing = [name for name, want, have in (
            ("path", packed.path, entry["path"]), ("sha256", packed.sha256, entry["sha256"]),
            ("size", packed.size, entry["size"]), ("version", packed.version, entry["version"]),
            ("codes", list(packed.codes), entry["codes"])) if want != have]
        if differing:
            problems.append(Problem(DISAGREES, entry["path"], packed.sha256, packed.size, entry["sha256"],
                                    entry["size"], field=",".join(differing),
                                    expected_text=packed.path if "path" in differing else None))
    problems += [Problem(DISAGREES, packed.path, packed.sha256, packed.size, note="unlisted")
                 for packed in expected.values()]
    return problems


def _report_differences(entries: list[dict], kept: Expected) -> list[Problem]:
    """The manifest's reports that differ from those kept with the approval, that are no
    report of a package, or are listed twice; and the kept ones it leaves out."""
    names = {name for name, _function in REPORTS}
    problems, listed = [], set()
    for entry in entries:
        path, found = entry["path"], (entry["sha256"], entry["size"])
        if path not in names or path in listed:
            problems.append(Problem(DISAGREES, path, found_sha256=found[0], found_size=found[1], note="unknown"))
        elif path in kept and kept[path] != found:
            problems.append(Problem(DISAGREES, path, *kept[path], *found, field="sha256,size"))
        listed.add(path)
    problems += [Problem(DISAGREES, name, *kept[name], note="unlisted") for name in kept if name not in listed]
    return problems


def _kept_reports(verdict: Verdict, sealed: SealedResult) -> Expected:
    """Name → (SHA-256, size) of the reports of ``sealed`` kept in storage (sealed_reports);
    those not kept, or all when the store does not answer, go to ``verdict.reports_unchecked``."""
    store, kept = storage(), {}
    for name, _function in REPORTS:
        try:
            stream = store.open(_report_key(sealed, name))
        except FileNotFoundError:
            continue
        except (StorageUnavailable, OSError) as error:
            current_app.logger.warning("Could not read the reports of sealed result %s: %s", sealed.id,
                                       getattr(error, "reason", error))
            verdict.reports_store_failed, kept = True, {}
            break
        try:
            digest, size = hashlib.sha256(), 0
            while block := stream.read(CHUNK):
                digest.update(block)
                size += len(block)
            kept[name] = (digest.hexdigest(), size)
        finally:
            stream.close()
    verdict.reports_unchecked = tuple(name for name, _function in REPORTS if name not in kept)
    return kept


def _read_json(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int):
    """The JSON value of an entry, or None: larger than ``limit`` bytes, holding more than
    JSON_VALUES values, unreadable, or not JSON."""
    if info.file_size > limit:
        return None
    try:
        with archive.open(info) as entry:
            data = entry.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError):
        return None
    if len(data) > limit or sum(data.count(mark) for mark in (b",", b"[", b"{")) > JSON_VALUES:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _is_manifest(manifest) -> bool:
    """Whether ``manifest`` has the shape build_package writes, each value of its type and
    within its bounds (a whole number that is no bool, a size no larger than 2**63, a hash
    of 64 hex digits…): anything else is not checked further."""
    def entry_ok(entry) -> bool:
        return (isinstance(entry, dict) and _is_text(entry.get("path"), 1000) and entry["path"] != ""
                and _is_sha256(entry.get("sha256")) and _is_whole(entry.get("size")))

    def file_ok(entry) -> bool:
        codes = entry.get("codes")
        return (entry_ok(entry) and _is_whole(entry.get("evidence_id")) and _is_whole(entry.get("version"))
                and isinstance(codes, list) and len(codes) <= 100 and all(_is_text(code, 40) for code in codes))

    if not isinstance(manifest, dict):
        return False
    school, files, reports = manifest.get("school"), manifest.get("files"), manifest.get("reports")
    return (manifest.get("format") == PACKAGE_FORMAT and _is_sha256(manifest.get("snapshot_sha256"))
            and isinstance(manifest.get("sealed"), bool) and _is_text(manifest.get("year"), 300)
            and isinstance(school, dict) and _is_text(school.get("code"), 300) and _is_text(school.get("name"), 300)
            and all(value is None or _is_text(value, 300)
                    for value in (manifest.get("approved_at"), manifest.get("approved_by")))
            and isinstance(files, list) and isinstance(reports, list) and len(files) + len(reports) <= MAX_ENTRIES
            and all(file_ok(entry) for entry in files) and all(entry_ok(entry) for entry in reports))


def _is_text(value, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= LARGEST_SIZE


def _is_sha256(value) -> bool:
    return isinstance(value, str) and SHA256_HEX.fullmatch(value) is not None


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


def _find_seal(verdict: Verdict, snapshot_sha256: str) -> SealedResult | None:
    """The sealed result whose snapshot has ``snapshot_sha256``, also described in
    ``verdict.seal``; None when there is none (or the database could not be read:
    ``verdict.seal_lookup_failed``)."""
    try:
        found = db.session.execute(
            select(SealedResult, School, Assessment.sealed_id, Assessment.status)
            .join(School, School.id == SealedResult.school_id)
            .join(Assessment, Assessment.id == SealedResult.assessment_id)
            .where(SealedResult.sha256 == snapshot_sha256).order_by(SealedResult.id).limit(1)).first()
    except SQLAlchemyError:
        current_app.logger.exception("Could not look up a package's seal")
        db.session.rollback()
        verdict.seal_lookup_failed = True
        return None
    if found is None:
        return None
    sealed, school, in_force_id, status = found
    verdict.seal = SealMatch(school.code, school.name, sealed.school_year, sealed.snapshot.get("approved_at", ""),
                             (sealed.snapshot.get("approved_by") or {}).get("name", ""),
                             in_force_id == sealed.id and status.sealed)
    return sealed
