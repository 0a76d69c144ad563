"""A ``Document`` as an XLSX workbook that prints like the official form: Times New
Roman, bordered and wrapped table cells, merged heading and group rows, A4 landscape
fitted to the page width, the table's header rows repeated on every page, a print area,
page numbers in the footer and, on a draft, "BẢN NHÁP" in every page's header."""

from __future__ import annotations

import io
import math

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from app.reports.document import DRAFT, DRAFT_NOTE, MOTTO, NATION, SIGNER_HINT, Document, Row, Table
from app.spreadsheets import sheet_text

FONT = "Times New Roman"
SIZE = 11
MM_PER_CHARACTER = 1.9  # an Excel column width unit is about one digit of the default font
CHARACTERS_PER_UNIT = 1.15  # Times New Roman is narrower than that digit on average
LINE_POINTS = 15
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
SHADE = PatternFill("solid", fgColor="E7E6E6")
RED = "C00000"


def workbook(document: Document) -> bytes:
    """The XLSX bytes of ``document``; its first table's header rows repeat on every
    printed page."""
    book = Workbook()
    sheet = book.active
    sheet.title = document.sheet_name[:31]
    book.properties.title = document.subject
    book.properties.creator = document.author
    columns = document.tables[0].columns
    widths = [column.width_mm / MM_PER_CHARACTER for column in columns]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = round(width, 1)
    last = len(columns)
    left, right = _blocks(widths)
    writer = _Writer(sheet, widths)

    writer.text(1, left, document.authority)
    writer.text(1, right, NATION, bold=True)
    writer.text(2, left, document.school, bold=True)
    writer.text(2, right, MOTTO, bold=True, underline=True)
    writer.text(3, left, document.number)
    writer.text(4, right, document.place_date, italic=True)
    row = 6
    for number, line in enumerate(document.title):
        writer.text(row, (1, last), line, bold=number < 2, size=14 if number == 0 else SIZE, wrap=True)
        row += 1
    if document.draft:
        writer.text(row, (1, last), DRAFT_NOTE, bold=True, color=RED)
        row += 1

    titles = None
    for number, table in enumerate(document.tables):
        row += 1
        if table.caption:
            writer.text(row, (1, last), table.caption, bold=True, align="left")
            row += 1
        first = row
        for header in table.header:
            writer.row(row, table, header)
            row += 1
        if number == 0:
            titles = (first, row - 1)
        for entry in table.rows:
            writer.row(row, table, entry)
            row += 1
    for note in document.notes:
        writer.text(row, (1, last), note, italic=True, align="left", wrap=True)
        row += 1

    row += 1
    writer.text(row, left, "Nơi nhận:", bold=True, italic=True, align="left")
    writer.text(row, right, document.signer_title, bold=True)
    writer.text(row + 1, right, SIGNER_HINT, italic=True)
    for offset, recipient in enumerate(document.recipients, start=1):
        writer.text(row + offset, left, recipient, align="left")
    row += 6
    writer.text(row, right, document.signer_name, bold=True)

    _print_settings(sheet, document, last, row, titles)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _blocks(widths: list[float]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The columns (first, last; 1-based) of the heading's left block, about a third of
    the width, and of its right block, the rest."""
    total, running = sum(widths), 0.0
    for index, width in enumerate(widths, start=1):
        running += width
        if running >= total * 0.35 or index == len(widths) - 1:
            return (1, index), (index + 1, len(widths))
    raise ValueError("a document needs at least two columns")


class _Writer:
    def __init__(self, sheet, widths: list[float]):
        self.sheet, self.widths = sheet, widths
        self.styles: set[str] = set()

    def text(self, row: int, span: tuple[int, int], value: str, *, bold=False, italic=False, underline=False,
             size=SIZE, align="center", color=None, wrap=False) -> None:
        """``value`` in the merged cells ``span`` of ``row``, without borders."""
        first, last = span
        if last > first:
            self.sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
        cell = self.sheet.cell(row=row, column=first, value=sheet_text(value))
        cell.data_type = "s"
        cell.font = Font(name=FONT, size=size, bold=bold, italic=italic, underline="single" if underline else None,
                         color=color)
        cell.alignment = Alignment(horizontal=align, vertical="center", wrap_text=wrap)
        if wrap:
            self._fit(row, [(value, sum(self.widths[first - 1:last]))], size)

    def row(self, row: int, table: Table, entry: Row) -> None:
        """A bordered table row: every cell written, wrapped and boxed, spans merged, its
        height made to hold the longest cell."""
        covered = {index for first, last in entry.spans for index in range(first + 1, last + 1)}
        shaded = entry.style in ("group", "header")
        texts = []
        for index, column in enumerate(table.columns):
            value = None if index in covered else entry.cells[index]
            cell = self.sheet.cell(row=row, column=index + 1)
            if value is not None and value != "":
                cell.value = sheet_text(value) if isinstance(value, str) else value
                if isinstance(value, str):
                    cell.data_type = "s"  # a title starting with "=" stays text
                else:
                    cell.number_format = "General"
            align = "center" if entry.style == "header" else entry.align or column.align
            cell.style = self._table_style(align, entry.is_bold(index), index in entry.italic, shaded,
                                           entry.style == "header")
        for first, last in entry.spans:
            self.sheet.merge_cells(start_row=row, start_column=first + 1, end_row=row, end_column=last + 1)
        spans = {first: last for first, last in entry.spans}
        for index, value in enumerate(entry.cells):
            if index in covered or value is None:
                continue
            texts.append((str(value), sum(self.widths[index:spans.get(index, index) + 1])))
        self._fit(row, texts, SIZE)

    def _table_style(self, align: str, bold: bool, italic: bool, shaded: bool, header: bool) -> str:
        """The name of the workbook's style of a table cell so drawn, added on first use
        (one shared style instead of a font, border and alignment per cell)."""
        name = f"report-{align}-{int(bold)}{int(italic)}{int(shaded)}{int(header)}"
        if name not in self.styles:
            style = NamedStyle(name=name, font=Font(name=FONT, size=SIZE, bold=bold, italic=italic), border=BOX,
                               alignment=Alignment(horizontal=align, vertical="center" if header else "top",
                                                   wrap_text=True))
            if shaded:
                style.fill = SHADE
            self.sheet.parent.add_named_style(style)
            self.styles.add(name)
        return name

    def _fit(self, row: int, texts: list[tuple[str, float]], size: int) -> None:
        """Set the row's height to the most lines any of ``texts`` wraps into (Excel does
        not fit merged cells, and LibreOffice and Excel estimate differently)."""
        lines = 1
        for text, width in texts:
            per_line = max(1, int(width * CHARACTERS_PER_UNIT * SIZE / size))
            lines = max(lines, sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n")))
        self.sheet.row_dimensions[row].height = lines * LINE_POINTS * size / SIZE + 3


def _print_settings(sheet, document: Document, last_column: int, last_row: int,
                    titles: tuple[int, int] | None) -> None:
    setup = sheet.page_setup
    setup.orientation = "landscape"
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # as many pages as the rows need
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins = PageMargins(left=0.8, right=0.6, top=0.8, bottom=0.7, header=0.3, footer=0.3)
    sheet.print_options.horizontalCentered = True
    sheet.print_area = f"A1:{get_column_letter(last_column)}{last_row}"
    if titles:
        sheet.print_title_rows = f"{titles[0]}:{titles[1]}"
    sheet.oddFooter.center.text = "Trang &P/&N"
    sheet.oddFooter.center.font = FONT
    sheet.oddFooter.center.size = 10
    if document.draft:
        sheet.oddHeader.center.text = DRAFT
        sheet.oddHeader.center.font = f"{FONT},Bold"
        sheet.oddHeader.center.size = 14
        sheet.oddHeader.center.color = RED
