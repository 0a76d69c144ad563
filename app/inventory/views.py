"""Pages for every kind of inventory record, generated per collection: a list (search,
filters, sort, pages, XLSX export) with the live score of the criteria its records feed,
a record page with its history, the add/edit form, delete, and the deleted records a
principal can restore. Equipment also has fast entry (N items at once) and bulk changes."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Date, select
from wtforms import DateField

from app.accounts.policy import requires
from app.db_types import parse_id
from app.errors import PortalError
from app.extensions import db
from app.framework.loader import Framework
from app.framework.scores import live_scorecard, score_change
from app.framework.services import framework
from app.framework.supports import supports
from app.i18n import format_day, format_number
from app.inventory import imports, services
from app.inventory.capabilities import capability_label
from app.inventory.forms import FORMS, BulkEquipmentForm, ImportForm
from app.inventory.labels import MAX_LABELS, only_this_computer, public_base, qr_svg
from app.inventory.listing import LISTINGS, list_request, listed
from app.inventory.models import Room
from app.inventory.services import COLLECTIONS, Collection
from app.inventory.summaries import summary_of
from app.paging import paginate
from app.schools.models import School
from app.search import fold
from app.spreadsheets import XLSX_TYPE, workbook_response

bp = Blueprint("inventory", __name__, template_folder="templates")

# The criteria each kind of record feeds, shown beside its list.
FEEDS = {"rooms": ("1.7",), "equipment": ("1.5", "1.7"), "software": ("1.3", "1.5", "2.3", "2.4"),
         "materials": ("1.4",), "staff": ("1.6", "2.1")}
EXPORT_BATCH = 500


@bp.app_template_global()
def inventory_url(collection: Collection | str, action: str = "", school_id: int | None = None,
                  record=None, **args) -> str:
    """The URL of a collection's page: ``action`` "" (list), "new", "record", "edit",
    "delete", "export", "deleted", "restore" or "bulk"."""
    collection = COLLECTIONS[collection] if isinstance(collection, str) else collection
    if record is not None:
        args[collection.param] = record.id
        school_id = record.school_id
    return url_for(f"inventory.{collection.key}{'_' + action if action else ''}", school_id=school_id, **args)


@bp.app_template_filter()
def cell(value) -> str:
    """A list or record cell: dates as dd/mm/yyyy, numbers in the user's locale, nothing as —."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return format_day(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    return value


@bp.context_processor
def _collections():
    return {"collections": COLLECTIONS}


def history_value(model: type):
    """How a value kept in the audit trail reads on ``model``'s record page."""
    def shown(name: str, value) -> str:
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if name == "capabilities" and isinstance(value, list):
            return ", ".join(capability_label(key) for key in value) or "—"
        if name == "room_id" and isinstance(value, int):
            room = db.session.get(Room, value)
            return room.name if room else f"#{value}"
        column = model.__table__.columns.get(name)
        enum_class = getattr(column.type, "enum_class", None) if column is not None else None
        if enum_class is not None and value in {member.value for member in enum_class}:
            return enum_class(value).label
        if column is not None and isinstance(column.type, Date) and isinstance(value, str):
            return format_day(date.fromisoformat(value))
        return cell(value)
    return shown


def file_word(collection: Collection) -> str:
    """The collection's Vietnamese name as it goes into a file name ("thiet-bi")."""
    with force_locale("vi"):
        return "-".join(fold(str(collection.label)).split())


def field_labels(model: type) -> dict:
    """Field name → label, for the changes of ``model``'s records in their history."""
    return {"room_id": _l("Room"), "notes": _l("Notes"),
            **{column.key: column.label for column in LISTINGS[model].columns}}


def _criterion_of(index: Framework) -> dict[str, str]:
    """Criterion or sub-item code → the code of its criterion (the scorecard's anchor)."""
    return {part.code: criterion.code for criterion in index.criteria for part in (criterion, *criterion.items)}


def _rooms_of(school_id: int) -> list[Room]:
    return list(db.session.scalars(select(Room).where(Room.school_id == school_id).order_by(Room.name)))


def _form_for(collection: Collection, school: School, record=None):
    form_class = FORMS[collection.key]
    if collection.name == "equipment":
        return form_class(obj=record, rooms=_rooms_of(school.id))
    form = form_class(obj=record)
    if collection.name == "software" and record is not None and not form.is_submitted():
        form.capabilities.data = record.capabilities
    return form


def register(collection: Collection) -> None:
    """Add the pages of ``collection`` to the blueprint."""
    model, name = collection.model, collection.name
    base = f"/schools/<id:school_id>/{name}"
    one = f"{base}/<id:{collection.param}>"

    def wanted_records(school_id: int):
        """What the list's URL asks for, and the query for it."""
        wanted = list_request(model, request.args)
        return wanted, listed(model, school_id, wanted, collection.order_by())

    def list_page(school_id):
        school = db.session.get(School, school_id)
        wanted, query = wanted_records(school.id)
        page = paginate(query)
        feeds = FEEDS.get(name, ())
        return render_template("inventory/list.html", school=school, collection=collection, wanted=wanted,
                               listing=LISTINGS[model], page=page, feeds=feeds,
                               scorecard=live_scorecard(school) if feeds else None)

    def export(school_id):
        school = db.session.get(School, school_id)
        columns = LISTINGS[model].columns
        records = db.session.scalars(wanted_records(school.id)[1].execution_options(yield_per=EXPORT_BATCH))
        rows = ([column.of(record) for column in columns] for record in records)
        return workbook_response(f"{school.code}-danh-sach-{file_word(collection)}.xlsx",
                                 [(str(collection.label), [str(column.label) for column in columns], rows)])

    def record_page(school_id, **ids):
        record = db.session.get(model, ids[collection.param])
        index = framework()
        return render_template("inventory/record.html", school=record.school, collection=collection,
                               record=record, listing=LISTINGS[model], history=services.history_of(record),
                               labels=field_labels(model), shown=history_value(model),
                               supports=supports(record, index), criterion_of=_criterion_of(index))

    def form_page(school_id, **ids):
        school = db.session.get(School, school_id)
        record = db.session.get(model, ids[collection.param]) if ids else None
        form = _form_for(collection, school, record)
        if form.validate_on_submit() and _save(form, school, collection, record):
            return redirect(inventory_url(collection, school_id=school.id, **({"page": request.args["page"]}
                                                                               if "page" in request.args else {})))
        capability_items = framework().capability_items() if name == "software" else {}
        status = 409 if getattr(form, "stale", False) else 400 if form.errors or form.form_errors else 200
        return render_template("inventory/form.html", form=form, school=school, collection=collection,
                               record=record, capability_items=capability_items,
                               meanwhile=getattr(form, "meanwhile", ()), labels=field_labels(model),
                               shown=history_value(model)), status

    def delete(school_id, **ids):
        record = db.session.get(model, ids[collection.param])
        try:
            services.delete_record(current_user, record)
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("Deleted %(name)s.", name=str(record)), "success")
        return redirect(inventory_url(collection, school_id=school_id))

    def deleted(school_id):
        school = db.session.get(School, school_id)
        return render_template("inventory/deleted.html", school=school, collection=collection,
                               events=services.deleted_records(collection, school.id))

    def restore(school_id):
        school = db.session.get(School, school_id)
        try:
            record = services.restore_record(current_user, school, collection,
                                             parse_id(request.form.get("event_id", "")) or 0)
        except PortalError as error:
            flash(error.message, "danger")
            return deleted(school.id), error.status
        flash(_("Restored %(name)s.", name=str(record)), "success")
        return redirect(inventory_url(collection, "record", record=record))

    pages = [
        (base, "", list_page, ["GET"], "inventory.view"),
        (f"{base}/export.xlsx", "_export", export, ["GET"], "inventory.view"),
        (f"{base}/new", "_new", form_page, ["GET", "POST"], "inventory.edit"),
        (one, "_record", record_page, ["GET"], "inventory.view"),
        (f"{one}/edit", "_edit", form_page, ["GET", "POST"], "inventory.edit"),
        (f"{one}/delete", "_delete", delete, ["POST"], "inventory.edit"),
        (f"{base}/deleted", "_deleted", deleted, ["GET"], "inventory.restore"),
        (f"{base}/restore", "_restore", restore, ["POST"], "inventory.restore"),
    ]
    for rule, suffix, view, methods, action in pages:
        view.__name__ = f"{collection.key}{suffix}"
        bp.add_url_rule(rule, view.__name__, requires(action)(view), methods=methods)


def _save(form, school: School, collection: Collection, record) -> bool:
    """Create (``form.quantity`` of them, for equipment) or change ``record`` from
    ``form``; on a refusal the messages go next to the fields and nothing is saved. A
    change based on an old version shows what was saved meanwhile (``form.meanwhile``)
    and keeps what was typed, ready to be saved over it."""
    data = form.record_data()
    quantity = form.quantity.data if hasattr(form, "quantity") and record is None else 1
    before = live_scorecard(school) if collection.name in FEEDS else None
    try:
        if record is not None:
            # A form without its version (tampered, or from before versions) counts as stale.
            services.update_record(current_user, record, data, version=parse_id(form.version.data or "") or 0)
        elif quantity > 1:
            if data.get("asset_tag"):
                form.asset_tag.errors = [_("Leave the asset tag empty to add several items: each gets its own.")]
                return False
            services.create_records(current_user, school, collection, [data] * quantity)
        else:
            services.create_record(current_user, school, collection, data)
    except services.StaleRecord as error:
        form.form_errors.append(error.message)
        form.meanwhile = error.changes
        form.version.data = str(error.current_version or "")
        form.stale = True
        if error.current_version:
            _take_their_changes(form, record, error.changes)
        return False
    except PortalError as error:
        form.show_errors(error, renames={f"{index}.{field}": field for index in range(quantity)
                                         for field in data})
        return False
    saved = _("Added %(n)d items.", n=quantity) if quantity > 1 else _("Saved.")
    flash(_with_score_change(saved, school, collection.name, before), "success")
    return True


def _take_their_changes(form, record, changes) -> None:
    """On a stale save: each field that someone else changed meanwhile and this person
    left as it was takes the saved value, so that saving again keeps both people's
    changes; a field both changed keeps what this person typed."""
    typed = form.record_data()
    first_seen: dict = {}
    for event in changes:
        for name, (before, _after) in (event.details.get("changes") or {}).items():
            first_seen.setdefault(name, before)
    saved = services.snapshot(record)  # the record as saved now (reloaded after the rollback)
    for name, before in first_seen.items():
        field = getattr(form, name, None)
        if field is None or typed.get(name) != before or name not in saved:
            continue
        value = saved[name]
        if isinstance(field, DateField):
            value = date.fromisoformat(value) if value else None
        elif name == "room_id":
            value = str(value) if value else ""
        field.data, field.raw_data = value, None


def _with_score_change(message: str, school: School, collection_name: str, before) -> str:
    """``message`` and what the change did to the score since ``before`` (its scorecard
    then), for records that feed the score."""
    if collection_name not in FEEDS:
        return message
    return f"{message} {score_change(before, live_scorecard(school), FEEDS[collection_name])}"


@bp.route("/schools/<id:school_id>/equipment/bulk", methods=["POST"])
@requires("inventory.edit")
def equipment_bulk(school_id):
    """Selected equipment: set a status, or move it to a room (or out of rooms)."""
    school = db.session.get(School, school_id)
    form = BulkEquipmentForm()
    changes = {}
    if form.validate_on_submit():
        if form.status.data:
            changes["status"] = form.status.data
        room = form.room_id.data
        if room == "none":
            changes["room_id"] = None
        elif room:  # the schema refuses anything but a room id
            changes["room_id"] = parse_id(room) or room
    back = redirect(request.form.get("back", "") if request.form.get("back", "").startswith(
        f"/schools/{school.id}/equipment") else inventory_url("equipment", school_id=school.id))
    if not changes:
        flash(_("Choose a status or a room for the selected items."), "warning")
        return back
    before = live_scorecard(school)
    try:
        changed = services.update_equipment(current_user, school, form.ids.data or [], changes)
    except PortalError as error:
        flash(" ".join([error.message, *error.fields.values()]), "danger")
        return back
    flash(_with_score_change(_("Changed %(n)d items.", n=changed), school, "equipment", before), "success")
    return back


@bp.route("/schools/<id:school_id>/equipment/labels", methods=["GET", "POST"])
@requires("inventory.view")
def equipment_labels(school_id):
    """A printable sheet of QR labels (asset tag, name, room) for the equipment chosen by
    ``ids``: ticked on the list (POST) or given in the address (one item's page)."""
    school = db.session.get(School, school_id)
    ids = list(dict.fromkeys(filter(None, map(parse_id, request.values.getlist("ids")))))
    back = redirect(inventory_url("equipment", school_id=school.id))
    if not ids:
        flash(_("Tick the items to print labels for."), "warning")
        return back
    if len(ids) > MAX_LABELS:
        flash(_("At most %(n)d labels at once: filter the list (by room, for example) and print in parts.",
                n=MAX_LABELS), "warning")
        return back
    base = public_base()
    labels = [(item, qr_svg(base + inventory_url("equipment", "record", record=item)))
              for item in services.equipment_for_labels(school.id, ids)]
    return render_template("inventory/labels.html", school=school, labels=labels, base=base,
                           unreachable=only_this_computer(base))


@bp.route("/schools/<id:school_id>/inventory/summary")
@requires("inventory.view")
def summary(school_id):
    """The plan's summary tables of the inventory, and the same as XLSX."""
    school = db.session.get(School, school_id)
    return render_template("inventory/summary.html", school=school, summary=summary_of(school.id))


@bp.route("/schools/<id:school_id>/inventory/summary.xlsx")
@requires("inventory.view")
def summary_export(school_id):
    school = db.session.get(School, school_id)
    found = summary_of(school.id)
    figures = (_("Figures"), [_("Figure"), _("Value")], [list(figure) for figure in found.figures])
    return workbook_response(f"{school.code}-tong-hop-kiem-ke.xlsx", [figures, *(
        (table.title, table.headers, [*table.rows, *([table.total] if table.total else [])])
        for table in found.tables)])


@bp.route("/schools/<id:school_id>/inventory/import", methods=["GET", "POST"])
@requires("inventory.edit")
def import_page(school_id):
    """Upload a filled template (or a CSV of one kind): every problem listed, or all saved."""
    school = db.session.get(School, school_id)
    form = ImportForm()
    result = None
    if form.validate_on_submit():
        before = live_scorecard(school)
        upload = form.file.data
        try:
            result = imports.import_file(current_user, school, upload.filename or "", upload.read())
        except PortalError as error:
            form.file.errors = [error.message]
    status = 400 if form.errors or (result and result.problems) else 200
    if result and result.created:
        imported = _("Imported %(n)d records.", n=sum(result.created.values()))
        flash(f"{imported} {score_change(before, live_scorecard(school), ())}", "success")
    return render_template("inventory/import.html", school=school, form=form, result=result), status


@bp.route("/schools/<id:school_id>/inventory/import/template.xlsx")
@requires("inventory.edit")
def import_template(school_id):
    school = db.session.get(School, school_id)
    response = current_app.response_class(imports.template_workbook(school), mimetype=XLSX_TYPE)
    response.headers["Content-Disposition"] = f"attachment; filename=mau-nhap-kiem-ke-{school.code}.xlsx"
    return response


for _collection in COLLECTIONS.values():
    register(_collection)
