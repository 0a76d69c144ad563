"""What an approval freezes: the snapshot of a school year, its canonical form and hash,
and the manifest written to storage beside the evidence files.

The snapshot is plain JSON (``SNAPSHOT_FORMAT``)::

    {"format", "school": {id, code, name, level, district, province, counts…},
     "year", "framework": {code, title},
     "facts": {"counts": {...}, "software": {"capability[+with]": {"names", "count"}}},
     "score": the shape of GET /score (Scorecard.to_dict()),
     "evidence": [{id, title, doc_type, number, issued_on, issuer, url, description,
                   "links": [{criterion, code, status, comment, reviewed_by, reviewed_at}],
                   "file": {id, version, filename, size, content_type, sha256, key} | null}],
     "approved_by": {id, name, email}, "approved_at",
     "audit_head": {id, entry_hash} | null (the audit trail's newest entry at approval)}

Its ``content`` (everything but who approved it and when) has a fingerprint, so an
approval can check that it seals what the principal looked at."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.audit.models import AuditEvent
from app.evidence.facts import evidence_states
from app.evidence.models import EvidenceDocument, EvidenceFile
from app.extensions import db
from app.framework.engine import Facts, Scorecard, score
from app.framework.models import group_figures
from app.framework.scores import scored
from app.framework.services import framework
from app.inventory.facts import school_facts
from app.schools.models import School
from app.storage import StorageUnavailable, object_key, storage

SNAPSHOT_FORMAT = "qd4725-seal/1"
SEALED_PREFIX = "sealed"  # storage keys of manifests: schools/{id}/sealed/{year}/{sha256}.json
MANIFEST_KEY = re.compile(rf"schools/\d+/{SEALED_PREFIX}/\d{{4}}-\d{{4}}/[0-9a-f]{{64}}\.json")


def canonical(value) -> bytes:
    """The one byte form of a JSON value that hashes are taken over: sorted keys, no
    spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_of(value) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def fingerprint(content: dict) -> str:
    """The hash of a snapshot's content (without who approved it and when)."""
    return sha256_of({key: value for key, value in content.items()
                      if key not in ("approved_by", "approved_at", "audit_head")})


def live_content(school: School, year: str, recount: bool = False) -> tuple[dict, Scorecard]:
    """The snapshot content of ``year`` at ``school`` from the database now, with the
    scorecard it holds (the live score's, or with ``recount`` counted again: what a seal
    holds never rests on the cache). Read in the caller's transaction: lock the school
    first for a consistent picture (app.assessments.services.approve)."""
    if year == school.school_year:
        index, facts, card = scored(school, recount)[:3]
    else:
        index = framework()
        facts = school_facts(school, index, evidence_states(school.id, year))
        card = score(index, facts)
    content = {
        "format": SNAPSHOT_FORMAT,
        "school": _school(school),
        "year": year,
        "framework": {"code": index.code, "title": index.title},
        "facts": {"counts": dict(facts.counts),
                  "software": {"+".join(filter(None, need)): {"names": list(names), "count":
                                                             facts.software_count.get(need, len(names))}
                               for need, names in sorted(facts.software.items(), key=lambda pair: str(pair[0]))
                               if names}},
        "score": card.to_dict(),
        "evidence": evidence_list(school.id, year),
    }
    return content, card


def evidence_list(school_id: int, year: str) -> list[dict]:
    """The year's live evidence documents, by their first code, each with its live links
    and its current file version."""
    documents = db.session.scalars(
        select(EvidenceDocument)
        .options(selectinload(EvidenceDocument.links), selectinload(EvidenceDocument.files)
                 .joinedload(EvidenceFile.object))
        .where(EvidenceDocument.school_id == school_id, EvidenceDocument.school_year == year,
               EvidenceDocument.removed_at.is_(None))).all()
    entries = [_document(document) for document in documents]
    return sorted(entries, key=lambda entry: (_code_order(entry["links"][0]["code"]) if entry["links"]
                                              else (1, ()), entry["id"]))


def _code_order(code: str) -> tuple:
    """``H1-1.3-02`` in index order: group, criterion numbers, then the number."""
    parts = code.lstrip("H").replace("-", ".").split(".")
    return (0, tuple(int(part) if part.isdigit() else 0 for part in parts))


def _document(document: EvidenceDocument) -> dict:
    current = document.current_file
    links = sorted(document.live_links, key=lambda link: _code_order(link.code))
    return {
        "id": document.id, "title": document.title, "doc_type": document.doc_type.value,
        "number": document.number, "issued_on": document.issued_on.isoformat() if document.issued_on else None,
        "issuer": document.issuer, "url": document.url, "description": document.description,
        "links": [{"criterion": link.criterion, "code": link.code, "status": link.status.value,
                   "comment": link.comment, "reviewed_by": link.reviewed_by_id,
                   "reviewed_at": _iso(link.reviewed_at)} for link in links],
        "file": None if current is None else {
            "id": current.id, "version": current.version, "filename": current.filename, "size": current.size,
            "content_type": current.content_type, "sha256": current.sha256,
            "key": object_key(document.school_id, current.sha256)},
    }


def _school(school: School) -> dict:
    return {"id": school.id, "code": school.code, "name": school.name, "level": school.level.value,
            "district": school.district.name, "province": school.province, "students": school.students,
            "teachers": school.teachers, "classes": school.classes,
            "largest_class_size": school.largest_class_size}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def manifest_key(school_id: int, year: str, sha256: str) -> str:
    return f"schools/{school_id}/{SEALED_PREFIX}/{year}/{sha256}.json"


def is_manifest_key(key: str) -> bool:
    """Whether ``key`` is a name ``manifest_key`` gives."""
    return MANIFEST_KEY.fullmatch(key) is not None


def write_manifest(snapshot: dict, sha256: str) -> str:
    """Write the snapshot with its hash to storage beside the files, and, where the
    bucket keeps objects locked (S3 Object Lock), give it and every sealed file a
    retention date ``SEAL_RETENTION_DAYS`` ahead. Returns the manifest's key. Raises
    StorageUnavailable."""
    body = canonical({"snapshot_sha256": sha256, "snapshot": snapshot})
    key = manifest_key(snapshot["school"]["id"], snapshot["year"], sha256)
    store = storage()
    store.put(key, io.BytesIO(body), len(body), "application/json")
    until = datetime.fromisoformat(snapshot["approved_at"]) + timedelta(
        days=current_app.config["SEAL_RETENTION_DAYS"])
    keys = [key, *(entry["file"]["key"] for entry in snapshot["evidence"] if entry["file"])]
    store.retain(keys, until)
    return key


def check_seal(seal) -> list[str]:
    """What no longer matches in a sealed result (``SealedResult``): its snapshot against
    its hash, the manifest in storage against both, and the audit entry it anchored
    against the audit trail. [] when all hold."""
    problems = []
    label = f"sealed result {seal.id} ({seal.school_year}, school {seal.school_id})"
    if sha256_of(seal.snapshot) != seal.sha256:
        problems.append(f"{label}: the snapshot in the database does not hash to its SHA-256")
    if seal.score != seal.snapshot.get("score") or seal.groups != group_figures(seal.snapshot.get("score")):
        problems.append(f"{label}: the score the district's pages read differs from the snapshot's")
    try:
        with storage().open(seal.manifest_key) as stream:
            manifest = json.loads(stream.read())
    except FileNotFoundError:
        problems.append(f"{label}: its manifest {seal.manifest_key} is missing from storage")
    except (StorageUnavailable, ValueError) as error:
        problems.append(f"{label}: its manifest {seal.manifest_key} cannot be read: {error}")
    else:
        if manifest != {"snapshot_sha256": seal.sha256, "snapshot": seal.snapshot}:
            problems.append(f"{label}: the manifest in storage differs from the database's seal")
    anchor = seal.snapshot.get("audit_head")
    if anchor:
        entry_hash = db.session.scalar(select(AuditEvent.entry_hash).where(AuditEvent.id == anchor["id"]))
        if entry_hash != anchor["entry_hash"]:
            problems.append(f"{label}: audit entry {anchor['id']}, the newest at approval, was "
                            f"{'removed' if entry_hash is None else 'changed'}")
    return problems


def sealed_facts(snapshot: dict) -> Facts:
    """The facts a snapshot froze, as the engine takes them: scoring them with the
    snapshot's index gives the snapshot's score (the district evaluates from them)."""
    software, software_count = {}, {}
    for key, entry in snapshot["facts"]["software"].items():
        capability, _plus, with_capability = key.partition("+")
        need = (capability, with_capability or None)
        software[need], software_count[need] = entry["names"], entry["count"]
    evidence: dict[str, str] = {}
    for document in snapshot["evidence"]:
        for link in document["links"]:
            if link["status"] == "accepted":
                evidence[link["criterion"]] = "accepted"
            elif link["status"] == "pending":
                evidence.setdefault(link["criterion"], "linked")
    return Facts(counts=snapshot["facts"]["counts"], software=software, software_count=software_count,
                 evidence=evidence)
