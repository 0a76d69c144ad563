"""Pages for rooms and equipment; each list shows the live score of the criteria its
records feed, so a change is seen in the score right after saving."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.policy import requires
from app.errors import PortalError
from app.extensions import db
from app.framework.scores import live_scorecard
from app.inventory import services
from app.inventory.forms import EquipmentForm, RoomForm
from app.inventory.models import Equipment, Room
from app.inventory.services import COLLECTIONS
from app.paging import paginate
from app.schools.models import School

bp = Blueprint("inventory", __name__, template_folder="templates")

# The criteria each kind of record feeds, shown beside its list.
FEEDS = {"rooms": ("1.7",), "equipment": ("1.5", "1.7")}


def _list_page(school: School, collection_name: str, template: str, **context):
    query = services.records_of(COLLECTIONS[collection_name], school.id)
    return render_template(template, school=school, page=paginate(query), scorecard=live_scorecard(school),
                           feeds=FEEDS[collection_name], **context)


def _save(form, school: School, record, collection_name: str):
    """Create or change ``record`` from ``form``; returns the service error, if any."""
    try:
        if record is None:
            services.create_record(current_user, school, COLLECTIONS[collection_name], form.record_data())
        else:
            services.update_record(current_user, record, form.record_data())
    except PortalError as error:
        form.show_errors(error)
        return error
    flash(_("Saved. The score below is up to date."), "success")
    return None


def _rooms_of(school: School) -> list[Room]:
    return list(db.session.scalars(select(Room).where(Room.school_id == school.id).order_by(Room.name)))


@bp.route("/schools/<id:school_id>/rooms")
@requires("inventory.view")
def rooms(school_id):
    return _list_page(db.session.get(School, school_id), "rooms", "inventory/rooms.html",
                      equipment_count=services.equipment_count_by_room)


@bp.route("/schools/<id:school_id>/rooms/new", methods=["GET", "POST"])
@bp.route("/schools/<id:school_id>/rooms/<id:room_id>/edit", methods=["GET", "POST"])
@requires("inventory.edit")
def room_form(school_id, room_id=None):
    school = db.session.get(School, school_id)
    room = db.session.get(Room, room_id) if room_id else None
    form = RoomForm(obj=room)
    if form.validate_on_submit() and _save(form, school, room, "rooms") is None:
        return redirect(url_for("inventory.rooms", school_id=school.id))
    return render_template("inventory/room_form.html", form=form, school=school, room=room), \
        400 if form.errors or form.form_errors else 200


@bp.route("/schools/<id:school_id>/equipment")
@requires("inventory.view")
def equipment(school_id):
    return _list_page(db.session.get(School, school_id), "equipment", "inventory/equipment.html")


@bp.route("/schools/<id:school_id>/equipment/new", methods=["GET", "POST"])
@bp.route("/schools/<id:school_id>/equipment/<id:equipment_id>/edit", methods=["GET", "POST"])
@requires("inventory.edit")
def equipment_form(school_id, equipment_id=None):
    school = db.session.get(School, school_id)
    item = db.session.get(Equipment, equipment_id) if equipment_id else None
    form = EquipmentForm(obj=item, rooms=_rooms_of(school))
    if form.validate_on_submit() and _save(form, school, item, "equipment") is None:
        return redirect(url_for("inventory.equipment", school_id=school.id))
    return render_template("inventory/equipment_form.html", form=form, school=school, item=item), \
        400 if form.errors or form.form_errors else 200


@bp.route("/schools/<id:school_id>/rooms/<id:room_id>/delete", methods=["POST"])
@bp.route("/schools/<id:school_id>/equipment/<id:equipment_id>/delete", methods=["POST"])
@requires("inventory.edit")
def delete(school_id, room_id=None, equipment_id=None):
    record = db.session.get(Room, room_id) if room_id else db.session.get(Equipment, equipment_id)
    endpoint = "inventory.rooms" if room_id else "inventory.equipment"
    try:
        services.delete_record(current_user, record)
    except PortalError as error:
        flash(error.message, "danger")
    else:
        flash(_("Deleted %(name)s.", name=str(record)), "success")
    return redirect(url_for(endpoint, school_id=school_id))
