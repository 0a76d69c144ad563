"""The assessment pages: a year's assessment (state, what blocks approval, what to see
first, the criteria's review progress, the transitions, what changed since approval, the
reports), the review page of one criterion, and a reviewer's queue. Every change goes
through app.assessments.services or app.evidence.services."""

from __future__ import annotations

from collections import Counter, defaultdict

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app import clock
from app.accounts.policy import can, requires
from app.assessments import services
from app.assessments.models import Assessment
from app.audit.labels import action_label, object_label
from app.audit.models import AuditEvent
from app.db_types import parse_id
from app.errors import PortalError, ValidationFailed
from app.evidence import services as evidence_services
from app.evidence.filecheck import ALLOWED
from app.evidence.models import EvidenceDocument, EvidenceLink, LinkStatus
from app.extensions import db
from app.framework.scores import live_scorecard
from app.framework.services import framework
from app.framework.supports import records_behind
from app.i18n import format_number
from app.inventory.services import COLLECTIONS
from app.inventory.views import field_labels, history_value, inventory_url
from app.schools.models import School
from app.schools.years import first_day, is_school_year, next_school_year
from app.security import strip_unprintable

bp = Blueprint("assessments", __name__, template_folder="templates")

ONE = "/schools/<id:school_id>/assessments/<year>"
PREVIEWABLE = frozenset(kind.content_type for kind in ALLOWED.values() if kind.previewable)


def _school_year(school_id: int, year: str) -> School:
    if not is_school_year(year):
        abort(404)
    return db.session.get(School, school_id)


@bp.route("/schools/<id:school_id>/assessments")
@requires("assessments.view")
def current(school_id):
    """The assessment of the school's current year."""
    school = db.session.get(School, school_id)
    return redirect(url_for("assessments.detail", school_id=school.id, year=school.school_year))


@bp.route(ONE)
@requires("assessments.view")
def detail(school_id, year):
    return _detail_page(_school_year(school_id, year), year)


def _detail_page(school: School, year: str, status: int = 200, error: PortalError | None = None,
                 reason: str = ""):
    view = services.overview(school, year, current_user)
    sealed = view.assessment.sealed  # the last seal, in force or not
    moved, later = services.changes_since_approval(school, sealed) if sealed else ([], [])
    history = [] if view.assessment.id is None else db.session.scalars(
        select(AuditEvent).options(joinedload(AuditEvent.actor))
        .where(AuditEvent.object_type == "Assessment", AuditEvent.object_id == view.assessment.id)
        .order_by(AuditEvent.id.desc()).limit(50)).all()
    years = db.session.scalars(select(Assessment).where(Assessment.school_id == school.id)
                               .order_by(Assessment.school_year.desc())).all()
    return render_template(
        "assessments/detail.html", school=school, year=year, view=view, sealed=sealed, moved=moved,
        later=described(later), history=described(history), progress=_review_progress(school.id, year),
        error=error, reason=reason, transitions=services.TRANSITIONS, years=years,
        district_actions=services.DISTRICT_ACTIONS,
        changes=described(getattr(error, "changes", None) or [])), status


def _review_progress(school_id: int, year: str) -> dict[str, Counter]:
    """By criterion code (a sub-item's links under its criterion): how many live links
    are pending, accepted, rejected."""
    criterion_of = {item.code: criterion.code for group in framework().groups for criterion in group.criteria
                    for item in criterion.items}
    rows = db.session.execute(
        select(EvidenceLink.criterion, EvidenceLink.status)
        .join(EvidenceDocument, EvidenceDocument.id == EvidenceLink.document_id)
        .where(EvidenceLink.school_id == school_id, EvidenceLink.school_year == year,
               EvidenceLink.removed_at.is_(None), EvidenceDocument.removed_at.is_(None)))
    progress: dict[str, Counter] = defaultdict(Counter)
    for code, status in rows:
        progress[criterion_of.get(code, code)][status.value] += 1
    return progress


@bp.route(ONE + "/<action>", methods=["POST"])
@requires("assessments.change")
def act(school_id, year, action):
    """Take one of the school's transitions from the assessment page's buttons."""
    school = _school_year(school_id, year)
    if action not in services.TRANSITIONS or action in services.DISTRICT_ACTIONS:
        abort(404)
    form = request.form
    reason = form.get("reason", "")
    try:
        services.transition(current_user, school, year, action, reason=reason, version=_number(form, "version"),
                            expected=form.get("fingerprint") or None, since=_number(form, "since"))
    except PortalError as error:
        db.session.rollback()
        return _detail_page(school, year, error.status, error, reason)
    flash(_("%(action)s: done.", action=services.TRANSITIONS[action].label), "success")
    return redirect(url_for("assessments.detail", school_id=school.id, year=year))


@bp.route(ONE + "/evaluation", methods=["POST"])
@requires("assessments.evaluate")
def evaluation(school_id, year):
    """The district's evaluation from the assessment page: each sub-item's points (those
    that differ from the school's are changes, each with its reason), or recognition."""
    school = _school_year(school_id, year)
    form = request.form
    try:
        if form.get("do") == "recognise":
            services.transition(current_user, school, year, "recognise", version=_number(form, "version"))
        else:
            items = [{"code": name.removeprefix("points-"), "points": _points(value),
                      "reason": strip_unprintable(form.get("reason-" + name.removeprefix("points-"), ""))}
                     for name, value in form.items() if name.startswith("points-")]
            services.evaluate(current_user, school, year, items, version=_number(form, "version"))
    except PortalError as error:
        db.session.rollback()
        return _detail_page(school, year, error.status, error)
    flash(_("Recognised.") if form.get("do") == "recognise" else _("Evaluation saved."), "success")
    return redirect(url_for("assessments.detail", school_id=school.id, year=year))


def _points(text: str):
    """Points typed in the evaluation form (a comma or a point for decimals); the text
    itself when it is not a number, for the service to refuse by name."""
    try:
        return float(text.replace(",", ".")) if text.strip() else text
    except ValueError:
        return text


def _number(form, name: str) -> int | None:
    """A hidden number of the page's form: None when absent, else 0 or a record id;
    anything else is refused (the page was not sent as it was shown)."""
    text = form.get(name, "")
    if text == "":
        return None
    number = 0 if text == "0" else parse_id(text)
    if number is None:
        raise ValidationFailed(_("The page was not sent as it was shown. Reload it and try again."))
    return number


# --- reviewing one criterion --------------------------------------------------------------

@bp.route(ONE + "/criteria/<criterion>")
@requires("assessments.view")
def criterion_page(school_id, year, criterion):
    return _criterion_page(_school_year(school_id, year), year, criterion)


def _criterion_page(school: School, year: str, code: str, status: int = 200, errors: dict | None = None):
    assessment = services.assessment_of(school, year)
    sealed = assessment.in_force  # an approved year shows what was sealed, not today's figures
    card = live_scorecard(school) if sealed is None and year == school.school_year else None
    score = sealed.snapshot["score"] if sealed else card.to_dict() if card is not None else None
    if score is None:
        abort(404)
    found = next((criterion for criterion in score["criteria"] if criterion["code"] == code), None)
    if found is None:
        abort(404)
    codes = {code, *(item["code"] for item in found.get("items") or ())}
    linked = select(EvidenceLink.document_id).where(
        EvidenceLink.school_id == school.id, EvidenceLink.school_year == year, EvidenceLink.criterion.in_(codes),
        EvidenceLink.removed_at.is_(None))
    documents = db.session.scalars(
        select(EvidenceDocument).options(selectinload(EvidenceDocument.links), selectinload(EvidenceDocument.files))
        .where(EvidenceDocument.id.in_(linked), EvidenceDocument.removed_at.is_(None))).all()
    entries = []
    for document in documents:
        for link in document.live_links:
            if link.criterion in codes:
                entries.append({"document": document, "link": link,
                                "own": current_user.id in evidence_services.contributors(document, link)})
    entries.sort(key=lambda entry: entry["link"].code)
    records = {item["code"]: [(ref, inventory_url(ref.collection, "record", school_id=school.id,
                                                  **{COLLECTIONS[ref.collection].param: ref.id}))
                              for ref in records_behind(school, framework(), item["code"])]
               for item in found.get("items") or () if card is not None}
    reviewer = not assessment.status.sealed and can(current_user, "evidence.review", school)
    return render_template("assessments/criterion.html", school=school, year=year, assessment=assessment, sealed=sealed,
                           criterion=found,
                           entries=entries, records=records, reviewer=reviewer, previewable=PREVIEWABLE,
                           errors=errors or {}), status


@bp.route(ONE + "/criteria/<criterion>/review", methods=["POST"])
@requires("evidence.review")
def review(school_id, year, criterion):
    """Accept or reject one evidence link shown on the criterion's page, then come back to it."""
    school = _school_year(school_id, year)
    document = db.session.get(EvidenceDocument, parse_id(request.form.get("evidence_id", "")) or 0)
    if document is None or document.school_id != school.id or document.school_year != year:
        abort(404)
    code = request.form.get("link", "")
    try:
        reviewed = evidence_services.review_link(current_user, document, code, {
            "decision": request.form.get("decision", ""), "comment": strip_unprintable(request.form.get("comment", "")),
            "version": _number(request.form, "version")})
    except PortalError as error:
        db.session.rollback()
        return _criterion_page(school, year, criterion, error.status,
                               {(document.id, code): (error, request.form.get("comment", ""))})
    flash(_("%(code)s: %(status)s.", code=reviewed.code, status=LinkStatus(reviewed.status).label), "success")
    return redirect(url_for("assessments.criterion_page", school_id=school.id, year=year, criterion=criterion)
                    + f"#link-{reviewed.id}")


@bp.route("/schools/<id:school_id>/review-queue")
@requires("evidence.review")
def queue(school_id):
    """What waits for the signed-in reviewer in the school's current year, oldest first."""
    school = db.session.get(School, school_id)
    year = school.school_year
    criterion_of = {item.code: criterion.code for group in framework().groups for criterion in group.criteria
                    for item in criterion.items}
    return render_template("assessments/queue.html", school=school, year=year,
                           waiting=services.review_queue(current_user, school.id, year), criterion_of=criterion_of)


def described(events: list[AuditEvent]) -> list[dict]:
    """Audit entries as the assessment pages list them: when, who, what was done (the
    action's label), to which record (its name, linked to its page) and which fields
    changed, labelled and shown as on the record's own page."""
    by_model = {collection.model.__name__: collection for collection in COLLECTIONS.values()}
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_id is not None and (event.object_type in by_model or event.object_type == "EvidenceDocument"):
            wanted[event.object_type].add(event.object_id)
    models = {name: collection.model for name, collection in by_model.items()} | {"EvidenceDocument": EvidenceDocument}
    found = {(name, record.id): record for name, ids in wanted.items()
             for record in db.session.scalars(select(models[name]).where(models[name].id.in_(ids)))}
    entries = []
    for event in events:
        details = event.details or {}
        record = found.get((event.object_type, event.object_id))
        target, url, changes = None, None, []
        if event.object_type in by_model:
            collection = by_model[event.object_type]
            target = str(record) if record else f"{object_label(event.object_type)} #{event.object_id}"
            if record is not None:
                url = inventory_url(collection, "record", record=record)
            labels, shown = field_labels(collection.model), history_value(collection.model)
            for name, values in (details.get("changes") or {}).items():
                if isinstance(values, list) and len(values) == 2:
                    changes.append((str(labels.get(name, name)), shown(name, values[0]), shown(name, values[1])))
        elif event.object_type == "EvidenceDocument":
            target = record.title if record else f"{object_label(event.object_type)} #{event.object_id}"
            if record is not None:
                url = url_for("evidence.record", school_id=record.school_id, evidence_id=record.id)
        note = next((str(details[key]) for key in ("code", "criterion") if isinstance(details.get(key), str)), "")
        entries.append({"at": event.occurred_at, "by": event.actor.full_name if event.actor else "—",
                        "action": action_label(event.action), "target": target, "url": url, "note": note,
                        "changes": changes, "reason": details.get("reason") or ""})
    return entries


@bp.app_template_filter()
def yes_or_number(value) -> str:
    """A sealed or live value of a criterion: met / not met for a mandatory one, else its points."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("Met") if value else _("Not met")
    return format_number(value)


# --- the next school year ----------------------------------------------------------------

@bp.route("/schools/<id:school_id>/school-year", methods=["GET", "POST"])
@requires("schools.start_year")
def new_year(school_id):
    """Start the next school year, choosing which of this year's evidence carries over."""
    school = db.session.get(School, school_id)
    coming = next_school_year(school.school_year)
    candidates = services.carry_candidates(school)
    chosen = {document.id for document in candidates if document.doc_type in services.LASTING_TYPES}
    error = None
    if request.method == "POST":
        chosen = {parse_id(value) for value in request.form.getlist("documents")}
        try:
            year, carried = services.start_year(current_user, school, sorted(chosen - {None}))
        except PortalError as failure:
            db.session.rollback()
            error = failure
        else:
            flash(_("School year %(year)s has started with %(n)d documents carried over, each awaiting review. "
                    "The inventory carries on; the score is now this year's.", year=year, n=carried), "success")
            return redirect(url_for("assessments.detail", school_id=school.id, year=year))
    return render_template("assessments/new_year.html", school=school, coming=coming, opens=first_day(coming),
                           open=first_day(coming) <= clock.today(), candidates=candidates, chosen=chosen,
                           error=error), error.status if error else 200
