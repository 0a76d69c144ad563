"""The evidence catalogue ("Danh mục minh chứng"): one row per evidence code, in index
order (H1-1.1-01, H1-1.2-01, … H2-…), under its group and criterion; a document linked
to two criteria appears under both codes. Each row gives the document's title, number
and date, issuer, the criterion or sub-item it supports, and its link address or file
name and version."""

from __future__ import annotations

from app.reports.document import (
    Column,
    Document,
    Row,
    Table,
    code_order,
    index_of,
    official_document,
    school_year,
    short_date,
)
from app.reports.pdf import pdf
from app.reports.xlsx import workbook

COLUMNS = (
    Column("STT", 12, "center"),
    Column("Mã minh chứng", 30, "center"),
    Column("Tên minh chứng", 72),
    Column("Số, ngày ban hành", 34),
    Column("Nơi ban hành", 36),
    Column("Tiêu chí", 16, "center"),
    Column("Ghi chú", 62),
)
HEADER = (Row(tuple(column.title for column in COLUMNS), style="header"),
          Row(tuple(f"({index})" for index in range(1, len(COLUMNS) + 1)), style="header"))
WHOLE_ROW = ((0, len(COLUMNS) - 1),)
REVIEW_NOTES = {"pending": "Chưa được duyệt", "rejected": "Bị từ chối"}


def catalogue_xlsx(snapshot: dict, draft: bool) -> bytes:
    """The catalogue of ``snapshot`` (see app.reports) as an XLSX workbook."""
    return workbook(catalogue_document(snapshot, draft))


def catalogue_pdf(snapshot: dict, draft: bool) -> bytes:
    """The catalogue of ``snapshot`` (see app.reports) as a PDF."""
    return pdf(catalogue_document(snapshot, draft))


def catalogue_document(snapshot: dict, draft: bool) -> Document:
    """The catalogue as a Document: the table of codes, then how many codes and
    documents it lists."""
    index = index_of(snapshot["framework"]["code"])
    decision = index.decision if index else snapshot["framework"]["title"]
    title = ("DANH MỤC MINH CHỨNG",
             f"ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ NĂM HỌC {school_year(snapshot['year'])}", f"(Theo {decision})")
    entries = coded_entries(snapshot["evidence"])
    documents = len({document["id"] for _code, document, _link in entries})
    notes = (f"Tổng cộng: {len(entries)} mã minh chứng của {documents} văn bản, tài liệu.",)
    table = Table(COLUMNS, HEADER, tuple(table_rows(snapshot, entries)))
    return official_document(snapshot, draft, title, (table,), notes=notes, sheet_name="Danh mục minh chứng",
                   number_kind="DM")


def coded_entries(evidence: list[dict]) -> list[tuple[str, dict, dict]]:
    """(code, document, link) for every link of every document, in index order."""
    entries = [(link["code"], document, link) for document in evidence for link in document["links"]]
    return sorted(entries, key=lambda entry: (code_order(entry[0]), entry[1]["id"]))


def table_rows(snapshot: dict, entries: list[tuple[str, dict, dict]]) -> list[Row]:
    """A heading row per group and per criterion, then the criterion's codes (or a line
    saying it has none)."""
    by_criterion: dict[str, list[tuple[str, dict, dict]]] = {}
    for entry in entries:
        by_criterion.setdefault(_criterion_of(entry[0]), []).append(entry)
    score = snapshot["score"]
    known = {criterion["code"] for criterion in score["criteria"]}
    rows: list[Row] = []
    number = 0
    for group in score["groups"]:
        rows.append(_spanning(f"Nhóm tiêu chí {group['code']}: {group['title']}", "group"))
        for criterion in (entry for entry in score["criteria"] if entry["group"] == group["code"]):
            rows.append(_spanning(f"Tiêu chí {criterion['code']}: {criterion['title']}", "strong"))
            found = by_criterion.get(criterion["code"], [])
            if not found:
                rows.append(Row(("", "Chưa có minh chứng.", *([None] * (len(COLUMNS) - 2))),
                                spans=((1, len(COLUMNS) - 1),), italic=frozenset({1}), align="left"))
            for entry in found:
                number += 1
                rows.append(_entry_row(number, *entry))
    others = [entry for code, entries_of in by_criterion.items() if code not in known for entry in entries_of]
    if others:
        rows.append(_spanning("Minh chứng khác", "group"))
        for entry in others:
            number += 1
            rows.append(_entry_row(number, *entry))
    return rows


def _entry_row(number: int, code: str, document: dict, link: dict) -> Row:
    issued = ", ".join(filter(None, (document.get("number") or "", short_date(document.get("issued_on")))))
    notes = []
    if document.get("url"):
        notes.append(document["url"])
    if document.get("file"):
        notes.append(f"Tệp: {document['file']['filename']} (phiên bản {document['file']['version']})")
    if link["status"] in REVIEW_NOTES:
        comment = (link.get("comment") or "").strip()
        notes.append(REVIEW_NOTES[link["status"]] + (f": {comment}" if comment else ""))
    return Row((number, code, document["title"], issued, document.get("issuer") or "", link["criterion"],
                "\n".join(notes)))


def _spanning(text: str, style: str) -> Row:
    return Row((text, *([None] * (len(COLUMNS) - 1))), style=style, spans=WHOLE_ROW, align="left",
               keep_with_next=True)


def _criterion_of(code: str) -> str:
    """The criterion of an evidence code: ``H1-1.3-02`` → ``1.3``."""
    parts = code.split("-")
    return parts[1] if len(parts) == 3 else code
