"""Cross-checks over a district's schools in a year: what deserves an officer's look
before evaluating. Each check reads what is stored, in a fixed number of queries.

- ``same_file``: the same file (SHA-256) in the evidence of several schools — except
  when every copy is a decision, a regulation or a link, which a district sends to all;
- ``capability_without_software``: points for a software capability while the school
  has no software in use with it (the result was sealed, then the software removed);
- ``points_without_change``: criterion points above last year's result while no
  inventory record of the school changed in between;
- ``evidence_after_submission``: evidence of a sealed year dated after its sealing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.audit.models import AuditEvent
from app.districts.services import SchoolResult, results
from app.evidence.models import DocType, EvidenceDocument, EvidenceFile, EvidenceLink
from app.extensions import db
from app.framework.loader import Framework
from app.inventory.models import Software, SoftwareCapability, SoftwareStatus
from app.inventory.services import COLLECTIONS
from app.schools.models import School
from app.schools.years import previous_school_year
from app.storage.models import StoredObject

KINDS = {
    "same_file": _l("The same file in several schools' evidence"),
    "capability_without_software": _l("Points for software the school no longer has in use"),
    "points_without_change": _l("Points up on last year with no inventory change"),
    "evidence_after_submission": _l("Evidence dated after the submission"),
}
# Documents a district or ministry sends to every school: the same file is expected.
SHARED_BY_NATURE = frozenset({DocType.DECISION, DocType.REGULATION, DocType.LINK})
# Audit actions that change what the score reads: the inventory, the school's own counts.
INVENTORY_ACTIONS = tuple(f"{name}." for name in COLLECTIONS) + ("inventory.", "school.updated")


@dataclass(frozen=True)
class Flag:
    """One finding: its ``kind`` (a KINDS key), the schools concerned and the records
    behind it (each a dict with ``type`` — evidence, criterion or item — and its fields)."""

    kind: str
    schools: tuple[School, ...]
    records: tuple[dict, ...]

    @property
    def label(self) -> str:
        return str(KINDS[self.kind])


def district_flags(schools: list[School], year: str, index: Framework) -> list[Flag]:
    """Every finding over ``schools`` (those of one district) in ``year``, by kind."""
    if not schools:
        return []
    found = results(schools, year)
    return [*same_files(schools, year), *capabilities_without_software(found, index),
            *points_without_change(schools, found, year), *evidence_after_submission(found, year)]


def same_files(schools: list[School], year: str) -> list[Flag]:
    by_id = {school.id: school for school in schools}

    def files_of_year(*columns):
        """``columns`` of the files of the schools' live documents of ``year``."""
        return (select(*columns).join(EvidenceFile, EvidenceFile.object_id == StoredObject.id)
                .join(EvidenceDocument, EvidenceDocument.id == EvidenceFile.document_id)
                .where(EvidenceFile.school_id.in_(by_id), EvidenceDocument.school_year == year,
                       EvidenceDocument.removed_at.is_(None)))
    documents = files_of_year(StoredObject.sha256, EvidenceFile.school_id, EvidenceDocument.id,
                              EvidenceDocument.title, EvidenceDocument.doc_type)
    shared = (files_of_year(StoredObject.sha256).group_by(StoredObject.sha256)
              .having(func.count(func.distinct(EvidenceFile.school_id)) > 1))
    copies: dict[str, dict[int, dict]] = {}
    for sha256, school_id, document_id, title, doc_type in db.session.execute(
            documents.where(StoredObject.sha256.in_(shared)).order_by(StoredObject.sha256, EvidenceDocument.id)):
        copies.setdefault(sha256, {}).setdefault(document_id, {
            "type": "evidence", "id": document_id, "school_id": school_id, "title": title,
            "doc_type": doc_type.value, "sha256": sha256})
    flags = []
    for records in copies.values():
        if all(DocType(record["doc_type"]) in SHARED_BY_NATURE for record in records.values()):
            continue
        school_ids = dict.fromkeys(record["school_id"] for record in records.values())
        flags.append(Flag("same_file", tuple(by_id[school_id] for school_id in school_ids), tuple(records.values())))
    return flags


def capabilities_without_software(found: list[SchoolResult], index: Framework) -> list[Flag]:
    needs: dict[str, set[str]] = {}
    for capability, codes in index.capability_items().items():
        for code in codes:
            needs.setdefault(code, set()).add(capability)
    in_use: dict[int, set[str]] = {}
    for school_id, capability in db.session.execute(
            select(Software.school_id, SoftwareCapability.capability)
            .join(SoftwareCapability, SoftwareCapability.software_id == Software.id)
            .where(Software.school_id.in_([result.school.id for result in found]),
                   Software.status == SoftwareStatus.IN_USE)):
        in_use.setdefault(school_id, set()).add(capability)
    flags = []
    for result in found:
        having = in_use.get(result.school.id, set())
        records = tuple({"type": "item", "code": item["code"], "points": item["points"],
                         "capabilities": sorted(needs[item["code"]] - having)}
                        for criterion in (result.score or {}).get("criteria", [])
                        for item in criterion.get("items", [])
                        if item.get("points") and item["code"] in needs and needs[item["code"]] - having)
        if records:
            flags.append(Flag("capability_without_software", (result.school,), records))
    return flags


def points_without_change(schools: list[School], found: list[SchoolResult], year: str) -> list[Flag]:
    before = {result.school.id: result for result in results(schools, previous_school_year(year))
              if result.sealed_at is not None}
    risen: dict[int, tuple[SchoolResult, tuple[dict, ...]]] = {}
    for result in found:
        last = before.get(result.school.id)
        if last is None or result.score is None:
            continue
        earlier = {criterion["code"]: criterion["points"] for criterion in last.criteria}
        up = tuple({"type": "criterion", "code": criterion["code"], "before": earlier[criterion["code"]],
                    "after": criterion["points"]} for criterion in result.criteria
                   if (criterion["points"] or 0) > (earlier.get(criterion["code"]) or 0)
                   and criterion["code"] in earlier)
        if up:
            risen[result.school.id] = (result, up)
    if not risen:
        return []
    now = datetime.now(UTC)
    windows = [(AuditEvent.school_id == school_id) & (AuditEvent.occurred_at > before[school_id].sealed_at)
               & (AuditEvent.occurred_at <= (result.sealed_at or now))
               for school_id, (result, _) in risen.items()]
    changed = set(db.session.scalars(
        select(AuditEvent.school_id).where(or_(*windows), or_(*(AuditEvent.action.startswith(prefix)
                                                                for prefix in INVENTORY_ACTIONS)))
        .group_by(AuditEvent.school_id)))
    return [Flag("points_without_change", (result.school,), up)
            for school_id, (result, up) in risen.items() if school_id not in changed]


def evidence_after_submission(found: list[SchoolResult], year: str) -> list[Flag]:
    sealed_on = {result.school.id: result.submitted_on() for result in found if result.sealed_at is not None}
    if not sealed_on:
        return []
    late: dict[int, dict[int, dict]] = {}
    for school_id, document_id, title, issued_on in db.session.execute(
            select(EvidenceDocument.school_id, EvidenceDocument.id, EvidenceDocument.title,
                   EvidenceDocument.issued_on)
            .join(EvidenceLink, EvidenceLink.document_id == EvidenceDocument.id)
            .where(EvidenceDocument.school_id.in_(sealed_on), EvidenceLink.school_year == year,
                   EvidenceLink.removed_at.is_(None), EvidenceDocument.removed_at.is_(None),
                   EvidenceDocument.issued_on.is_not(None))
            .order_by(EvidenceDocument.issued_on)):
        if issued_on > sealed_on[school_id]:
            late.setdefault(school_id, {})[document_id] = {
                "type": "evidence", "id": document_id, "school_id": school_id, "title": title,
                "issued_on": issued_on.isoformat(), "sealed_on": sealed_on[school_id].isoformat()}
    by_id = {result.school.id: result.school for result in found}
    return [Flag("evidence_after_submission", (by_id[school_id],), tuple(records.values()))
            for school_id, records in late.items()]
