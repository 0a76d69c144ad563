"""The district's pages: its schools side by side for a year (a heat map of the
criteria by level, the level distribution of each group, filters, the table the Phòng
sends to the Sở) and the cross-checks; an admin's summary of a province's districts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from app import clock
from app.accounts.policy import requires
from app.assessments.models import AssessmentStatus
from app.dashboard.charts import Share, distribution
from app.districts import services
from app.districts.export import district_xlsx
from app.districts.flags import KINDS, district_flags
from app.districts.heatmap import heat_rows
from app.districts.services import Filters, Standing
from app.evidence.downloads import content_disposition
from app.evidence.filecheck import stored_filename
from app.extensions import db
from app.framework.loader import Framework
from app.framework.services import framework
from app.i18n import format_day
from app.inventory.capabilities import capability_label
from app.paging import ListPage
from app.schools.models import District, SchoolLevel
from app.schools.years import calendar_school_year, is_school_year
from app.spreadsheets import XLSX_TYPE

bp = Blueprint("districts", __name__, template_folder="templates")


@dataclass(frozen=True)
class _Asked:
    """What a district page or its export was asked for: the district, the year, the
    filters, the matching schools (all pages), the index and the submission deadline."""

    district: District
    year: str
    filters: Filters
    schools: list
    index: Framework
    due: date | None

    @property
    def group_codes(self) -> tuple[str, ...]:
        return tuple(group.code for group in self.index.groups)


def _asked(district_id: int) -> _Asked:
    district = db.session.get(District, district_id)
    year, filters = _year(district.id), _filters()
    return _Asked(district, year, filters, services.schools_of([district.id], year, filters), framework(),
                  services.submission_due(district.province, year))


@bp.route("/districts/<id:district_id>")
@requires("districts.view")
def district(district_id):
    asked = _asked(district_id)
    page = ListPage(asked.schools, services.PER_PAGE)
    rows = services.results(page.items, asked.year)
    # When the page shows every school, its rows are the whole district's: not read twice.
    every = rows if len(page.items) == len(asked.schools) else services.results(asked.schools, asked.year,
                                                                                 groups_only=True)
    summary = services.standing(every, asked.due, group_codes=asked.group_codes)
    return render_template(
        "districts/district.html", district=asked.district, year=asked.year, filters=asked.filters,
        years=services.years_of([asked.district.id]), page=page,
        rows=heat_rows(rows, asked.index, asked.due, clock.today()), index=asked.index, summary=summary,
        due=asked.due, chart=_chart(summary, asked.index),
        criteria=[criterion for group in asked.index.groups for criterion in group.criteria],
        group_names={group.code: _("G%(code)s", code=group.code) for group in asked.index.groups},
        statuses=list(AssessmentStatus), levels=list(SchoolLevel), args=_args(asked.year, asked.filters),
        waiting=AssessmentStatus.APPROVED)


@bp.route("/districts/<id:district_id>/export.xlsx")
@requires("districts.view")
def export(district_id):
    """The schools shown (the same year and filters) in the table the Phòng sends to the Sở."""
    asked = _asked(district_id)
    found = services.results(asked.schools, asked.year)
    summary = services.standing(found, asked.due, group_codes=asked.group_codes)
    data = district_xlsx(asked.district, asked.year, asked.index, found, summary, asked.due, clock.today())
    response = current_app.response_class(data, mimetype=XLSX_TYPE)
    district_name = asked.district.name.replace("/", "-").replace("\\", "-")
    name = stored_filename(f"Tổng hợp chuyển đổi số {asked.year} - {district_name}.xlsx")
    response.headers["Content-Disposition"] = content_disposition("attachment", name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/districts/<id:district_id>/flags")
@requires("districts.view")
def flags(district_id):
    district = db.session.get(District, district_id)
    year = _year(district.id)
    found = district_flags(services.schools_of([district.id], year), year, framework())
    return render_template("districts/flags.html", district=district, year=year,
                           years=services.years_of([district.id]), flags=found, kinds=KINDS,
                           capability_label=capability_label)


@bp.app_template_filter()
def iso_day(value: str) -> str:
    """An ISO date ("2027-03-31") as the portal writes days."""
    return format_day(date.fromisoformat(value))


@bp.route("/provinces")
@requires("provinces.view")
def provinces():
    return render_template("districts/provinces.html", provinces=services.provinces())


@bp.route("/provinces/<path:province>")
@requires("provinces.view")
def province(province):
    if not any(name == province for name, _count in services.provinces()):
        abort(404)
    year = _requested_year() or calendar_school_year()
    filters = _filters()
    index = framework()
    rows, whole = services.province_summary(province, year, tuple(group.code for group in index.groups), filters)
    return render_template("districts/province.html", province=province, year=year, filters=filters, rows=rows,
                           whole=whole, index=index, chart=_chart(whole, index), levels=list(SchoolLevel),
                           statuses=list(AssessmentStatus),
                           years=services.years_of([row.district.id for row in rows]))


def _requested_year() -> str | None:
    year = request.args.get("year", "")
    return year if is_school_year(year) else None


def _year(district_id: int) -> str:
    """The year asked for, else the newest the district has worked in."""
    return _requested_year() or services.years_of([district_id])[0]


def _filters() -> Filters:
    """The filters of the query string; unknown values are ignored."""
    return Filters(level=_member(SchoolLevel, request.args.get("level", "")),
                   status=_member(AssessmentStatus, request.args.get("status", "")),
                   q=request.args.get("q", "").strip()[:100])


def _member(kind, value: str):
    return next((member for member in kind if member.value == value), None)


def _args(year: str, filters: Filters) -> dict:
    """The query arguments keeping ``year`` and ``filters`` (for links and the pager)."""
    found = {"year": year, "level": filters.level.value if filters.level else None,
             "status": filters.status.value if filters.status else None, "q": filters.q or None}
    return {key: value for key, value in found.items() if value}


def _chart(summary: Standing, index) -> str:
    """The level distribution of each group of ``summary``."""
    rows = []
    for group in index.groups:
        counts = summary.levels.get(group.code, {})
        rows.append((_("G%(code)s", code=group.code), [
            Share(_("Level %(n)d", n=level), counts.get(level, 0), level) for level in (3, 2, 1)] + [
            Share(_("Not met"), counts.get(None, 0), None), Share(_("No figures yet"), counts.get("none", 0),
                                                                          "none")]))
    description = "; ".join(f"{name}: " + ", ".join(f"{share.label} {share.count}" for share in shares)
                            for name, shares in rows)
    return distribution(rows, _("Schools by level in each group"), description)

