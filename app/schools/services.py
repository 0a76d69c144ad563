"""Schools and districts: validated creation and changes, each audited."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app import audit, clock
from app.accounts.models import Role, User
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.i18n import format_day
from app.schools.models import District, School, SchoolLevel
from app.schools.years import first_day, next_school_year

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{1,31}$")
COUNT_FIELDS = ("students", "teachers", "classes", "largest_class_size")
# What a principal may keep up to date about their own school; the rest is the admin's.
PRINCIPAL_FIELDS = frozenset(COUNT_FIELDS)
MAX_COUNT = 100_000


def _text(value) -> str:
    return " ".join(str(value or "").split())


def _validate(data: dict) -> dict[str, str]:
    """Messages for the fields in ``data`` that break a rule."""
    errors = {}
    if "code" in data and not CODE_PATTERN.match(data["code"]):
        errors["code"] = _("2 to 32 letters, digits, '.', '_' or '-', e.g. THCVA.")
    for name, limit in (("name", 200), ("province", 120), ("district", 120)):
        if name in data:
            if not data[name]:
                errors[name] = _("This field is required.")
            elif len(data[name]) > limit:
                errors[name] = _("At most %(n)d characters.", n=limit)
    if "level" in data and data["level"] not in {level.value for level in SchoolLevel}:
        errors["level"] = _("Choose the school level.")
    for name in COUNT_FIELDS:
        if name in data:
            value = data[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
                errors[name] = _("A whole number from 0 to %(max)d.", max=MAX_COUNT)
    return errors


def _class_size_problem(students: int, largest_class_size: int) -> dict[str, str]:
    if students and largest_class_size > students:
        return {"largest_class_size": _("The largest class cannot have more pupils than the school.")}
    return {}


def _snapshot(school: School) -> dict:
    return {"code": school.code, "name": school.name, "level": school.level.value,
            "province": school.province, "district": school.district.name,
            **{name: getattr(school, name) for name in COUNT_FIELDS}}


def _clean(data: dict) -> dict:
    cleaned = {}
    for key, value in data.items():
        if key in ("name", "province", "district"):
            value = _text(value)
        elif key == "code":
            value = _text(value).upper()
        elif key == "level" and isinstance(value, SchoolLevel):
            value = value.value
        cleaned[key] = value
    return cleaned


def district_for(name: str, province: str, actor=None) -> District:
    """The district called ``name`` in ``province``, created (and audited) if new."""
    district = db.session.scalar(select(District).where(District.name == name, District.province == province))
    if district is None:
        district = District(name=name, province=province)
        db.session.add(district)
        audit.record(actor, "district.created", district, name=name, province=province)
    return district


def create_school(actor: User | None, data: dict) -> School:
    """Create a school from ``data`` (name, code, level, province, district and counts)."""
    data = _clean(data)
    required = ("name", "code", "level", "province", "district")
    errors = {name: _("This field is required.") for name in required if not data.get(name)}
    errors.update(_validate({key: value for key, value in data.items() if key not in errors}))
    if not errors:
        errors = _class_size_problem(data.get("students") or 0, data.get("largest_class_size") or 0)
    if errors:
        raise ValidationFailed(fields=errors)
    if db.session.scalar(select(School.id).where(School.code == data["code"])):
        raise Conflict(_("A school with this code already exists."),
                       fields={"code": _("A school with this code already exists.")})
    school = School(code=data["code"], name=data["name"], level=SchoolLevel(data["level"]),
                    district=district_for(data["district"], data["province"], actor),
                    **{name: data.get(name) or 0 for name in COUNT_FIELDS})
    db.session.add(school)
    audit.record(actor, "school.created", school, code=school.code, name=school.name)
    db.session.commit()
    return school


def start_next_year(actor: User | None, school: School, today: date | None = None, commit: bool = True) -> str:
    """Move ``school`` into the school year after its current one, once the calendar has
    reached it (from 1 August). The inventory is kept as it is, so the new year's live
    score starts from it. Raises Conflict before then. Returns the new year."""
    year = next_school_year(school.school_year)
    if first_day(year) > (today or clock.today()):
        raise Conflict(_("School year %(year)s begins on %(day)s: it can be started from then.",
                         year=year, day=format_day(first_day(year))))
    before, school.school_year = school.school_year, year
    audit.record(actor, "school.year_started", school, changes={"school_year": [before, year]})
    if commit:
        db.session.commit()
    return year


def update_school(actor: User, school: School, changes: dict) -> School:
    """Apply ``changes`` to ``school``. A principal may change only the counts."""
    changes = _clean(changes)
    if actor.role != Role.ADMIN:
        refused = {name: _("Only an administrator can change this.") for name in changes
                   if name not in PRINCIPAL_FIELDS}
        if refused:
            raise ValidationFailed(fields=refused)
    errors = _validate(changes) or _class_size_problem(
        changes.get("students", school.students), changes.get("largest_class_size", school.largest_class_size))
    if errors:
        raise ValidationFailed(fields=errors)
    if "code" in changes and changes["code"] != school.code and db.session.scalar(
            select(School.id).where(School.code == changes["code"])):
        raise Conflict(_("A school with this code already exists."),
                       fields={"code": _("A school with this code already exists.")})
    before = _snapshot(school)
    for name in ("code", "name", *COUNT_FIELDS):
        if name in changes:
            setattr(school, name, changes[name])
    if "level" in changes:
        school.level = SchoolLevel(changes["level"])
    if "district" in changes or "province" in changes:
        school.district = district_for(changes.get("district", school.district.name),
                                       changes.get("province", school.province), actor)
    after = _snapshot(school)
    diff = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if diff:
        audit.record(actor, "school.updated", school, changes=diff)
    db.session.commit()
    return school


def search_schools(query, text: str):
    if text:
        pattern = f"%{text.strip()}%"
        query = query.where(or_(School.name.ilike(pattern), School.code.ilike(pattern)))
    return query


def _district_fields(name: str, province: str, district_id: int | None = None) -> tuple[str, str]:
    """Cleaned (name, province); raises when invalid or taken by another district."""
    name, province = _text(name), _text(province)
    errors = _validate({"district": name, "province": province})
    if errors:
        raise ValidationFailed(fields={"name" if key == "district" else key: text for key, text in errors.items()})
    clash = db.session.scalar(select(District.id).where(
        District.name == name, District.province == province, District.id != (district_id or 0)))
    if clash:
        raise Conflict(_("This district already exists in this province."),
                       fields={"name": _("This district already exists in this province.")})
    return name, province


def create_district(actor: User, name: str, province: str) -> District:
    name, province = _district_fields(name, province)
    district = district_for(name, province, actor)
    db.session.commit()
    return district


def rename_district(actor: User, district: District, name: str, province: str) -> District:
    name, province = _district_fields(name, province, district.id)
    audit.record(actor, "district.updated", district,
                 changes={"name": [district.name, name], "province": [district.province, province]})
    district.name, district.province = name, province
    db.session.commit()
    return district
