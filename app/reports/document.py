"""What every report shares: the layout of a Vietnamese official document as data (the
heading, the title, the tables, the signature block, the draft mark) and the wording of
dates, numbers, places and evidence codes. ``app.reports.xlsx`` and ``app.reports.pdf``
draw a ``Document``; the reports build one from a snapshot.

Pure: no Flask, no database."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from babel.numbers import format_decimal

from app.clock import local, today
from app.framework.loader import BUILTIN_DIR, Framework, FrameworkError, load_framework_file

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"  # as Decree 30/2020 writes it
MOTTO = "Độc lập - Tự do - Hạnh phúc"
SIGNER_TITLE = "HIỆU TRƯỞNG"
SIGNER_HINT = "(Ký, ghi rõ họ tên, đóng dấu)"
DRAFT = "BẢN NHÁP"
DRAFT_NOTE = "BẢN NHÁP – số liệu hiện tại, chưa được Hiệu trưởng phê duyệt"
# Words a district's name may start with that the place line leaves out ("Đắk Song, ngày …").
PLACE_PREFIXES = ("huyện ", "quận ", "thị xã ", "thành phố ", "tp. ", "tp ")
STATUS_NOTES = {"pending": "chờ duyệt", "rejected": "bị từ chối"}
NUMBER_BLANK = "\u00a0" * 12  # "Số:            /BC-…": the number is written by hand when it is issued
RUN_COLLAPSED = 3  # consecutive evidence codes written as "first đến last" from this many on


@dataclass(frozen=True)
class Column:
    """A table column: its header, its printed width and how its cells align."""

    title: str
    width_mm: float
    align: str = "left"  # left | center | right


@dataclass(frozen=True)
class Row:
    """One table row: a value per column (str, int, float or None); ``spans`` merge
    column ranges (first, last), the merged cell showing the first one's value;
    ``style``: ``normal``, ``group`` (bold, shaded), ``strong`` (bold) or ``header``;
    ``bold`` and ``italic``: indexes of columns written so; ``align`` overrides the
    columns' alignment for the whole row; ``keep_with_next``: a heading row, never
    printed last on a page."""

    cells: tuple
    style: str = "normal"
    spans: tuple[tuple[int, int], ...] = ()
    bold: frozenset[int] = frozenset()
    italic: frozenset[int] = frozenset()
    align: str | None = None
    keep_with_next: bool = False

    def is_bold(self, index: int) -> bool:
        return self.style in ("group", "strong", "header") or index in self.bold


@dataclass(frozen=True)
class Table:
    """``header`` rows repeat on every printed page above ``rows``; ``caption`` is the
    bold line printed above the table."""

    columns: tuple[Column, ...]
    header: tuple[Row, ...]
    rows: tuple[Row, ...]
    caption: str = ""


@dataclass(frozen=True)
class Document:
    """An official document: the authority above the school (left), Quốc hiệu and Tiêu
    ngữ (right), the place and date, the title lines (the first is the report's name),
    its tables, notes, the recipients and the signature (the principal's unless
    ``signer_title`` says otherwise). ``draft`` marks
    every page ``BẢN NHÁP``. Every table has as many columns as the first (a workbook's
    columns are the first table's; later tables merge them as they need)."""

    authority: str
    school: str
    number: str
    place_date: str
    title: tuple[str, ...]
    tables: tuple[Table, ...]
    signer_name: str
    recipients: tuple[str, ...]
    draft: bool
    notes: tuple[str, ...] = ()
    sheet_name: str = "Báo cáo"
    subject: str = ""
    author: str = ""
    signer_title: str = SIGNER_TITLE


def official_document(snapshot: dict, draft: bool, title: tuple[str, ...], tables: tuple[Table, ...], *,
            notes: tuple[str, ...] = (), sheet_name: str, number_kind: str = "BC") -> Document:
    """The Document of ``snapshot`` with the usual heading, date and signature around
    ``tables``: dated the day of the approval for a sealed snapshot, today for a draft;
    signed by the approver, or for a draft by ``snapshot["principal"]["name"]`` when the
    caller put it there (blank otherwise)."""
    school = snapshot["school"]
    district = school.get("district") or ""
    day = report_day(snapshot, draft)
    if draft:
        signer = (snapshot.get("principal") or {}).get("name") or ""
    else:
        signer = (snapshot.get("approved_by") or {}).get("name") or ""
    authority = f"Phòng GD&ĐT {district}".strip()
    return Document(
        authority=authority.upper(), school=school["name"].upper(),
        number=f"Số:{NUMBER_BLANK}/{number_kind}-{school.get('code') or ''}".rstrip("-"),
        place_date=f"{place(district)}, {long_date(day)}", title=title, tables=tables, signer_name=signer,
        recipients=(f"- {authority} (để báo cáo);", "- Lưu: VT."), draft=draft, notes=notes,
        sheet_name=sheet_name, subject=title[0], author=school["name"])


def report_day(snapshot: dict, draft: bool) -> date:
    """The date a report carries: the approval's (in Viet Nam) unless it is a draft,
    today otherwise."""
    approved_at = snapshot.get("approved_at")
    if approved_at and not draft:
        return local(datetime.fromisoformat(approved_at)).date()
    return today()


def place(district: str) -> str:
    """The place line's name of ``district``: without "Huyện", "Quận", … in front."""
    for prefix in PLACE_PREFIXES:
        if district.lower().startswith(prefix):
            return district[len(prefix):].strip()
    return district


def long_date(day: date) -> str:
    """"ngày 16 tháng 02 năm 2023", as official documents date themselves."""
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def short_date(value: str | date | None) -> str:
    """dd/mm/yyyy of an ISO date (or date); "" for none."""
    if not value:
        return ""
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return day.strftime("%d/%m/%Y")


def school_year(year: str) -> str:
    """"2022-2023" as documents write it: "2022 - 2023"."""
    return " - ".join(year.split("-"))


def number(value: int | float | None) -> str:
    """A number as the portal writes it in Vietnamese: 1.234; 2,5; "" for none."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.##", locale="vi")


def code_order(code: str) -> tuple:
    """``H1-1.3-02`` in index order: group, criterion numbers, then the number."""
    parts = code.lstrip("H").replace("-", ".").split(".")
    return tuple(int(part) if part.isdigit() else 0 for part in parts)


def codes_text(codes: Iterable[tuple[str, str]]) -> str:
    """Evidence codes with their review status ((code, status) pairs, in order): runs of
    RUN_COLLAPSED or more consecutive codes of one criterion and status as "first đến
    last"; a status other than accepted said after the code ("chờ duyệt", "bị từ
    chối")."""
    runs: list[list[tuple[str, str]]] = []
    for code, status in codes:
        previous = runs[-1][-1] if runs else None
        if previous and previous[1] == status and _follows(previous[0], code):
            runs[-1].append((code, status))
        else:
            runs.append([(code, status)])
    parts = []
    for run in runs:
        status = run[0][1]
        note = f" ({STATUS_NOTES[status]})" if status in STATUS_NOTES else ""
        if len(run) >= RUN_COLLAPSED:
            parts.append(f"{run[0][0]} đến {run[-1][0]}{note}")
        else:
            parts.extend(f"{code}{note}" for code, _ in run)
    return ", ".join(parts)


_CODE = re.compile(r"^(.*-)(\d+)$")


def _follows(before: str, after: str) -> bool:
    first, second = _CODE.match(before), _CODE.match(after)
    return bool(first and second and first.group(1) == second.group(1)
                and int(second.group(2)) == int(first.group(2)) + 1)


@lru_cache(maxsize=8)
def index_of(code: str) -> Framework | None:
    """The built-in index file with ``code`` (its criterion and point bands are not in the
    snapshot), or None when the portal ships none."""
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        try:
            loaded = load_framework_file(path)
        except FrameworkError:
            continue
        if loaded.code == code:
            return loaded
    return None
