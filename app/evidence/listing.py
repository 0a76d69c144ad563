"""The evidence list: its columns (the XLSX export's too), filters — criterion (a
criterion also finds its sub-items), type, school year, review status — and sort keys,
as an inventory list's (app.inventory.listing)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import defer, joinedload, selectinload

from app.evidence.models import DocType, EvidenceDocument, EvidenceFile, EvidenceLink, LinkStatus
from app.evidence.search import hits
from app.evidence.services import linkable_codes
from app.extensions import db
from app.framework.services import framework
from app.inventory.listing import LISTINGS, Column, Filter, Listing, enum_filter, list_request, listed

YEAR = re.compile(r"[0-9]{4}-[0-9]{4}")


def _criterion_options(_school_id: int) -> list[tuple[str, str]]:
    return [(code, f"{code} {target.title}"[:90]) for code, target in linkable_codes(framework()).items()]


def _linked_to(value: str):
    if value not in linkable_codes(framework()):
        return None
    return exists().where(EvidenceLink.document_id == EvidenceDocument.id, EvidenceLink.removed_at.is_(None),
                          or_(EvidenceLink.criterion == value, EvidenceLink.criterion.startswith(value + ".")))


def _with_status(value: str):
    if value not in {status.value for status in LinkStatus}:
        return None
    return exists().where(EvidenceLink.document_id == EvidenceDocument.id, EvidenceLink.removed_at.is_(None),
                          EvidenceLink.status == LinkStatus(value))


def _year_options(school_id: int) -> list[tuple[str, str]]:
    years = db.session.scalars(select(EvidenceDocument.school_year).where(EvidenceDocument.school_id == school_id)
                               .distinct().order_by(EvidenceDocument.school_year.desc()))
    return [(year, year) for year in years]


def _in_year(value: str):
    return EvidenceDocument.school_year == value if YEAR.fullmatch(value) else None


def _criteria_text(document: EvidenceDocument) -> str:
    return ", ".join(f"{link.criterion} ({link.code})" for link in document.live_links)


LISTINGS[EvidenceDocument] = Listing(
    columns=(Column("codes", _l("Evidence codes"), lambda document: ", ".join(document.codes), sortable=False),
             Column("title", _l("Evidence title")), Column("doc_type", _l("Type")), Column("number", _l("Number")),
             Column("issued_on", _l("Issued on")), Column("issuer", _l("Issued by")),
             Column("school_year", _l("School year")),
             Column("criteria", _l("Criteria"), _criteria_text, sortable=False),
             Column("files", _l("File"), lambda document: document.current_file.filename
                    if document.current_file else document.url, sortable=False)),
    filters=(Filter("criterion", _l("Criterion"), _criterion_options, _linked_to),
             enum_filter(EvidenceDocument.doc_type, DocType, _l("Type")),
             Filter("school_year", _l("School year"), _year_options, _in_year),
             Filter("link_status", _l("Review"), lambda _school_id: LinkStatus.choices(), _with_status)),
    load=lambda: (selectinload(EvidenceDocument.links), selectinload(EvidenceDocument.record_links),
                  selectinload(EvidenceDocument.files).options(joinedload(EvidenceFile.object),
                                                               defer(EvidenceFile.text))),
    where=lambda: (EvidenceDocument.removed_at.is_(None),),
    search=hits)


def listed_documents(school_id: int, args):
    """The query for the school's evidence that ``args`` (a list's URL arguments) asks
    for, newest first unless sorted."""
    return listed(EvidenceDocument, school_id, list_request(EvidenceDocument, args),
                  (EvidenceDocument.created_at.desc(),))
