"""Pages for schools and districts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import clock
from app.accounts.models import Role
from app.accounts.policy import requires, visible_schools
from app.errors import PortalError
from app.extensions import db
from app.paging import paginate, search_text
from app.schools import services
from app.schools.forms import DistrictForm, SchoolCountsForm, SchoolForm
from app.schools.models import District, School
from app.schools.years import first_day, next_school_year

bp = Blueprint("schools", __name__, template_folder="templates")

def _districts() -> list[District]:
    return list(db.session.scalars(select(District).order_by(District.province, District.name)))


@bp.route("/schools")
@requires("schools.view")
def index():
    q = search_text()
    query = services.search_schools(
        select(School).where(visible_schools(current_user)).order_by(School.name), q)
    page = paginate(query)
    return render_template("schools/index.html", page=page, q=q)


@bp.route("/schools/new", methods=["GET", "POST"])
@requires("schools.create")
def create():
    districts = _districts()
    form = SchoolForm(districts=districts)
    if not districts:
        flash(_("Add the district first: a school belongs to a district."), "warning")
        return redirect(url_for("schools.create_district"))
    if form.validate_on_submit():
        try:
            school = services.create_school(current_user, _school_data(form))
        except PortalError as error:
            form.show_errors(error)
        else:
            flash(_("School %(name)s created.", name=school.name), "success")
            return redirect(url_for("schools.detail", school_id=school.id))
    return render_template("schools/form.html", form=form, school=None), 400 if form.errors else 200


def _school_data(form) -> dict:
    data = {name: field.data for name, field in form._fields.items() if name not in ("csrf_token", "district_id")}
    if "district_id" in form:
        district = db.session.get(District, form.district_id.data)
        if district is not None:
            data.update(district=district.name, province=district.province)
    return data


@bp.route("/schools/<id:school_id>")
@requires("schools.view")
def detail(school_id):
    return _detail_page(db.get_or_404(School, school_id))


def _detail_page(school: School) -> str:
    coming = next_school_year(school.school_year)
    return render_template("schools/detail.html", school=school, next_year=coming, next_year_opens=first_day(coming),
                           next_year_open=first_day(coming) <= clock.today())


@bp.route("/schools/<id:school_id>/edit", methods=["GET", "POST"])
@requires("schools.edit")
def edit(school_id):
    school = db.get_or_404(School, school_id)
    if current_user.role == Role.ADMIN:
        form = SchoolForm(obj=school, districts=_districts())
    else:
        form = SchoolCountsForm(obj=school)
    if form.validate_on_submit():
        try:
            services.update_school(current_user, school, _school_data(form))
        except PortalError as error:
            form.show_errors(error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("schools.detail", school_id=school.id))
    return render_template("schools/form.html", form=form, school=school), 400 if form.errors else 200


@bp.route("/districts")
@requires("districts.view")
def districts():
    query = select(District).order_by(District.province, District.name)
    if current_user.role != Role.ADMIN:
        query = query.where(District.id == current_user.district_id)
    return render_template("schools/districts.html", districts=list(db.session.scalars(query)))


@bp.route("/districts/new", methods=["GET", "POST"])
@requires("districts.manage")
def create_district():
    return _district_form(None)


@bp.route("/districts/<id:district_id>/edit", methods=["GET", "POST"])
@requires("districts.manage")
def edit_district(district_id):
    return _district_form(db.get_or_404(District, district_id))


def _district_form(district: District | None):
    form = DistrictForm(obj=district)
    if form.validate_on_submit():
        try:
            if district is None:
                services.create_district(current_user, form.name.data, form.province.data)
            else:
                services.rename_district(current_user, district, form.name.data, form.province.data)
        except PortalError as error:
            form.show_errors(error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("schools.districts"))
    return render_template("schools/district_form.html", form=form, district=district), 400 if form.errors else 200

