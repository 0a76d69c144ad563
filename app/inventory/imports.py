"""Importing the inventory from the portal's XLSX template (one sheet per kind of record)
or from a CSV file of one kind.

The whole file is read and checked before anything is saved: every problem is reported
with its sheet, row, column and reason, and a file with any problem imports nothing. A
good file is saved in one transaction, each record audited as created by the import."""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

import marshmallow as ma
from defusedxml import DefusedXmlException, ElementTree
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from app import audit
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import format_number
from app.inventory import services
from app.inventory.capabilities import KNOWN_CAPABILITIES
from app.inventory.listing import LISTINGS
from app.inventory.models import Equipment, LabelledEnum, Room
from app.inventory.services import COLLECTIONS, Collection, validated
from app.sandbox import SandboxFailed, run_limited
from app.schools.models import School
from app.search import fold
from app.security import UNPRINTABLE
from app.text import identity_key, sort_key

MAX_ROWS = 20_000  # data rows in one sheet
MAX_FILE_ROWS = MAX_ROWS  # and in all the sheets of a file
MAX_COLUMNS = 30  # columns read from a sheet (the template has at most 10)
MAX_CELLS = (MAX_ROWS + 1) * 12  # cells a sheet's XML may hold, empty ones included
MAX_PROBLEMS = 200  # problems listed; the count says how many more
MAX_MEGABYTES = 20
# What an XLSX may unpack to: all its parts; its shared strings and every other XML part
# that openpyxl reads whole (styles, workbook, relationships: the template's are a few KB).
MAX_UNPACKED_MEGABYTES = 100
MAX_SHARED_STRINGS_MEGABYTES = 16
MAX_XML_PART_MEGABYTES = 4
MAX_SHEETS = 12  # the template has 7
# What reading an XLSX may cost (app.sandbox): the largest file an import takes reads in
# a few seconds.
XLSX_CPU_SECONDS = 10
XLSX_MEMORY_MEGABYTES = 400
XLSX_WALL_SECONDS = 20
MAX_CHECKED_PROBLEMS = 1_000  # past this many problems the rest of the file is not checked
LANGUAGES = ("vi", "en")  # a template downloaded in either language can be imported by anyone
HEADER_MARKS = re.compile(r"(\s*(\*|\(dd/mm/yyyy\)))+\s*$", re.IGNORECASE)  # what _marked_header adds
# A cell or row element, whatever its namespace prefix; and a DTD (entities can make a
# few bytes stand for millions of cells, so no part may declare one: Excel never does).
CELL = re.compile(rb"<(?:[^\s<>/:!?]+:)?c[\s/>]")
ROW = re.compile(rb"<(?:[^\s<>/:!?]+:)?row[\s/>]")
DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
PACKAGE_NS = {"types": "http://schemas.openxmlformats.org/package/2006/content-types",
              "rels": "http://schemas.openxmlformats.org/package/2006/relationships",
              "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
              "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
YES = {"co", "x", "yes", "true", "1", "dung", "da"}
NO = {"khong", "no", "false", "0", "chua", ""}
THOUSANDS = re.compile(r"[0-9]{1,3}([.,][0-9]{3})+")  # 1.500.000 or 1,500,000 (ASCII digits only)
WHOLE = re.compile(r"-?[0-9]{1,18}")
DECIMAL = re.compile(r"-?[0-9]{1,15}([.,][0-9]{1,15})?")  # 2,5 or 2.5

# The columns of each kind's sheet, in order: the fields people fill in ("room" is the
# room's name; "capabilities" a comma-separated list).
FIELDS = {
    "rooms": ("name", "kind", "internet", "notes"),
    "equipment": ("kind", "name", "asset_tag", "serial", "status", "room", "acquired_on", "funding_source", "notes"),
    "network-lines": ("provider", "kind", "download_mbps", "upload_mbps", "monthly_cost_vnd", "contract_no",
                      "started_on", "ended_on", "status", "notes"),
    "software": ("name", "url", "category", "acquisition", "status", "capabilities", "notes"),
    "materials": ("title", "subject", "grade", "kind", "url", "approved_by_department", "approved_by_principal",
                  "approved_on"),
    "staff": ("full_name", "position", "email", "phone", "training_account", "uses_teaching_software",
              "builds_digital_materials", "dt_team_role"),
}
EXTRA_LABELS = {"notes": _l("Notes"), "room": _l("Room"), "capabilities": _l("Capabilities (comma-separated)")}


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None
    column: str
    message: str


@dataclass
class ImportResult:
    """What an import found: problems (nothing was saved), or how many records of each
    collection it created."""

    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0
    created: dict[str, int] = field(default_factory=dict)


def header(collection: Collection, name: str) -> str:
    labels = {column.key: column.label for column in LISTINGS[collection.model].columns}
    return str(EXTRA_LABELS.get(name) or labels.get(name) or name)


def sheet_title(collection: Collection) -> str:
    return str(collection.label)[:31]


def in_every_language(text) -> set[str]:
    """``text()`` as each interface language says it (a template downloaded in English
    can be imported by someone using Vietnamese)."""
    found = set()
    for language in LANGUAGES:
        with force_locale(language):
            found.add(text())
    return found


# --- the template --------------------------------------------------------------------

def template_workbook(school: School | None = None) -> bytes:
    """The XLSX template: a sheet per kind with its headers (required ones marked *,
    dates with their format), an example row (skipped on import unless changed) and
    dropdowns for the fields that take one of a list, the school's rooms included, plus
    a hidden sheet holding those lists."""
    book = Workbook()
    lists = book.active
    lists.title = "Danh mục"
    lists.sheet_state = "hidden"
    rooms = sorted(db.session.scalars(select(Room.name).where(Room.school_id == school.id)), key=sort_key) \
        if school is not None else []
    list_column = 0
    for collection in COLLECTIONS.values():
        sheet = book.create_sheet(sheet_title(collection))
        fields = services.schema_fields(collection)
        example = _example_row(collection)
        for index, name in enumerate(FIELDS[collection.name], start=1):
            letter = get_column_letter(index)
            title = _marked_header(collection, name)
            sheet.cell(1, index, title).font = Font(bold=True)
            sheet.cell(2, index, example[index - 1]).font = Font(italic=True, color="6C757D")
            sheet.column_dimensions[letter].width = max(14, len(title) + 4)
            choices = _choices(fields.get(name)) or (rooms if name == "room" else [])
            if choices:
                list_column += 1
                list_letter = get_column_letter(list_column)
                for row, label in enumerate(choices, start=1):
                    lists.cell(row, list_column, label)
                rule = DataValidation(type="list", allow_blank=True,
                                      formula1=f"'Danh mục'!${list_letter}$1:${list_letter}${len(choices)}")
                rule.error = _("Choose one of the list.")
                if name == "room":  # a room added on the Rooms sheet of this file is welcome too
                    rule.showErrorMessage = False
                sheet.add_data_validation(rule)
                rule.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        sheet.freeze_panes = "A2"
    book.active = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# An example of each kind, in the template's second row: rooms and tags no school has.
EXAMPLES = {
    "rooms": {"name": "Phòng học 1A (ví dụ)", "kind": "classroom", "internet": True, "notes": "Tầng 2"},
    "equipment": {"kind": "projector", "name": "Máy chiếu Epson EB-X06 (ví dụ)", "serial": "X06-0001",
                  "status": "in_use", "room": "Phòng học 1A (ví dụ)", "acquired_on": "15/02/2023",
                  "funding_source": "Ngân sách nhà nước"},
    "network-lines": {"provider": "VNPT (ví dụ)", "kind": "fiber", "download_mbps": 150, "upload_mbps": 150,
                      "monthly_cost_vnd": 500_000, "contract_no": "HĐ-01/2023", "started_on": "01/09/2023",
                      "status": "active"},
    "software": {"name": "VnEdu (ví dụ)", "url": "https://vnedu.vn", "category": "management",
                 "acquisition": "free", "status": "in_use", "capabilities": "Sổ điểm điện tử, Học bạ điện tử"},
    "materials": {"title": "Bài giảng Toán 6 – Phân số (ví dụ)", "subject": "Toán", "grade": 6,
                  "kind": "e_lecture", "approved_by_department": True, "approved_by_principal": True,
                  "approved_on": "20/10/2023"},
    "staff": {"full_name": "Nguyễn Văn An (ví dụ)", "position": "teacher", "email": "an@truong.edu.vn",
              "training_account": True, "uses_teaching_software": True, "builds_digital_materials": False},
}


def _example_row(collection: Collection) -> list:
    """The example row of ``collection``'s sheet, as people would type it."""
    fields = services.schema_fields(collection)
    values = EXAMPLES[collection.name]
    row = []
    for name in FIELDS[collection.name]:
        value = values.get(name)
        if isinstance(fields.get(name), ma.fields.Enum) and value is not None:
            value = fields[name].enum(value).label
        elif isinstance(value, bool):
            value = _("Yes") if value else _("No")
        row.append(value)
    return row


def _is_example(collection: Collection, cells: dict) -> bool:
    """Whether a row's ``cells`` (column name → value) are the template's example row,
    unchanged (in either language)."""
    def plain(value) -> str:
        return fold(str(value)) if value is not None else ""
    row = {name: plain(cells.get(name)) for name in FIELDS[collection.name]}
    return any(row == dict(example) for example in in_every_language(lambda: tuple(
        (name, plain(value)) for name, value in zip(FIELDS[collection.name], _example_row(collection), strict=True))))


def _marked_header(collection: Collection, name: str) -> str:
    """A column's header as the template shows it: required ones end with *, dates say
    their format."""
    schema_field = services.schema_fields(collection).get(name)
    text = header(collection, name)
    if isinstance(schema_field, ma.fields.Date):
        text += " (dd/mm/yyyy)"
    if schema_field is not None and schema_field.required:
        text += " *"
    return text


def _plain_header(text: str) -> str:
    """A header cell without the template's marks (a trailing * or "(dd/mm/yyyy)")."""
    return HEADER_MARKS.sub("", text)


def _choices(schema_field) -> list[str]:
    if isinstance(schema_field, ma.fields.Enum):
        return [member.label for member in schema_field.enum]
    if isinstance(schema_field, ma.fields.Boolean):
        return [_("Yes"), _("No")]
    return []


# --- reading -------------------------------------------------------------------------

def import_file(actor, school: School, filename: str, data: bytes) -> ImportResult:
    """Check the whole of ``data`` (an XLSX template or, by ``filename``, a CSV of one
    kind) and, when it has no problem, create its records in one transaction. Raises
    ValidationFailed, within seconds and tens of megabytes whatever the file holds,
    when the file cannot be read or is larger than an import takes."""
    if len(data) > MAX_MEGABYTES * 1024 * 1024:
        raise ValidationFailed(_("The file is larger than %(n)d MB: split it into smaller files.", n=MAX_MEGABYTES))
    # The file is read outside any transaction: on SQLite a request that writes holds the
    # whole database from its first statement, and others would wait on the reading.
    db.session.commit()
    sheets = _csv_sheets(filename, data) if filename.lower().endswith(".csv") else _xlsx_sheets(data)
    reading = _Reading(school)
    for collection, title, rows in sheets:
        reading.read_sheet(collection, title, rows)
    result = ImportResult(problems=reading.problems[:MAX_PROBLEMS],
                          more_problems=max(0, len(reading.problems) - MAX_PROBLEMS))
    if reading.problems:
        return result
    if not any(reading.records.values()):
        raise ValidationFailed(_("The file has no rows to import: fill in the sheets below their headers."))
    result.created = _save(actor, school, reading.records)
    return result


def _xlsx_sheets(data: bytes) -> list[tuple[Collection, str, Iterator[tuple]]]:
    """The template's sheets in ``data``: one per kind, found by its exact title (in
    either language). Quick checks of the archive refuse the usual abuses at once;
    openpyxl then reads the file in a child process with hard limits on CPU time and
    memory (app.sandbox), so that no file can hold a worker, whatever openpyxl does
    with it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationFailed(_("This is not an XLSX file. Save it from Excel or LibreOffice as .xlsx, or as CSV."))\
            from None
    _check_archive(archive)
    titles = {title: collection.name for collection in COLLECTIONS.values()
              for title in in_every_language(lambda collection=collection: sheet_title(collection))}
    try:
        found = run_limited(_read_sheets, data, titles, cpu_seconds=XLSX_CPU_SECONDS,
                            memory_megabytes=XLSX_MEMORY_MEGABYTES, wall_seconds=XLSX_WALL_SECONDS)
    except SandboxFailed as failure:
        if failure.reason == "limits":
            raise ValidationFailed(_("Reading this file would take longer or more memory than an import may. Copy "
                                     "its rows into the portal's template, or split the file.")) from None
        current_app.logger.info("An XLSX could not be read: %s", failure.detail)
        raise _unreadable() from None
    if found.get("twice"):
        raise ValidationFailed(_("The sheets %(names)s hold the same kind of record: keep one of them.",
                                 names=", ".join(found["twice"])))
    if not found["sheets"]:
        raise ValidationFailed(_("No sheet of this file is named like the template's (%(names)s).",
                                 names=", ".join(sheet_title(c) for c in COLLECTIONS.values())))
    return [(COLLECTIONS[kind], title, (tuple(Cell(*cell) if cell else EMPTY for cell in row) for row in rows))
            for kind, title, rows in found["sheets"]]


class Cell(NamedTuple):
    """A cell as the import reads it (openpyxl's, or a CSV's): its value and data type
    ("f" for a formula)."""

    value: object
    data_type: str = "s"


EMPTY = Cell(None, "n")


def _read_sheets(data: bytes, titles: dict[str, str]) -> dict:
    """In the sandbox: the sheets of ``data`` titled as in ``titles`` (title → kind), as
    {"sheets": [(kind, title, rows)]} with each row a tuple of (value, data_type) or
    None for an empty cell, empty rows and cells at their ends left out; or
    {"twice": titles} when two sheets hold one kind."""
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    found: dict[str, list[str]] = {}
    for name in book.sheetnames:
        if name in titles:
            found.setdefault(titles[name], []).append(name)
    twice = next((names for names in found.values() if len(names) > 1), None)
    if twice:
        return {"twice": twice}
    sheets = []
    for kind, (title,) in found.items():
        rows = []
        for row in book[title].iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS):
            cells = [(cell.value, cell.data_type) if cell.value is not None else None for cell in row]
            while cells and cells[-1] is None:
                cells.pop()
            rows.append(tuple(cells))
        while len(rows) > 1 and not rows[-1]:
            rows.pop()
        sheets.append((kind, title, rows))
    return {"sheets": sheets}


def _check_archive(archive: zipfile.ZipFile) -> None:
    """Refuse, before openpyxl parses anything, a workbook that would keep a worker busy
    or take much memory, by unpacking every part (what a part claims its size is may be
    a lie) and stopping at the first limit passed: all parts together, the shared
    strings, any other XML part but the sheets, the rows and cells of each part and of
    all of them (openpyxl builds every cell of a row it reads, and sizes every sheet
    listed), a DTD in any XML part, more sheets than MAX_SHEETS or two on one part."""
    too_big = ValidationFailed(_("This file unpacks to more data than an import takes. Copy the rows into the "
                                 "portal's template, or split the file."))
    too_many_cells = ValidationFailed(_(
        "A sheet of this file holds more rows or cells than an import takes (at most %(n)s rows). Delete the "
        "empty formatted rows and columns below and beside the data, or split the file.",
        n=format_number(MAX_ROWS)))
    shared_strings = _shared_strings_parts(archive)
    total = all_cells = 0
    for info in archive.infolist():
        xml = info.filename.endswith((".xml", ".rels")) or info.filename in shared_strings
        limit = (MAX_SHARED_STRINGS_MEGABYTES if info.filename in shared_strings
                 else MAX_XML_PART_MEGABYTES if xml and not info.filename.startswith("xl/worksheets/")
                 else MAX_UNPACKED_MEGABYTES) * 1024 * 1024
        size = rows = cells = 0
        tail = b""
        for chunk in _chunks(archive, info):
            size += len(chunk)
            if size > limit or total + size > MAX_UNPACKED_MEGABYTES * 1024 * 1024:
                raise too_big
            if not xml:
                continue
            text = tail + chunk
            if DTD.search(text):
                raise _unreadable()
            # A tag cut at the chunk's end is counted with the next chunk, never twice.
            cut = text.rfind(b"<", max(0, len(text) - 64))
            tail = text[cut:] if cut >= 0 and b">" not in text[cut:] else b""
            counted = text[:len(text) - len(tail)]
            rows += len(ROW.findall(counted))
            cells += len(CELL.findall(counted))
            if rows > MAX_ROWS + 1 or cells > MAX_CELLS or all_cells + cells > 3 * MAX_CELLS:
                raise too_many_cells
        total += size
        all_cells += cells
    _check_sheet_list(archive)


def _shared_strings_parts(archive: zipfile.ZipFile) -> set[str]:
    """The parts [Content_Types].xml declares as shared strings (openpyxl finds them
    there, whatever their name), and the usual name."""
    found = {"xl/sharedStrings.xml"}
    root = _small_xml(archive, "[Content_Types].xml", checked=False)
    if root is not None:
        found |= {override.get("PartName", "").lstrip("/")
                  for override in root.iter(f"{{{PACKAGE_NS['types']}}}Override")
                  if override.get("ContentType") == SHARED_STRINGS_TYPE}
    return found


def _check_sheet_list(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook listing more sheets than MAX_SHEETS, or two sheets on one part."""
    relation_tag = f"{{{PACKAGE_NS['rels']}}}Relationship"
    package = _small_xml(archive, "_rels/.rels")
    workbook = next((relation.get("Target", "").lstrip("/") for relation in package.iter(relation_tag)
                     if relation.get("Type") == OFFICE_DOCUMENT), None) if package is not None else None
    root = _small_xml(archive, workbook) if workbook else None
    if root is None:
        raise _unreadable()
    folder, _slash, name = workbook.rpartition("/")
    links = _small_xml(archive, f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels")
    targets = {relation.get("Id"): relation.get("Target")
               for relation in (links.iter(relation_tag) if links is not None else ())}
    sheets = [targets.get(sheet.get(f"{{{PACKAGE_NS['r']}}}id"))
              for sheet in root.iter(f"{{{PACKAGE_NS['main']}}}sheet")]
    if len(sheets) > MAX_SHEETS:
        raise ValidationFailed(_("The workbook has more sheets than the template (at most %(n)d): keep only the "
                                 "template's sheets.", n=MAX_SHEETS))
    if len(set(sheets)) < len(sheets):
        raise _unreadable()


def _small_xml(archive: zipfile.ZipFile, name: str, checked: bool = True):
    """The XML part ``name`` parsed, or None when there is none. Unless ``checked`` (its
    size and the absence of a DTD already are), it is read within the limit of an XML
    part and refused with a DTD."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    data = b"".join(_chunks(archive, info)) if checked or info.file_size <= MAX_XML_PART_MEGABYTES * 2**20 \
        else None
    if data is None or len(data) > MAX_XML_PART_MEGABYTES * 2**20 or DTD.search(data):
        raise _unreadable()
    try:
        return ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException):
        raise _unreadable() from None


def _unreadable() -> ValidationFailed:
    return ValidationFailed(_("The file could not be read as an XLSX workbook."))


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int = 1024 * 1024) -> Iterator[bytes]:
    try:
        with archive.open(info) as part:
            while chunk := part.read(size):
                yield chunk
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, zlib.error):
        raise _unreadable() from None


def _csv_sheets(filename: str, data: bytes):
    """The CSV as one sheet, its rows read lazily (at most MAX_COLUMNS cells each) as
    the import asks for them: a file of millions of lines is never held as cells."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_("The CSV file is not in UTF-8: save it as 'CSV UTF-8'.")) from None
    if not text.strip():
        raise ValidationFailed(_("The file is empty."))
    first_line = text.partition("\n")[0]
    if first_line.count("\t") > max(first_line.count(","), first_line.count(";")):
        reader = csv.reader(io.StringIO(text, newline=""), csv.excel_tab)
    else:
        reader = csv.reader(io.StringIO(text, newline=""),
                            delimiter=";" if first_line.count(";") > first_line.count(",") else ",")
    rows = _csv_rows(reader)
    first = next(rows, ())
    headers = {fold(_plain_header(str(cell.value))) for cell in first}
    for collection in COLLECTIONS.values():
        if all(headers & {fold(label) for label in _header_words(collection, name)}
               for name in _required(collection)):
            return [(collection, filename, itertools.chain([first], rows))]
    raise ValidationFailed(_("The CSV file's first row must hold the headers of one sheet of the template."))


def _csv_rows(reader) -> Iterator[tuple]:
    try:
        for row in itertools.islice(reader, MAX_ROWS + 2):
            yield tuple(Cell(value) for value in row[:MAX_COLUMNS])
    except csv.Error:
        raise ValidationFailed(_("The CSV file could not be read: a cell is too long or a quote is not closed."))\
            from None


def _header_words(collection: Collection, name: str) -> set[str]:
    """The header of column ``name`` in every language."""
    return in_every_language(lambda: header(collection, name))


def _required(collection: Collection) -> list[str]:
    return [name for name, schema_field in services.schema_fields(collection).items() if schema_field.required]


class _Reading:
    """Rows turned into checked values, and every problem found on the way."""

    def __init__(self, school: School):
        self.school = school
        self.problems: list[Problem] = []
        self.records: dict[str, list[dict]] = {}
        # Room names and asset tags by their identity key (app.text): what looks alike is alike.
        self.rooms = dict(db.session.execute(select(Room.name_key, Room.id).where(Room.school_id == school.id)).all())
        self.new_rooms: set[str] = set()
        self.tags = set(db.session.scalars(select(Equipment.asset_tag_key).where(Equipment.school_id == school.id)))
        self.new_tags: set[str] = set()
        self.rows_read = 0

    def problem(self, sheet: str, row: int | None, column: str, message: str) -> None:
        self.problems.append(Problem(sheet, row, column, str(message)))

    def read_sheet(self, collection: Collection, title: str, rows: Iterator[tuple]) -> None:
        first = next(rows, None)
        if first is None:
            return  # an empty sheet of the template: nothing of that kind to import
        names = {fold(word): name for name in FIELDS[collection.name] for word in _header_words(collection, name)}
        columns = [names.get(fold(_plain_header(str(cell.value or "")))) for cell in first]
        missing = [header(collection, name) for name in _required(collection) if name not in columns]
        if missing:
            self.problem(title, 1, ", ".join(missing), _("This column is missing from the first row."))
            return
        headers = {name: header(collection, name) for name in FIELDS[collection.name]}
        schema_fields = services.schema_fields(collection)
        records = self.records.setdefault(collection.name, [])
        for number, cells in enumerate(rows, start=2):
            self.rows_read += 1
            if number > MAX_ROWS + 1:
                self.problem(title, number, "", _("At most %(n)d rows in one sheet.", n=MAX_ROWS))
                return
            if self.rows_read > MAX_FILE_ROWS:
                self.problem(title, number, "", _("At most %(n)d rows in one file: split it.", n=MAX_FILE_ROWS))
                return
            if len(self.problems) > MAX_CHECKED_PROBLEMS:
                return
            if number == 2 and _is_example(collection, {name: cell.value for name, cell in
                                                        zip(columns, cells, strict=False) if name}):
                continue
            values, failed = {}, set()
            for name, cell in zip(columns, cells, strict=False):
                if name is None or cell.value is None or (isinstance(cell.value, str) and not cell.value.strip()):
                    continue
                failed.add(name)
                if cell.data_type == "f":
                    self.problem(title, number, headers[name], _("Formulas are not imported: type the value itself."))
                    continue
                if isinstance(cell.value, str) and UNPRINTABLE.search(cell.value):
                    self.problem(title, number, headers[name], _("This cell holds control characters, which are "
                                                                 "not allowed: type its text again."))
                    continue
                try:
                    values[name] = _value(schema_fields.get(name), name, cell.value)
                except ValueError as error:
                    self.problem(title, number, headers[name], str(error))
                    continue
                failed.discard(name)
            if values or failed:
                self.check_row(collection, title, number, values, failed, headers, records)

    def check_row(self, collection, title, number, values, failed, headers, records) -> None:
        """Check one row's ``values`` (``failed``: columns already reported) against the
        schema, the school and the rest of the file; report every problem found."""
        problems = len(self.problems)
        room = values.pop("room", None)
        room_key = identity_key(room) if room is not None else None
        if room_key is not None and room_key not in self.rooms and room_key not in self.new_rooms:
            self.problem(title, number, headers["room"],
                         _("There is no room named '%(name)s' in this school or in this file.", name=room))
        checked = {}
        try:
            checked = validated(collection, values)
        except ValidationFailed as error:
            for name, message in error.fields.items():
                if name not in failed:
                    self.problem(title, number, headers.get(name, name), message)
        tag = identity_key(checked.get("asset_tag") or str(values.get("asset_tag") or "")) \
            if collection.name == "equipment" else None
        if tag and tag in self.new_tags:
            self.problem(title, number, headers["asset_tag"],
                         _("Asset tag %(tag)s is given twice in this file.", tag=values["asset_tag"]))
        elif tag and tag in self.tags:
            self.problem(title, number, headers["asset_tag"],
                         _("Asset tag %(tag)s is already used in this school.", tag=values["asset_tag"]))
        name = identity_key(checked.get("name") or str(values.get("name") or "")) \
            if collection.name == "rooms" else None
        if name and name in self.new_rooms:
            self.problem(title, number, headers["name"],
                         _("The room name %(name)s is given twice in this file.", name=values["name"]))
        elif name and name in self.rooms:
            self.problem(title, number, headers["name"], _("This school already has a room with this name."))
        unknown = services.unknown_capabilities(checked.get("capabilities", ()))
        if unknown:
            self.problem(title, number, headers["capabilities"], unknown)
        if tag:
            self.new_tags.add(tag)
        if name:
            self.new_rooms.add(name)
        if len(self.problems) > problems or failed:
            return
        if room_key is not None:
            checked["room_id"] = self.rooms.get(room_key)
            checked["room_name"] = room_key if room_key in self.new_rooms else None
        records.append(checked)


def _value(schema_field, name: str, raw):
    """A cell as the schema expects it. Raises ValueError with the reason."""
    if name == "room":
        return " ".join(str(raw).split())
    if name == "capabilities":
        wanted = {fold(str(label)): key for key, label in KNOWN_CAPABILITIES.items()} | {key: key for key in
                                                                                     KNOWN_CAPABILITIES}
        parts = [part.strip() for part in re.split(r"[;,\n]", str(raw)) if part.strip()]
        return [wanted.get(fold(part), wanted.get(part, part)) for part in parts]
    if isinstance(schema_field, ma.fields.Enum):
        return _enum_value(schema_field.enum, raw)
    if isinstance(schema_field, ma.fields.Boolean):
        text = fold(str(raw)) if not isinstance(raw, bool) else ("yes" if raw else "no")
        if text in YES or text in NO:
            return text in YES
        raise ValueError(_("Write Có or Không."))
    if isinstance(schema_field, ma.fields.Date):
        return _date_value(raw)
    if isinstance(schema_field, ma.fields.Integer):
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str) and THOUSANDS.fullmatch(raw.strip()):
            return int(re.sub(r"[.,]", "", raw.strip()))
        if isinstance(raw, str) and WHOLE.fullmatch(raw.strip()):
            return int(raw.strip())
        return raw
    if isinstance(schema_field, ma.fields.Float):
        if isinstance(raw, str):
            if not DECIMAL.fullmatch(raw.strip()):
                raise ValueError(_("Not a valid number."))
            return float(raw.strip().replace(",", "."))
        return raw
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a serial number typed as digits
    if isinstance(raw, (datetime, date)):
        return raw.strftime("%d/%m/%Y")
    return str(raw)


def _enum_value(enum_cls: type[LabelledEnum], raw) -> str:
    value = _enum_words(enum_cls).get(fold(str(raw)))
    if value is None:
        raise ValueError(_("Not one of the list: %(choices)s.", choices=", ".join(m.label for m in enum_cls)))
    return value


@lru_cache(maxsize=64)
def _enum_words(enum_cls: type[LabelledEnum]) -> dict[str, str]:
    """Folded label (in every interface language) or value → value."""
    words = {}
    for member in enum_cls:
        words.update(dict.fromkeys((fold(label) for label in in_every_language(lambda m=member: m.label)),
                                   member.value))
        words[member.value] = member.value
    return words


def _date_value(raw) -> str:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    text = str(raw).strip()
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    raise ValueError(_("Not a date: write it as dd/mm/yyyy."))


# --- saving --------------------------------------------------------------------------

def _save(actor, school: School, records: dict[str, list[dict]]) -> dict[str, int]:
    created: dict[str, int] = {}
    room_ids: dict[str, int] = {}
    for name, collection in COLLECTIONS.items():  # rooms first: equipment may name a room of this file
        rows = [_row(values, room_ids) for values in records.get(name) or ()]
        if not rows:
            continue
        if name == "equipment":
            services.give_tags(school.id, rows)
        ids = services.insert_checked(actor, school, collection, rows, imported=True)
        if name == "rooms":
            room_ids = {identity_key(row["name"]): room_id for row, room_id in zip(rows, ids, strict=True)}
        created[name] = len(rows)
    audit.record(actor, "inventory.imported", school, counts=created)
    db.session.commit()
    return created


def _row(values: dict, room_ids: dict[str, int]) -> dict:
    """A row's checked values, a room named in this file given its id from ``room_ids``
    (by the name's identity key)."""
    values = dict(values)
    room_name = values.pop("room_name", None)
    if room_name:
        values["room_id"] = room_ids[room_name]
    return values
