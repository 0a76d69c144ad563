"""``/api/v1/schools``: the schools the caller may see; admins create, admins and
principals edit (principals: the counts of their own school)."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from app.accounts.policy import requires, visible_schools
from app.api import ApiBlueprint, PageArgs, page_of, page_schema
from app.extensions import db
from app.schools import services
from app.schools.models import School
from app.schools.schemas import SchoolQuery, SchoolSchema

blp = ApiBlueprint("api_schools", __name__, url_prefix="/schools", description="Schools")


@blp.route("", methods=["GET"])
@requires("schools.view")
@blp.arguments(SchoolQuery, location="query", as_kwargs=True)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(SchoolSchema))
def list_schools(paging, q):
    """The schools visible to the caller, by name."""
    query = services.search_schools(select(School).where(visible_schools(current_user)).order_by(School.name), q)
    return page_of(query, paging)


@blp.route("", methods=["POST"])
@requires("schools.create")
@blp.arguments(SchoolSchema)
@blp.response(201, SchoolSchema)
def create_school(data):
    return services.create_school(current_user, data)


@blp.route("/<id:school_id>", methods=["GET"])
@requires("schools.view")
@blp.response(200, SchoolSchema)
def get_school(school_id):
    return db.get_or_404(School, school_id)


@blp.route("/<id:school_id>", methods=["PATCH"])
@requires("schools.edit")
@blp.arguments(SchoolSchema(partial=True))
@blp.response(200, SchoolSchema)
def update_school(changes, school_id):
    return services.update_school(current_user, db.get_or_404(School, school_id), changes)
