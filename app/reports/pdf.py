"""A ``Document`` as a PDF: A4 landscape, Liberation Serif (metric-compatible with Times
New Roman, vendored in ``fonts/`` and embedded, so no server font is needed), tables
whose header rows repeat on every page, "Trang x/y" under each page and, on a draft,
"BẢN NHÁP" across and atop every page."""

from __future__ import annotations

import io
from functools import cache, partial
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    HRFlowable,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)
from reportlab.platypus import Table as GridTable

from app.reports.document import (
    DRAFT,
    DRAFT_NOTE,
    MOTTO,
    NATION,
    SIGNER_HINT,
    Document,
    Row,
    Table,
    number,
)

FONT_DIR = Path(__file__).parent / "fonts"
FAMILY = "LiberationSerif"
FACES = {"": "Regular", "-Bold": "Bold", "-Italic": "Italic", "-BoldItalic": "BoldItalic"}
PAGE = landscape(A4)
MARGINS = {"leftMargin": 20 * mm, "rightMargin": 15 * mm, "topMargin": 16 * mm, "bottomMargin": 16 * mm}
CELL_SIZE, CELL_LEADING = 10, 12
TEXT_SIZE = 12
SHADE = colors.HexColor("#E7E6E6")
RED = colors.HexColor("#C00000")
ALIGNMENTS = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}
CAPTION = ParagraphStyle("caption", fontName=f"{FAMILY}-Bold", fontSize=11, leading=14, spaceAfter=4,
                         keepWithNext=1)
CREATOR = "Cổng tự đánh giá mức độ chuyển đổi số (QĐ 4725/QĐ-BGDĐT)"


def pdf(document: Document) -> bytes:
    """The PDF bytes of ``document``."""
    _register_fonts()
    out = io.BytesIO()
    template = SimpleDocTemplate(out, pagesize=PAGE, title=document.subject, author=document.author,
                                 subject=document.subject, creator=CREATOR, initialFontName=FAMILY, **MARGINS)
    width = template.width
    story = [_heading(document, width), Spacer(1, 5 * mm)]
    for index, line in enumerate(document.title):
        style = ("title", 14, 18) if index == 0 else ("strong", TEXT_SIZE, 15) if index == 1 else ("em", 11, 14)
        story.append(Paragraph(_markup(line), _style(style[0], "center", style[1], style[2])))
    if document.draft:
        story += [Spacer(1, 2 * mm), Paragraph(_markup(DRAFT_NOTE), _style("draft", "center", 11, 14))]
    for table in document.tables:
        story.append(Spacer(1, 4 * mm))
        if table.caption:
            story.append(Paragraph(_markup(table.caption), CAPTION))
        story.append(_grid(table))
    # The notes stay with the signature: a page never holds the signature alone.
    closing = [Spacer(1, 2 * mm), *(Paragraph(_markup(note), _style("em", "left", 10, 13)) for note in document.notes),
               Spacer(1, 6 * mm), _signature(document, width)]
    story.append(KeepTogether(closing))
    template.build(story, canvasmaker=partial(_PageCanvas, draft=document.draft))
    return out.getvalue()


@cache
def _register_fonts() -> None:
    for suffix, face in FACES.items():
        pdfmetrics.registerFont(TTFont(FAMILY + suffix, str(FONT_DIR / f"LiberationSerif-{face}.ttf")))
    pdfmetrics.registerFontFamily(FAMILY, normal=FAMILY, bold=f"{FAMILY}-Bold", italic=f"{FAMILY}-Italic",
                                  boldItalic=f"{FAMILY}-BoldItalic")


@cache
def _style(kind: str, align: str, size: float = CELL_SIZE, leading: float = CELL_LEADING) -> ParagraphStyle:
    """A paragraph style: ``kind`` normal, strong (bold), em (italic), strong-em, title
    (bold) or draft (bold, red)."""
    face = {"strong": "-Bold", "title": "-Bold", "draft": "-Bold", "em": "-Italic", "strong-em": "-BoldItalic"}
    return ParagraphStyle(f"{kind}-{align}-{size}", fontName=FAMILY + face.get(kind, ""), fontSize=size,
                          leading=leading, alignment=ALIGNMENTS[align],
                          textColor=RED if kind == "draft" else colors.black)


def _markup(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _heading(document: Document, width: float) -> GridTable:
    """The two blocks above the title: the authority and the school (left), Quốc hiệu
    and Tiêu ngữ with the place and date (right), each with its short rule."""
    left = [Paragraph(_markup(document.authority), _style("normal", "center", TEXT_SIZE, 15)),
            Paragraph(_markup(document.school), _style("strong", "center", TEXT_SIZE, 15)),
            HRFlowable(width="35%", thickness=0.6, color=colors.black, spaceBefore=2, spaceAfter=4, hAlign="CENTER"),
            Paragraph(_markup(document.number), _style("normal", "center", TEXT_SIZE, 15))]
    right = [Paragraph(_markup(NATION), _style("strong", "center", TEXT_SIZE, 15)),
             Paragraph(_markup(MOTTO), _style("strong", "center", 13, 16)),
             HRFlowable(width="32%", thickness=0.6, color=colors.black, spaceBefore=2, spaceAfter=4, hAlign="CENTER"),
             Paragraph(_markup(document.place_date), _style("em", "center", TEXT_SIZE, 15))]
    grid = GridTable([[left, right]], colWidths=[width * 0.42, width * 0.58])
    grid.setStyle([("FONT", (0, 0), (-1, -1), FAMILY), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                   ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                   ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
    return grid


FACE_OF_KIND = {"normal": "", "strong": "-Bold", "em": "-Italic", "strong-em": "-BoldItalic"}


def _kind(entry: Row, index: int) -> str:
    bold, italic = entry.is_bold(index), index in entry.italic
    return "strong-em" if bold and italic else "strong" if bold else "em" if italic else "normal"


def _grid(table: Table) -> LongTable:
    """The bordered table, its header rows repeated on each page; a row too tall for a
    page is split across pages. A cell whose text fits on one line is written as plain
    text (a tenth of a paragraph's cost: the catalogue of a large school has thousands)."""
    entries = (*table.header, *table.rows)
    widths = [column.width_mm * mm for column in table.columns]
    header = len(table.header)
    commands = [("FONT", (0, 0), (-1, -1), FAMILY, CELL_SIZE, CELL_LEADING),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("VALIGN", (0, 0), (-1, header - 1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                *(("ALIGN", (index, header), (index, -1), column.align.upper())
                  for index, column in enumerate(table.columns)),
                ("ALIGN", (0, 0), (-1, header - 1), "CENTER")]
    data = []
    for row, entry in enumerate(entries):
        if entry.style in ("group", "header"):
            commands.append(("BACKGROUND", (0, row), (-1, row), SHADE))
        spans = {first: last for first, last in entry.spans}
        commands += [("SPAN", (first, row), (last, row)) for first, last in entry.spans]
        if entry.align:
            commands.append(("ALIGN", (0, row), (-1, row), entry.align.upper()))
        if entry.keep_with_next and row + 1 < len(entries):
            commands.append(("NOSPLIT", (0, row), (-1, row + 1)))
        cells = []
        for index, column in enumerate(table.columns):
            value = entry.cells[index]
            if value is None or value == "":
                cells.append("")
                continue
            text = value if isinstance(value, str) else number(value)
            kind = _kind(entry, index)
            font = FAMILY + FACE_OF_KIND[kind]
            room = sum(widths[index:spans.get(index, index) + 1]) - 7
            if "\n" not in text and pdfmetrics.stringWidth(text, font, CELL_SIZE) <= room:
                cells.append(text)
                if kind != "normal":
                    commands.append(("FONT", (index, row), (index, row), font, CELL_SIZE, CELL_LEADING))
            else:
                align = "center" if entry.style == "header" else entry.align or column.align
                cells.append(Paragraph(_markup(text), _style(kind, align)))
        data.append(cells)
    return LongTable(data, colWidths=widths, repeatRows=header, splitInRow=1, style=commands)


def _signature(document: Document, width: float) -> GridTable:
    left = [Paragraph("Nơi nhận:", _style("strong-em", "left", 11, 14)),
            *(Paragraph(_markup(line), _style("normal", "left", 10, 13)) for line in document.recipients)]
    right = [Paragraph(_markup(document.signer_title), _style("strong", "center", 13, 16)),
             Paragraph(SIGNER_HINT, _style("em", "center", 11, 14)), Spacer(1, 24 * mm),
             Paragraph(_markup(document.signer_name) or "&nbsp;", _style("strong", "center", 13, 16))]
    grid = GridTable([[left, right]], colWidths=[width * 0.5, width * 0.5])
    grid.setStyle([("FONT", (0, 0), (-1, -1), FAMILY), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                   ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    return grid


class _PageCanvas(canvas.Canvas):
    """Keeps each page until the end, then writes "Trang x/y" (the total known only
    then) and, on a draft, the BẢN NHÁP header and diagonal mark, over every page."""

    def __init__(self, *args, draft: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self._draft = draft
        self._pages: list[dict] = []

    def showPage(self):  # noqa: N802  (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._decorate(total)
            super().showPage()
        super().save()

    def _decorate(self, total: int) -> None:
        width, height = self._pagesize
        self.setFillColor(colors.black)
        self.setFont(FAMILY, 10)
        self.drawCentredString(width / 2, 8 * mm, f"Trang {self._pageNumber}/{total}")
        if not self._draft:
            return
        self.setFillColor(RED)
        self.setFont(f"{FAMILY}-Bold", 10)
        self.drawCentredString(width / 2, height - 9 * mm, DRAFT_NOTE)
        mark, (mark_width, mark_height) = _draft_mark()
        self.saveState()
        self.translate(width / 2, height / 2)
        self.rotate(28)
        self.drawImage(mark, -mark_width / 2, -mark_height / 2, mark_width, mark_height, mask="auto")
        self.restoreState()


@cache
def _draft_mark() -> tuple[ImageReader, tuple[float, float]]:
    """The diagonal "BẢN NHÁP" as a faint picture (its size in points): a picture, so
    that a copy of the page's text is not cut up by the mark's letters."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT_DIR / "LiberationSerif-Bold.ttf"), 300)
    left, top, right, bottom = font.getbbox(DRAFT)
    image = Image.new("RGBA", (right - left + 40, bottom - top + 40), (255, 255, 255, 0))
    ImageDraw.Draw(image).text((20 - left, 20 - top), DRAFT, font=font, fill=(192, 0, 0, 28))
    out = io.BytesIO()
    image.save(out, "PNG")
    scale = 110 / 300  # drawn as 110-point letters
    return ImageReader(io.BytesIO(out.getvalue())), (image.width * scale, image.height * scale)
