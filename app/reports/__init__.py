"""The official reports of a school year, drawn from a snapshot (the sealed one, or the
live state marked "BẢN NHÁP" on every page): the self-assessment report in the layout
of the official table, and the evidence catalogue (danh mục minh chứng), each as XLSX
and as PDF.

Each function is pure: ``snapshot`` is the JSON of app.assessments.sealing (a sealed
snapshot, or ``live_content``'s for a draft) and ``draft`` says whether to mark it a
draft; it returns the file's bytes and reads no database. The report is dated the day of
the approval (today for a draft) and signed by ``snapshot["approved_by"]["name"]``; a
draft is signed by ``snapshot["principal"]["name"]`` when present (see
``app.reports.services.report_source``), else the name is left blank. Criterion level
bands and point bands come from the built-in index file with the snapshot's framework
code."""

from app.reports.catalogue import catalogue_pdf, catalogue_xlsx
from app.reports.self_assessment import self_assessment_pdf, self_assessment_xlsx

__all__ = ["self_assessment_xlsx", "self_assessment_pdf", "catalogue_xlsx", "catalogue_pdf"]
