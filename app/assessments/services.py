"""The yearly process of a school's self-assessment (framework-4725.md, "The yearly
process"): every change of state goes through ``transition``, which checks it against
``TRANSITIONS``, records who, when and why, writes the audit entry, and on approval
seals the year. What blocks an approval and what the principal should see first are
worked out here too, as is what changed since the last approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app import audit, notifications
from app.accounts.models import Role, User
from app.assessments.models import Assessment, AssessmentStatus, Evaluation, SealedResult
from app.assessments.sealing import (
    canonical,
    fingerprint,
    live_content,
    sealed_facts,
    sha256_of,
    write_manifest,
)
from app.audit import chain
from app.audit.models import AuditEvent
from app.errors import Conflict, NotFound, PortalError, ValidationFailed
from app.evidence.models import DocType, EvidenceDocument, EvidenceLink, LinkStatus
from app.evidence.services import StorageDown, carry_over, contributors, editors_of
from app.extensions import db, utcnow
from app.framework.engine import Adjustment, AdjustmentError, Scorecard, score
from app.framework.scores import live_scorecard
from app.framework.services import framework
from app.schools.models import School
from app.schools.services import start_next_year
from app.storage import StorageUnavailable
from app.text import clean
from app.versions import StaleRecord, changes_since

S = AssessmentStatus
MAX_REASON = 2000
CHANGES_SHOWN = 50


@dataclass(frozen=True)
class Transition:
    """``action`` moves an assessment from one of ``sources`` to ``target``; only
    ``roles`` may take it; ``needs_reason``: it must say why."""

    action: str
    sources: frozenset[AssessmentStatus]
    target: AssessmentStatus
    roles: frozenset[Role]
    label: str
    needs_reason: bool = False
    current_year_only: bool = True  # the school's own steps; the district judges a sealed year whenever


# The states and what each role may do. The tests walk this table.
TRANSITIONS = {step.action: step for step in (
    Transition("start_review", frozenset({S.DRAFT}), S.IN_REVIEW,
               frozenset({Role.STAFF, Role.REVIEWER, Role.PRINCIPAL}), _l("Start the review")),
    Transition("submit", frozenset({S.IN_REVIEW}), S.SUBMITTED,
               frozenset({Role.REVIEWER, Role.PRINCIPAL}), _l("Submit for approval")),
    Transition("send_back", frozenset({S.SUBMITTED}), S.IN_REVIEW,
               frozenset({Role.PRINCIPAL}), _l("Send back to review"), needs_reason=True),
    Transition("approve", frozenset({S.IN_REVIEW, S.SUBMITTED}), S.APPROVED,
               frozenset({Role.PRINCIPAL}), _l("Approve and seal")),
    Transition("reopen", frozenset({S.APPROVED}), S.IN_REVIEW,
               frozenset({Role.PRINCIPAL}), _l("Reopen"), needs_reason=True),
    # The district's external evaluation (đánh giá ngoài), redone until the level is recognised.
    Transition("evaluate", frozenset({S.APPROVED, S.EVALUATED}), S.EVALUATED,
               frozenset({Role.DISTRICT}), _l("Evaluate"), current_year_only=False),
    Transition("recognise", frozenset({S.EVALUATED}), S.RECOGNISED,
               frozenset({Role.DISTRICT}), _l("Recognise the level"), current_year_only=False),
)}
DISTRICT_ACTIONS = frozenset({"evaluate", "recognise"})
# Who hears of a transition (a notification kind, and the roles of the school told).
SCHOOL = {Role.PRINCIPAL, Role.REVIEWER, Role.STAFF}
TOLD = {"submit": ("assessment_submitted", {Role.PRINCIPAL}),
        "evaluate": ("assessment_evaluated", SCHOOL),
        "recognise": ("assessment_recognised", SCHOOL),
        "send_back": ("assessment_sent_back", {Role.REVIEWER, Role.STAFF}),
        "reopen": ("assessment_reopened", {Role.REVIEWER, Role.STAFF})}


class NotAllowed(PortalError):
    status = 403
    code = "forbidden"


class Blocked(Conflict):
    """An approval or submission that evidence still awaiting review (or rejected and
    still linked) blocks; ``more["blockers"]`` lists them."""

    code = "approval_blocked"


class ChangedSinceViewed(Conflict):
    """The year changed after the principal opened the approval page; ``changes`` lists
    what others did meanwhile."""

    code = "changed_since_viewed"

    def __init__(self, message: str, changes: list[AuditEvent]):
        super().__init__(message, more={"changes": [event_entry(event) for event in changes]})
        self.changes = changes


def assessment_of(school: School, year: str) -> Assessment:
    """The assessment of ``year`` at ``school``: its row, or a new draft not yet saved."""
    found = db.session.scalar(select(Assessment).where(Assessment.school_id == school.id,
                                                       Assessment.school_year == year))
    return found or Assessment(school=school, school_id=school.id, school_year=year, status=S.DRAFT, version=0)


def allowed_actions(user: User, assessment: Assessment) -> list[Transition]:
    """The transitions ``user`` may take from the assessment's state now."""
    return [step for step in TRANSITIONS.values()
            if user.role in step.roles and assessment.status in step.sources]


def transition(actor: User, school: School, year: str, action: str, *, reason: str = "",
               version: int | None = None, expected: str | None = None, since: int | None = None,
               evaluation: dict | None = None) -> Assessment:
    """Take ``action`` (a TRANSITIONS key) on the assessment of ``year`` at ``school`` and
    commit. ``version``: the assessment's version the caller saw (0 for a year never
    changed); ``expected``: for an approval, the fingerprint of what the principal saw,
    with ``since``, the last audit entry id they had seen; ``evaluation``: for
    ``evaluate``, the items and the score that ``evaluate`` worked out.

    Raises NotAllowed (the role may not), ValidationFailed (a missing reason),
    StaleRecord (``version`` is not current), Conflict (not from this state), Blocked
    (evidence awaiting review or rejected), ChangedSinceViewed (the year changed after
    ``expected`` was taken), StorageDown (the manifest could not be written)."""
    step = TRANSITIONS[action]
    if actor.role not in step.roles:
        raise NotAllowed(_("Your role cannot do this: %(action)s.", action=step.label))
    if step.current_year_only and year != school.school_year:  # a seal is of the inventory in its own year
        raise Conflict(_("Only the school's current year, %(current)s, can change; %(year)s is kept as it is.",
                         current=school.school_year, year=year))
    reason = clean(str(reason or ""))
    if step.needs_reason and not reason:
        raise ValidationFailed(_("Some fields are not valid."), fields={"reason": _("Say why.")})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_("Some fields are not valid."),
                               fields={"reason": _("At most %(n)d characters.", n=MAX_REASON)})
    # One change of a school's year at a time, and none beside an evidence change (which
    # takes the same lock, app.assessments.models.check_year_open).
    db.session.execute(select(School.id).where(School.id == school.id).with_for_update())
    db.session.expire_all()  # read what committed before the lock, not the identity map's copies
    assessment = assessment_of(school, year)
    if version is not None and version != assessment.version:
        raise _stale(assessment, version)
    before = assessment.status
    if before not in step.sources:
        raise Conflict(_("The %(year)s self-assessment is “%(status)s”: “%(action)s” is not possible now.",
                         year=year, status=before.label, action=step.label))
    content = live_content(school, year, recount=True)[0] if action == "approve" else None
    if content is not None and expected is not None and fingerprint(content) != expected:
        raise ChangedSinceViewed(
            _("The evidence or the score changed after you opened this page. Look at what changed, then "
              "approve again."), changes=school_changes(school.id, since))
    if action in ("submit", "approve"):
        found = blockers(school.id, year)
        if found:
            raise Blocked(_("Evidence still awaits review or was rejected: review it, or unlink what was "
                            "rejected, first."), more={"blockers": found})
    seal = _seal(actor, school, year, content) if content is not None else None
    if assessment.id is None:
        db.session.add(assessment)
        db.session.flush()
    assessment.status, assessment.changed_by_id, assessment.changed_at = step.target, actor.id, utcnow()
    assessment.reason = reason
    if seal is not None:
        seal.assessment_id = assessment.id
        db.session.add(seal)
        db.session.flush()
        assessment.sealed_id = seal.id
    if action in DISTRICT_ACTIONS:
        _record_evaluation(actor, assessment, action, evaluation)
    db.session.flush()
    audit.record(actor, f"assessment.{action}", assessment, year=year, status=[before.value, step.target.value],
                 reason=reason, version=assessment.version,
                 **({"sealed_sha256": seal.sha256, "manifest": seal.manifest_key} if seal else {}))
    if action in TOLD:
        kind, roles = TOLD[action]
        notifications.notify(
            db.session.scalars(select(User.id).where(User.school_id == school.id, User.role.in_(roles),
                                                     User.active.is_(True))),
            kind, school_id=school.id, actor_id=actor.id, url=f"/schools/{school.id}/assessments/{year}",
            actor=actor.full_name, year=year, reason=reason)
    db.session.commit()
    return assessment


def _record_evaluation(actor: User, assessment: Assessment, action: str, evaluation: dict | None) -> None:
    found = db.session.scalar(select(Evaluation).where(Evaluation.assessment_id == assessment.id))
    if action == "evaluate":
        if found is None:
            found = Evaluation(assessment_id=assessment.id)
            db.session.add(found)
        found.sealed_id, found.items, found.score = assessment.sealed_id, evaluation["items"], evaluation["score"]
        found.evaluated_by_id, found.evaluated_at = actor.id, utcnow()
    else:
        found.recognised = {group["code"]: group["recognised_level"] for group in found.score["groups"]}
        found.recognised_by_id, found.recognised_at = actor.id, utcnow()


def evaluate(actor: User, school: School, year: str, items, version: int | None = None) -> Assessment:
    """The district's external evaluation of the sealed ``year``: ``items`` is a list of
    {"code", "points", "reason"} for the sub-items it changes (a value equal to the
    school's is no change and needs no reason). Each value is scored by the engine on the
    sealed facts, never above the ceiling the sealed facts give, each change with its
    reason. Raises ValidationFailed (per item) and what ``transition`` raises."""
    step = TRANSITIONS["evaluate"]
    if actor.role not in step.roles:
        raise NotAllowed(_("Your role cannot do this: %(action)s.", action=step.label))
    sealed = assessment_of(school, year).in_force
    if sealed is None:
        raise Conflict(_("School year %(year)s has no approved self-assessment.", year=year))
    index = framework(sealed.snapshot["framework"]["code"])
    claimed = {item["code"]: item["points"] for criterion in sealed.snapshot["score"]["criteria"]
               for item in criterion.get("items") or ()}
    adjustments, kept, problems = {}, {}, {}
    for position, item in enumerate(items if isinstance(items, list) else [None]):
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            problems[f"items.{position}"] = _("Each item needs the sub-item's code, the points and the reason.")
            continue
        code, points, reason = item["code"], item.get("points"), clean(str(item.get("reason") or ""))[:MAX_REASON]
        if code not in claimed:
            problems[f"items.{position}.code"] = _("%(code)s is not a scored sub-item of this index.", code=code)
        elif isinstance(points, bool) or not isinstance(points, (int, float)) or points != points:
            problems[f"items.{position}.points"] = _("A number of points.")
        elif points != claimed[code]:
            points = int(points) if float(points).is_integer() else points
            adjustments[code], kept[code] = Adjustment(points, reason), {"points": points, "reason": reason}
    if not problems:
        try:
            card = score(index, sealed_facts(sealed.snapshot), adjustments)
        except AdjustmentError as error:
            position = next(number for number, item in enumerate(items) if item.get("code") == error.code)
            problems[f"items.{position}.points"] = _adjustment_message(error, adjustments.get(error.code), claimed)
    if problems:
        raise ValidationFailed(_("Some fields are not valid."), fields=problems)
    return transition(actor, school, year, "evaluate", version=version,
                      evaluation={"items": kept, "score": card.to_dict()})


def _adjustment_message(error: AdjustmentError, adjustment: Adjustment | None, claimed: dict) -> str:
    if adjustment is not None and not adjustment.reason:
        return _("Say why %(code)s changes.", code=error.code)
    return _("From 0 to the ceiling of %(code)s.", code=error.code)


def _seal(actor: User, school: School, year: str, content: dict) -> SealedResult:
    """The sealed result of ``content`` (read while the caller holds the school's lock),
    its manifest already in storage."""
    now = utcnow()
    # The audit trail's newest entry now: kept in the seal (and its manifest, outside the
    # database), so removing the entries that came before the approval shows.
    anchor = chain.head(db.session)
    snapshot = {**content, "approved_by": {"id": actor.id, "name": actor.full_name, "email": actor.email},
                "approved_at": now.isoformat(),
                "audit_head": {"id": anchor[0], "entry_hash": anchor[1]} if anchor else None}
    sha256 = sha256_of(snapshot)
    try:
        key = write_manifest(snapshot, sha256)
    except StorageUnavailable as error:
        raise StorageDown(_("The file store did not answer, so nothing was approved. Try again in a moment.")
                          ) from error
    return SealedResult(school_id=school.id, school_year=year, sealed_at=now, sealed_by_id=actor.id,
                        snapshot=snapshot, sha256=sha256, manifest_key=key, score=snapshot["score"])


def _stale(assessment: Assessment, version: int) -> StaleRecord:
    changes = [] if assessment.id is None else changes_since(Assessment, assessment.id, version, action_suffix="")
    return StaleRecord(_("Someone else changed this self-assessment after you opened it. Their change is "
                         "shown below."), changes=changes, current_version=assessment.version)


@dataclass
class Overview:
    """An assessment with what its page and API answer show beside it."""

    assessment: Assessment
    card: Scorecard | None  # the live score, while the year is the school's current one
    actions: list[str]
    blockers: list[dict]
    warnings: list[dict]
    fingerprint: str | None  # of what an approval now would seal
    since: int  # the last audit entry of the school, for ChangedSinceViewed

    def __getattr__(self, name):
        return getattr(self.assessment, name)


def overview(school: School, year: str, user: User) -> Overview:
    """The assessment of ``year`` with the transitions ``user`` may take, what blocks
    approval and what to see first (for a year not sealed)."""
    assessment = assessment_of(school, year)
    live, sealed = school.school_year == year, assessment.status.sealed
    content, card = live_content(school, year) if live and not sealed else (None, None)
    if live and card is None:
        card = live_scorecard(school)
    return Overview(assessment, card, [step.action for step in allowed_actions(user, assessment)],
                    [] if sealed else blockers(school.id, year),
                    warnings(card) if card is not None and not sealed else [],
                    fingerprint(content) if content else None, last_audit_id(school.id))


def sealed_score_json(seal: SealedResult) -> bytes:
    """The body of ``GET /score`` for a sealed year: the sealed score, the year, and
    ``sealed`` (hash, approver, time)."""
    snapshot = seal.snapshot
    return canonical({"year": seal.school_year, **snapshot["score"],
                      "sealed": {"sha256": seal.sha256, "approved_at": snapshot["approved_at"],
                                 "approved_by": snapshot["approved_by"]["name"]}})


# --- what an approval needs and what it should see ---------------------------------------

def _links(school_id: int, year: str, status: LinkStatus):
    return db.session.execute(
        select(EvidenceLink.criterion, EvidenceLink.code, EvidenceDocument.id, EvidenceDocument.title,
               EvidenceLink.created_at)
        .join(EvidenceDocument, EvidenceDocument.id == EvidenceLink.document_id)
        .where(EvidenceLink.school_id == school_id, EvidenceLink.school_year == year,
               EvidenceLink.status == status, EvidenceLink.removed_at.is_(None),
               EvidenceDocument.removed_at.is_(None))
        .order_by(EvidenceLink.created_at, EvidenceLink.id)).all()


def blockers(school_id: int, year: str) -> list[dict]:
    """What keeps the year from being submitted or approved: each live link still
    awaiting review, or rejected and still linked (``kind``: pending or rejected), with
    its criterion, code, document id and title."""
    return [{"kind": status.value, "criterion": criterion, "code": code, "evidence_id": document_id,
             "title": title}
            for status in (LinkStatus.PENDING, LinkStatus.REJECTED)
            for criterion, code, document_id, title, _created in _links(school_id, year, status)]


def warnings(card: Scorecard) -> list[dict]:
    """What the principal should see before approving: each group whose mandatory
    conditions are unmet (it will not be recognised), and each criterion whose points
    are not all backed by accepted evidence (the district sees both figures)."""
    found = [{"kind": "mandatory", "group": group.code, "criteria": list(group.missing_mandatory)}
             for group in card.groups if group.missing_mandatory]
    found += [{"kind": "unevidenced", "criterion": criterion.code, "points": criterion.points,
               "evidenced_points": criterion.evidenced_points}
              for criterion in card.criteria
              if not criterion.mandatory and criterion.points and criterion.evidenced_points < criterion.points]
    return found


def review_queue(user: User, school_id: int, year: str) -> list[dict]:
    """The links of the year awaiting review that ``user`` may review (not their own
    uploads, changes or links: app.evidence.services.contributors), oldest first, in a
    fixed number of queries however long the queue."""
    waiting = _links(school_id, year, LinkStatus.PENDING)
    ids = {document_id for _criterion, _code, document_id, _title, _at in waiting}
    documents = {document.id: document for document in db.session.scalars(
        select(EvidenceDocument).options(selectinload(EvidenceDocument.files), selectinload(EvidenceDocument.links))
        .where(EvidenceDocument.id.in_(ids)))}
    editors = editors_of(ids)
    queue = []
    for criterion, code, document_id, title, created_at in waiting:
        document = documents[document_id]
        link = next(link for link in document.live_links if link.criterion == criterion)
        # (A document carried over from an earlier year reads its lineage's editors itself.)
        known = editors.get(document_id, set()) if document.carried_from_id is None else None
        if user.id not in contributors(document, link, known):
            queue.append({"criterion": criterion, "code": code, "evidence_id": document_id, "title": title,
                          "linked_at": created_at})
    return queue


# --- what changed since the approval -----------------------------------------------------

INVENTORY_OBJECTS = ("Room", "Equipment", "NetworkLine", "Software", "Material", "StaffMember", "School")


def school_changes(school_id: int, since: int | None) -> list[AuditEvent]:
    """The school's audited changes after audit entry ``since`` (all, when None), oldest
    first, at most CHANGES_SHOWN of the latest."""
    query = (select(AuditEvent).options(joinedload(AuditEvent.actor))
             .where(AuditEvent.school_id == school_id, AuditEvent.object_type != "")
             .order_by(AuditEvent.id.desc()).limit(CHANGES_SHOWN))
    if since is not None:
        query = query.where(AuditEvent.id > since)
    return list(reversed(db.session.scalars(query).all()))


def last_audit_id(school_id: int) -> int:
    return db.session.scalar(select(AuditEvent.id).where(AuditEvent.school_id == school_id)
                             .order_by(AuditEvent.id.desc()).limit(1)) or 0


@dataclass(frozen=True)
class ScoreChange:
    code: str
    sealed: object
    now: object


def changes_since_approval(school: School, seal: SealedResult) -> tuple[list[ScoreChange], list[AuditEvent]]:
    """What differs from the sealed result now: the sub-items, criteria and groups whose
    points (or mandatory condition) moved, and the inventory and evidence changes made
    after the approval, item by item (at most CHANGES_SHOWN)."""
    card = live_scorecard(school) if school.school_year == seal.school_year else None
    moved = []
    if card is not None:
        now = _points_by_code(card.to_dict())
        for code, sealed in _points_by_code(seal.snapshot["score"]).items():
            if now.get(code) != sealed:
                moved.append(ScoreChange(code, sealed, now.get(code)))
    events = db.session.scalars(
        select(AuditEvent).options(joinedload(AuditEvent.actor))
        .where(AuditEvent.school_id == school.id, AuditEvent.occurred_at > seal.sealed_at,
               AuditEvent.object_type.in_((*INVENTORY_OBJECTS, "EvidenceDocument")))
        .order_by(AuditEvent.id.desc()).limit(CHANGES_SHOWN)).all()
    return moved, list(reversed(events))


def _points_by_code(score: dict) -> dict[str, object]:
    """Code → points (or met, for a mandatory criterion) of every group, criterion and
    sub-item of a score in the API's shape."""
    points = {f"group {group['code']}": group["points"] for group in score["groups"]}
    for criterion in score["criteria"]:
        points[criterion["code"]] = criterion["met"] if criterion["mandatory"] else criterion["points"]
        for item in criterion.get("items") or ():
            if item["code"] != criterion["code"]:
                points[item["code"]] = item["points"]
    return points


def event_entry(event: AuditEvent) -> dict:
    """An audit entry as the API shows it among changes."""
    return {"id": event.id, "at": event.occurred_at.isoformat(), "action": event.action,
            "by": event.actor.full_name if event.actor else None, "object_type": event.object_type,
            "object_id": event.object_id, "details": event.details}


def report_snapshot(school: School, year: str) -> tuple[dict, SealedResult | None]:
    """What the reports of ``year`` show: the sealed snapshot while one is in force (with
    it), else the live state of the school's current year (None: a draft, marked so on
    every page). Raises NotFound for another year with nothing sealed."""
    sealed = assessment_of(school, year).in_force
    if sealed is not None:
        return sealed.snapshot, sealed
    if year != school.school_year:
        raise NotFound(_("School year %(year)s has no approved self-assessment.", year=year))
    return live_content(school, year)[0], None


# --- the next school year ----------------------------------------------------------------

# The kinds of document that usually stay in force from one year to the next (offered
# ticked); a year's plan, report or minutes is usually written again.
LASTING_TYPES = frozenset({DocType.DECISION, DocType.REGULATION, DocType.CONTRACT, DocType.LINK})


def carry_candidates(school: School) -> list[EvidenceDocument]:
    """The live documents of the school's current year, by title."""
    return db.session.scalars(select(EvidenceDocument).where(
        EvidenceDocument.school_id == school.id, EvidenceDocument.school_year == school.school_year,
        EvidenceDocument.removed_at.is_(None)).order_by(EvidenceDocument.title_sort)).all()


def start_year(actor: User, school: School, document_ids: list[int], today: date | None = None) -> tuple[str, int]:
    """Start the school's next year and carry the chosen documents of the current one into
    it (their links awaiting review again), in one transaction. Ids that are not live
    documents of the current year are refused (ValidationFailed). Returns the new year and
    how many documents were carried."""
    candidates = {document.id: document for document in carry_candidates(school)}
    unknown = set(document_ids) - candidates.keys()
    if unknown:
        raise ValidationFailed(_("Some fields are not valid."), fields={
            "documents": _("Choose among this year's evidence.")})
    year = start_next_year(actor, school, today, commit=False)
    copies = carry_over(actor, [candidates[document_id] for document_id in sorted(document_ids)], year)
    db.session.commit()
    return year, len(copies)
