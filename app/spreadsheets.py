"""XLSX files people open in Excel or LibreOffice: written row by row (openpyxl's
write-only mode), so a long list never sits in memory as a whole workbook."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import date
from urllib.parse import quote

from flask import Response, current_app
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "DD/MM/YYYY"
NUMBER_FORMAT = "#,##0.##"


def workbook_response(filename: str, sheets: Iterable[tuple[str, list[str], Iterable[list]]]) -> Response:
    """An XLSX download named ``filename`` with one sheet per (title, headers, rows)."""
    book = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        for index, header in enumerate(headers, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(header) + 4))
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        sheet.append([_cell(sheet, header, bold) for header in headers])
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])
    with tempfile.TemporaryFile() as buffer:
        book.save(buffer)
        buffer.seek(0)
        data = buffer.read()
    response = current_app.response_class(data, mimetype=XLSX_TYPE)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def sheet_text(value: str) -> str:
    """``value`` without the control characters a workbook cannot hold (older records, or
    an audit entry of a refused request, may carry them)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _cell(sheet, value, font: Font | None = None) -> WriteOnlyCell:
    if not isinstance(value, (int, float, date)) and value is not None:
        value = sheet_text(str(value))
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text typed as "=..." stays text, never a formula
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.number_format = NUMBER_FORMAT
    if font:
        cell.font = font
    return cell
