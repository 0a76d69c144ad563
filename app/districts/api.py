"""``/api/v1/districts`` (api.md, District): the districts the caller may see, and the
schools of one side by side from their stored results."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from sqlalchemy import func, select

from app.accounts.models import Role
from app.accounts.policy import requires, visible_schools
from app.api import ApiBlueprint, PageArgs, page_of, page_schema
from app.assessments.models import AssessmentStatus
from app.assessments.schemas import YearQuery
from app.districts.flags import district_flags as flags_of
from app.districts.services import results, schools_of, years_of
from app.extensions import db
from app.framework.services import framework
from app.schools.models import District, School

blp = ApiBlueprint("api_districts", __name__, url_prefix="/districts", description="Districts")


class DistrictSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    province = ma.fields.String()


class SchoolRefSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()


class SchoolResultSchema(ma.Schema):
    school = ma.fields.Nested(SchoolRefSchema)
    status = ma.fields.Enum(AssessmentStatus, by_value=True)
    source = ma.fields.String(allow_none=True, metadata={"description": "evaluated, sealed, live, or null"})
    groups = ma.fields.List(ma.fields.Dict())
    criteria = ma.fields.List(ma.fields.Dict())


@blp.route("", methods=["GET"])
@requires("districts.view")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(DistrictSchema))
def list_districts(paging):
    """The districts the caller may see (a district officer: their own), by province and name."""
    query = select(District).order_by(District.province, District.name)
    if current_user.role != Role.ADMIN:
        query = query.where(District.id == current_user.district_id)
    return page_of(query, paging)


@blp.route("/<id:district_id>/scores", methods=["GET"])
@requires("districts.view")
@blp.arguments(YearQuery, location="query", as_kwargs=True)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(SchoolResultSchema))
def district_scores(paging, district_id, year=None):
    """Each school of the district (by name) with its assessment's status and its result
    in ``year`` (each school's current year when absent): the district's evaluation, else
    the sealed result, else the school's stored live score."""
    query = (select(School).where(School.district_id == district_id, visible_schools(current_user))
             .order_by(School.name))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    schools = db.session.scalars(query.limit(paging["per_page"]).offset((paging["page"] - 1) * paging["per_page"]))
    return {"items": results(list(schools), year), "total": total}


class FlagSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "same_file, capability_without_software, "
                                                     "points_without_change or evidence_after_submission"})
    label = ma.fields.String()
    schools = ma.fields.List(ma.fields.Nested(SchoolRefSchema))
    records = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "evidence {id, school_id, title, ...}, criterion {code, before, after} or item "
                       "{code, points, capabilities}, by their type"})


@blp.route("/<id:district_id>/flags", methods=["GET"])
@requires("districts.view")
@blp.arguments(YearQuery, location="query", as_kwargs=True)
@blp.response(200, FlagSchema(many=True))
def district_flags(district_id, year=None):
    """The cross-checks that deserve a look in ``year`` (the newest year the district's
    schools have worked in when absent), each with its kind, schools and records."""
    year = year or years_of([district_id])[0]
    schools = schools_of([district_id], year)
    return flags_of(schools, year, framework())
