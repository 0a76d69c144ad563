"""Evidence pages: the list (search, filters, sort, pages, XLSX export), the upload page
(several files at once, each uploaded on its own with its progress, its details and its
criteria; a plain form without JavaScript), link evidence, the record page (details,
file versions, links and their review, history), and the deleted evidence a principal
restores. Every change goes through app.evidence.services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.policy import can, requires
from app.db_types import parse_id
from app.errors import NotFound, PortalError, wants_json
from app.evidence import search, services
from app.evidence.downloads import send_version
from app.evidence.extraction import ocr_available
from app.evidence.filecheck import ACCEPT_ATTRIBUTE, ALLOWED, EmptyFile, UnsafeFile
from app.evidence.forms import (
    CardForm,
    CriterionForm,
    EditEvidenceForm,
    FileForm,
    LinkEvidenceForm,
    ReviewForm,
    UploadForm,
)
from app.evidence.listing import listed_documents
from app.evidence.models import DocType, EvidenceDocument, EvidenceFile, LinkStatus, TextStatus
from app.extensions import db
from app.framework.services import framework
from app.i18n import format_day
from app.inventory.listing import LISTINGS, list_request
from app.inventory.services import history_of
from app.inventory.views import cell
from app.paging import paginate
from app.schools.models import School
from app.search import fold
from app.spreadsheets import workbook_response
from app.versions import StaleRecord

bp = Blueprint("evidence", __name__, template_folder="templates")

BASE = "/schools/<id:school_id>/evidence"
ONE = BASE + "/<id:evidence_id>"
FILE = ONE + "/files/<id:file_id>"
EXPORT_BATCH = 500
DELETED_SHOWN = 200
# Errors about the uploaded file itself, shown next to the file field.
FILE_ERRORS = (UnsafeFile, EmptyFile, services.FileTooLarge, services.StorageDown)
# How a document's details read in its history (labels of the fields of an "updated" event).
FIELD_LABELS = {"title": _l("Evidence title"), "doc_type": _l("Type"), "number": _l("Number"),
                "issued_on": _l("Issued on"), "issuer": _l("Issued by"), "description": _l("Description"),
                "url": _l("Address (link)")}


@dataclass(frozen=True)
class CriterionOption:
    """One choice of the criteria picker: a criterion, or a sub-item (``is_item``) under
    it; ``words`` is its code and title folded, for the picker's filter."""

    code: str
    title: str
    is_item: bool
    words: str


@dataclass(frozen=True)
class CriterionGroup:
    code: str
    title: str
    options: tuple[CriterionOption, ...]


def criteria_groups() -> list[CriterionGroup]:
    """The codes evidence can be linked to, by group, in the order of the index in use."""
    groups = []
    for group in framework().groups:
        options = []
        for criterion in group.criteria:
            options.append(CriterionOption(criterion.code, criterion.title, False,
                                           fold(f"{criterion.code} {criterion.title}")))
            options.extend(CriterionOption(item.code, item.title, True, fold(f"{item.code} {item.title}"))
                           for item in criterion.items)
        groups.append(CriterionGroup(group.code, group.title, tuple(options)))
    return groups


@bp.app_template_filter()
def file_size(size: int | None) -> str:
    """A size in bytes as people read it: "850 B", "12 KB", "1,2 MB" (in the user's locale)."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{format_decimal(round(value, 1), format='#,##0.#')} {unit}"


@bp.app_template_filter()
def link_status_label(value: str) -> str:
    """A link status kept as text (the audit trail) in words."""
    return LinkStatus(value).label if value in {member.value for member in LinkStatus} else value


@bp.app_template_global()
def evidence_url(action: str = "", document: EvidenceDocument | None = None, **args) -> str:
    """The URL of an evidence page: ``action`` "" (list) or an endpoint of this blueprint;
    a ``document`` fills in its school and id."""
    if document is not None:
        args.setdefault("school_id", document.school_id)
        args.setdefault("evidence_id", document.id)
    return url_for(f"evidence.{action or 'index'}", **args)


def _json_error(error: PortalError):
    return jsonify(message=error.message, fields=error.fields), error.status


def _document(evidence_id: int) -> EvidenceDocument:
    return db.session.get(EvidenceDocument, evidence_id)


def _version(evidence_id: int, file_id: int) -> EvidenceFile:
    version = db.session.get(EvidenceFile, file_id)
    if version.document_id != evidence_id:
        raise NotFound()
    return version


def _shown(name: str, value) -> str:
    """How a value kept in the audit trail reads on the record page."""
    if name == "doc_type" and value in {member.value for member in DocType}:
        return DocType(value).label
    if name == "issued_on" and isinstance(value, str) and value:
        return format_day(date.fromisoformat(value))
    return cell(value)


# --- the list --------------------------------------------------------------------------------

@bp.route(BASE)
@requires("evidence.view")
def index(school_id):
    school = db.session.get(School, school_id)
    wanted = list_request(EvidenceDocument, request.args)
    page = paginate(listed_documents(school.id, request.args))
    return render_template("evidence/list.html", school=school, wanted=wanted, page=page,
                           listing=LISTINGS[EvidenceDocument], linkable=services.linkable_codes(framework()),
                           # Where each matched, unless its row shows it already (title, number, issuer).
                           passages=search.passages(page.items, wanted.q, fields=False))


@bp.route(BASE + "/export.xlsx")
@requires("evidence.view")
def export(school_id):
    """The list as it is filtered, every column, as XLSX (the evidence catalogue)."""
    school = db.session.get(School, school_id)
    columns = LISTINGS[EvidenceDocument].columns
    documents = db.session.scalars(listed_documents(school.id, request.args).execution_options(
        yield_per=EXPORT_BATCH))
    rows = ([column.of(document) for column in columns] for document in documents)
    headers = [str(column.label) for column in columns]
    return workbook_response(f"{school.code}-danh-muc-minh-chung.xlsx", [(_("Evidence"), headers, rows)])


@bp.route(BASE + "/deleted")
@requires("evidence.restore")
def deleted(school_id):
    school = db.session.get(School, school_id)
    documents = list(db.session.scalars(
        select(EvidenceDocument).where(EvidenceDocument.school_id == school.id,
                                       EvidenceDocument.removed_at.is_not(None))
        .order_by(EvidenceDocument.removed_at.desc(), EvidenceDocument.id.desc()).limit(DELETED_SHOWN)))
    people = _people({document.removed_by_id for document in documents})
    return render_template("evidence/deleted.html", school=school, documents=documents, people=people)


def _people(ids) -> dict[int, User]:
    ids = {user_id for user_id in ids if user_id}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


@bp.route(ONE + "/restore", methods=["POST"])
@requires("evidence.restore")
def restore(school_id, evidence_id):
    document = _document(evidence_id)
    try:
        services.restore_document(current_user, document)
    except PortalError as error:
        flash(error.message, "danger")
        return redirect(evidence_url("deleted", school_id=school_id))
    flash(_("Restored «%(title)s».", title=document.title), "success")
    return redirect(evidence_url("record", document))


# --- adding evidence -----------------------------------------------------------------------

@bp.route(BASE + "/new", methods=["GET", "POST"])
@requires("evidence.edit")
def new(school_id):
    """The upload page. With JavaScript each dropped file is sent on its own to ``upload``
    and gets its own details form; without it, this is one form for one document."""
    school = db.session.get(School, school_id)
    form = UploadForm()
    if form.validate_on_submit():
        files = [upload for upload in form.file.data or [] if upload and upload.filename]
        try:
            document = services.create_document(current_user, school, form.document_data(), files)
        except PortalError as error:
            if isinstance(error, FILE_ERRORS):
                form.file.errors = [*form.file.errors, error.message]
            else:
                form.show_errors(error)
                if not files and "title" in error.fields:
                    form.file.errors = [*form.file.errors, _("Choose the document's files, or enter its title.")]
            return _upload_page(school, form), error.status
        flash(_("Saved «%(title)s».", title=document.title), "success")
        return redirect(evidence_url("record", document))
    if form.errors and any(upload and upload.filename for upload in form.file.data or []):
        form.file.errors = [*form.file.errors, _("Choose the files again: a browser does not keep them when the "
                                                 "page shows a problem.")]
    return _upload_page(school, form), 400 if form.errors else 200


def _upload_page(school: School, form: UploadForm):
    return render_template("evidence/upload.html", school=school, form=form, card=CardForm(formdata=None),
                           groups=criteria_groups(), ocr=ocr_available(),
                           max_mb=current_app.config["UPLOAD_MAX_MB"],
                           accept=ACCEPT_ATTRIBUTE)


@bp.route(BASE + "/upload", methods=["POST"])
@requires("evidence.edit")
def upload(school_id):
    """One file (multipart field ``file``) as a new document titled by its name; JSON: its
    id, title, version and the URLs of its record, its details form and its text-reading
    status (201), or ``{"message", "fields"}`` with the refusal's status."""
    school = db.session.get(School, school_id)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return jsonify(message=_("Choose a file."), fields={}), 400
    try:
        document = services.create_document(current_user, school, {}, [sent])
    except PortalError as error:
        return _json_error(error)
    version = document.current_file
    return jsonify(id=document.id, title=document.title, version=document.version,
                   url_of_record=evidence_url("record", document), details_url=evidence_url("details", document),
                   status_url=evidence_url("status", document, file_id=version.id),
                   file={"id": version.id, "filename": version.filename, "size": file_size(version.size)}), 201


@bp.route(BASE + "/link", methods=["GET", "POST"])
@requires("evidence.edit")
def new_link(school_id):
    """Evidence that is a web page: its address and details, no file."""
    school = db.session.get(School, school_id)
    form = LinkEvidenceForm()
    if form.validate_on_submit():
        try:
            document = services.create_document(current_user, school,
                                                {**form.document_data(), "doc_type": DocType.LINK.value})
        except PortalError as error:
            form.show_errors(error)
        else:
            flash(_("Saved «%(title)s».", title=document.title), "success")
            return redirect(evidence_url("record", document))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("evidence/link.html", school=school, form=form, groups=criteria_groups()), status


@bp.route(FILE + "/status")
@requires("evidence.view")
def status(school_id, evidence_id, file_id):
    """Where reading a file version's text stands, as JSON; once read, what its first page
    says (number, date as dd/mm/yyyy, issuer, type) and the criteria it suggests."""
    version = _version(evidence_id, file_id)
    text_status = TextStatus(version.text_status)
    answer = {"text_status": text_status.value, "label": text_status.label,
              "pending": text_status == TextStatus.PENDING}
    if text_status != TextStatus.PENDING:
        found = version.found or {}
        issued_on = found.get("issued_on")
        linkable = services.linkable_codes(framework())
        answer["found"] = {"number": found.get("number") or "", "issuer": found.get("issuer") or "",
                           "doc_type": found.get("doc_type") or "",
                           "issued_on": format_day(date.fromisoformat(issued_on)) if issued_on else ""}
        answer["suggestions"] = [{"code": code, "title": linkable[code].title}
                                 for code in found.get("criteria") or () if code in linkable]
    return jsonify(answer)


# --- one document ----------------------------------------------------------------------------

@bp.route(ONE)
@requires("evidence.view")
def record(school_id, evidence_id):
    return _record_page(_document(evidence_id))


def _record_page(document: EvidenceDocument, status: int = 200, edit_form=None, meanwhile=(), file_form=None,
                 link_form=None, review_errors=None):
    """The record page, with a form that was refused (its messages next to its fields)."""
    linkable = services.linkable_codes(framework())
    edit_form = edit_form or EditEvidenceForm(obj=document)
    link_form = link_form or CriterionForm(formdata=None)
    barred = {link.criterion for link in document.live_links
              if current_user.id in services.contributors(document, link)}
    history = history_of(document)
    people = _people({document.removed_by_id} | {link.reviewed_by_id for link in document.links})
    return render_template(
        "evidence/record.html", school=document.school, document=document, edit_form=edit_form,
        meanwhile=meanwhile, file_form=file_form or FileForm(formdata=None), link_form=link_form,
        review_form=ReviewForm(formdata=None), review_errors=review_errors or {}, linkable=linkable,
        own_upload=bool(barred), barred=barred, history=history, people=people, labels=FIELD_LABELS,
        shown=_shown, previewable={kind.content_type for kind in ALLOWED.values() if kind.previewable},
        kinds={kind.content_type: kind.extension.upper() for kind in ALLOWED.values()}, accept=ACCEPT_ATTRIBUTE,
        groups=criteria_groups(), linked={link.criterion for link in document.live_links},
        open_edit=edit_form.errors or edit_form.form_errors), status


@bp.route(ONE + "/details", methods=["POST"])
@requires("evidence.edit")
def details(school_id, evidence_id):
    """Save a document's details. From the record page: its form, then the page again.
    From an upload card (asking for JSON): the details and the criteria ticked, answered
    ``{"version", "title", "codes", "message"}`` or ``{"message", "fields"}`` (400, or 409
    when someone else saved it meanwhile, with ``version`` to save over it)."""
    document = _document(evidence_id)
    as_json = wants_json()  # the upload card's script
    form = CardForm() if as_json else EditEvidenceForm()
    meanwhile = ()
    if form.validate_on_submit():
        try:
            services.update_document(current_user, document, form.document_data(with_criteria=as_json),
                                     version=parse_id(form.version.data or "") or 0)
        except StaleRecord as error:
            if as_json:
                return jsonify(message=error.message, fields={}, version=error.current_version), error.status
            form.form_errors.append(error.message)
            form.version.data = str(error.current_version or "")
            meanwhile = error.changes
        except PortalError as error:
            if as_json:
                return _json_error(error)
            form.show_errors(error)
        else:
            if as_json:
                return jsonify(version=document.version, title=document.title, codes=document.codes,
                               message=_("Saved."))
            flash(_("Saved."), "success")
            return redirect(evidence_url("record", document))
    if as_json:
        fields = {name: " ".join(str(message) for message in messages) for name, messages in form.errors.items()
                  if name != "csrf_token"}
        return jsonify(message=" ".join(form.form_errors) or _("Some fields are not valid."), fields=fields), \
            409 if meanwhile else 400
    status = 409 if meanwhile else 400
    return _record_page(document, status, edit_form=form, meanwhile=meanwhile)


@bp.route(ONE + "/files", methods=["POST"])
@requires("evidence.edit")
def add_file(school_id, evidence_id):
    """A new version of the document's file; the old ones are kept."""
    document = _document(evidence_id)
    form = FileForm()
    if form.validate_on_submit():
        try:
            version, added = services.add_file(current_user, document, form.file.data)
        except PortalError as error:
            form.file.errors = [*form.file.errors, error.message]
            return _record_page(document, error.status, file_form=form)
        if added:
            flash(_("Added version %(n)d: «%(name)s».", n=version.version, name=version.filename), "success")
        else:
            flash(_("This file is already version %(n)d; nothing was added.", n=version.version), "info")
        return redirect(evidence_url("record", document))
    return _record_page(document, 400, file_form=form)


@bp.route(FILE + "/download")
@requires("evidence.view")
def download(school_id, evidence_id, file_id):
    return send_version(_version(evidence_id, file_id))


@bp.route(FILE + "/preview")
@requires("evidence.view")
def preview(school_id, evidence_id, file_id):
    """A PDF or an image shown in the browser (under a CSP sandbox); other types: 415."""
    return send_version(_version(evidence_id, file_id), inline=True)


@bp.route(ONE + "/links", methods=["POST"])
@requires("evidence.edit")
def link(school_id, evidence_id):
    document = _document(evidence_id)
    form = CriterionForm()
    if form.validate_on_submit():
        try:
            linked = services.link_criterion(current_user, document, form.criterion.data)
        except PortalError as error:
            form.show_errors(error)
            form.criterion.errors = [*form.criterion.errors, *form.form_errors]
            form.form_errors.clear()
            return _record_page(document, error.status, link_form=form)
        flash(_("Linked to %(criterion)s under the evidence code %(code)s.", criterion=linked.criterion,
                code=linked.code), "success")
        return redirect(evidence_url("record", document))
    return _record_page(document, 400, link_form=form)


@bp.route(ONE + "/links/<criterion>/delete", methods=["POST"])
@requires("evidence.edit")
def unlink(school_id, evidence_id, criterion):
    document = _document(evidence_id)
    try:
        services.unlink_criterion(current_user, document, criterion)
    except PortalError as error:
        flash(error.message, "danger")
    else:
        flash(_("No longer linked to %(criterion)s.", criterion=criterion), "success")
    return redirect(evidence_url("record", document))


@bp.route(ONE + "/links/<criterion>/review", methods=["POST"])
@requires("evidence.review")
def review(school_id, evidence_id, criterion):
    """Accept or reject the link to ``criterion`` (the button pressed), with a comment."""
    document = _document(evidence_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _record_page(document, 400)
    try:
        reviewed = services.review_link(current_user, document, criterion, {
            "decision": form.decision.data or "", "comment": form.comment.data or "",
            "version": parse_id(form.version.data or "")})
    except PortalError as error:
        return _record_page(document, error.status, review_errors={criterion: (error, form.comment.data or "")})
    flash(_("%(criterion)s: %(status)s.", criterion=criterion, status=LinkStatus(reviewed.status).label), "success")
    return redirect(evidence_url("record", document))


@bp.route(ONE + "/delete", methods=["POST"])
@requires("evidence.edit")
def delete(school_id, evidence_id):
    document = _document(evidence_id)
    try:
        services.remove_document(current_user, document)
    except PortalError as error:
        flash(error.message, "danger")
        return redirect(evidence_url("record", document))
    message = _("Deleted «%(title)s».", title=document.title)
    if not can(current_user, "evidence.restore"):
        message = f"{message} {_('A principal can restore it.')}"
    flash(message, "success")
    return redirect(evidence_url(school_id=school_id))
