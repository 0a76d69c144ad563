"""Report downloads of a school year: ``…/assessments/<year>/reports/tu-danh-gia.xlsx``
(and ``.pdf``), the self-assessment report, and ``…/danh-muc-minh-chung.xlsx`` (and
``.pdf``), the evidence catalogue; attachments under Vietnamese names (with an ASCII
fallback). A year with a sealed result gets it; the current year otherwise gets a draft;
any other year answers 404."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app

from app.accounts.policy import requires
from app.errors import NotFound
from app.evidence.downloads import content_disposition
from app.evidence.filecheck import stored_filename
from app.extensions import db
from app.reports import catalogue_pdf, catalogue_xlsx, self_assessment_pdf, self_assessment_xlsx
from app.reports.services import report_source
from app.schools.models import School
from app.schools.years import is_school_year
from app.spreadsheets import XLSX_TYPE

bp = Blueprint("reports", __name__)

BASE = "/schools/<id:school_id>/assessments/<year>/reports"
SELF_ASSESSMENT = "Báo cáo tự đánh giá mức độ chuyển đổi số"
CATALOGUE = "Danh mục minh chứng"
TYPES = {"xlsx": XLSX_TYPE, "pdf": "application/pdf"}


@bp.route(BASE + "/tu-danh-gia.xlsx", endpoint="self_assessment_xlsx")
@requires("assessments.view")
def download_self_assessment_xlsx(school_id, year):
    return _download(school_id, year, SELF_ASSESSMENT, self_assessment_xlsx, "xlsx")


@bp.route(BASE + "/tu-danh-gia.pdf", endpoint="self_assessment_pdf")
@requires("assessments.view")
def download_self_assessment_pdf(school_id, year):
    return _download(school_id, year, SELF_ASSESSMENT, self_assessment_pdf, "pdf")


@bp.route(BASE + "/danh-muc-minh-chung.xlsx", endpoint="catalogue_xlsx")
@requires("assessments.view")
def download_catalogue_xlsx(school_id, year):
    return _download(school_id, year, CATALOGUE, catalogue_xlsx, "xlsx")


@bp.route(BASE + "/danh-muc-minh-chung.pdf", endpoint="catalogue_pdf")
@requires("assessments.view")
def download_catalogue_pdf(school_id, year):
    return _download(school_id, year, CATALOGUE, catalogue_pdf, "pdf")


def _download(school_id: int, year: str, label: str, build: Callable[[dict, bool], bytes], extension: str):
    if not is_school_year(year):
        raise NotFound()
    school = db.session.get(School, school_id)
    snapshot, draft = report_source(school, year)
    data = build(snapshot, draft)
    name = stored_filename(f"{'BẢN NHÁP - ' if draft else ''}{label} {year} - "
                           f"{school.name.replace('/', '-').replace(chr(92), '-')}.{extension}")
    response = current_app.response_class(data, mimetype=TYPES[extension])
    response.headers["Content-Disposition"] = content_disposition("attachment", name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
