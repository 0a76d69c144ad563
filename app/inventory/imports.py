"""Importing the inventory from the portal's XLSX template (one sheet per kind of record)
or from a CSV file of one kind.

The whole file is read and checked before anything is saved: every problem is reported
with its sheet, row, column and reason, and a file with any problem imports nothing. A
good file is saved in one transaction, each record audited as created by the import."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

import marshmallow as ma
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from app import audit
from app.errors import ValidationFailed
from app.extensions import db
from app.inventory import services
from app.inventory.capabilities import KNOWN_CAPABILITIES
from app.inventory.listing import LISTINGS
from app.inventory.models import Equipment, EquipmentKind, LabelledEnum, Room
from app.inventory.services import COLLECTIONS, TAG_PREFIXES, Collection, validated
from app.schools.models import School
from app.search import fold

MAX_ROWS = 20_000  # data rows in one sheet
MAX_PROBLEMS = 200  # problems listed; the count says how many more
MAX_MEGABYTES = 20
YES = {"co", "x", "yes", "true", "1", "dung", "da"}
NO = {"khong", "no", "false", "0", "chua", ""}
THOUSANDS = re.compile(r"^\d{1,3}([.,]\d{3})+$")

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


# --- the template --------------------------------------------------------------------

def template_workbook() -> bytes:
    """The XLSX template: a sheet per kind with its headers and dropdowns for the fields
    that take one of a list, plus a hidden sheet holding those lists."""
    book = Workbook()
    lists = book.active
    lists.title = "Danh mục"
    lists.sheet_state = "hidden"
    list_column = 0
    for collection in COLLECTIONS.values():
        sheet = book.create_sheet(sheet_title(collection))
        fields = services.schema_fields(collection)
        for index, name in enumerate(FIELDS[collection.name], start=1):
            letter = get_column_letter(index)
            sheet.cell(1, index, header(collection, name)).font = Font(bold=True)
            sheet.column_dimensions[letter].width = max(14, len(header(collection, name)) + 4)
            choices = _choices(fields.get(name))
            if choices:
                list_column += 1
                list_letter = get_column_letter(list_column)
                for row, label in enumerate(choices, start=1):
                    lists.cell(row, list_column, label)
                rule = DataValidation(type="list", allow_blank=True,
                                      formula1=f"'Danh mục'!${list_letter}$1:${list_letter}${len(choices)}")
                rule.error = _("Choose one of the list.")
                sheet.add_data_validation(rule)
                rule.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        sheet.freeze_panes = "A2"
    book.active = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _choices(schema_field) -> list[str]:
    if isinstance(schema_field, ma.fields.Enum):
        return [member.label for member in schema_field.enum]
    if isinstance(schema_field, ma.fields.Boolean):
        return [_("Yes"), _("No")]
    return []


# --- reading -------------------------------------------------------------------------

def import_file(actor, school: School, filename: str, data: bytes) -> ImportResult:
    """Check the whole of ``data`` (an XLSX template or, by ``filename``, a CSV of one
    kind) and, when it has no problem, create its records in one transaction."""
    if len(data) > MAX_MEGABYTES * 1024 * 1024:
        raise ValidationFailed(_("The file is larger than %(n)d MB: split it into smaller files.", n=MAX_MEGABYTES))
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


def _xlsx_sheets(data: bytes) -> Iterator[tuple[Collection, str, Iterator[tuple]]]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValidationFailed(_("This is not an XLSX file. Save it from Excel or LibreOffice as .xlsx, or as CSV."))
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationFailed(_("The file could not be read as an XLSX workbook.")) from None
    by_title = {fold(sheet_title(collection)): collection for collection in COLLECTIONS.values()}
    known = [(by_title[fold(name)], name) for name in book.sheetnames if fold(name) in by_title]
    if not known:
        raise ValidationFailed(_("No sheet of this file is named like the template's (%(names)s).",
                                 names=", ".join(sheet_title(c) for c in COLLECTIONS.values())))
    return [(collection, name, book[name].iter_rows()) for collection, name in known]


def _csv_sheets(filename: str, data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_("The CSV file is not in UTF-8: save it as 'CSV UTF-8'.")) from None
    lines = text.splitlines()
    if not lines:
        raise ValidationFailed(_("The file is empty."))
    dialect = csv.excel_tab if lines[0].count("\t") > max(lines[0].count(","), lines[0].count(";")) else None
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(lines, dialect) if dialect else csv.reader(lines, delimiter=delimiter)
    rows = [tuple(_CsvCell(value) for value in row) for row in reader]
    headers = {fold(str(cell.value)) for cell in rows[0]}
    for collection in COLLECTIONS.values():
        if {fold(header(collection, name)) for name in _required(collection)} <= headers:
            return [(collection, filename, iter(rows))]
    raise ValidationFailed(_("The CSV file's first row must hold the headers of one sheet of the template."))


@dataclass(frozen=True)
class _CsvCell:
    value: str
    data_type: str = "s"


def _required(collection: Collection) -> list[str]:
    return [name for name, schema_field in services.schema_fields(collection).items() if schema_field.required]


class _Reading:
    """Rows turned into checked values, and every problem found on the way."""

    def __init__(self, school: School):
        self.school = school
        self.problems: list[Problem] = []
        self.records: dict[str, list[dict]] = {}
        self.rooms = dict(db.session.execute(select(Room.name, Room.id).where(Room.school_id == school.id)).all())
        self.new_rooms: set[str] = set()
        self.tags = set(db.session.scalars(select(Equipment.asset_tag).where(Equipment.school_id == school.id)))

    def problem(self, sheet: str, row: int | None, column: str, message: str) -> None:
        self.problems.append(Problem(sheet, row, column, str(message)))

    def read_sheet(self, collection: Collection, title: str, rows: Iterator[tuple]) -> None:
        first = next(rows, None)
        if first is None:
            return  # an empty sheet of the template: nothing of that kind to import
        names = {fold(header(collection, name)): name for name in FIELDS[collection.name]}
        columns = [names.get(fold(str(cell.value or ""))) for cell in first]
        missing = [header(collection, name) for name in _required(collection) if name not in columns]
        if missing:
            self.problem(title, 1, ", ".join(missing), _("This column is missing from the first row."))
            return
        headers = {name: header(collection, name) for name in FIELDS[collection.name]}
        schema_fields = services.schema_fields(collection)
        records = self.records.setdefault(collection.name, [])
        for number, cells in enumerate(rows, start=2):
            if number > MAX_ROWS + 1:
                self.problem(title, number, "", _("At most %(n)d rows in one sheet.", n=MAX_ROWS))
                return
            values, failed = {}, set()
            for name, cell in zip(columns, cells, strict=False):
                if name is None or cell.value is None or (isinstance(cell.value, str) and not cell.value.strip()):
                    continue
                failed.add(name)
                if cell.data_type == "f":
                    self.problem(title, number, headers[name], _("Formulas are not imported: type the value itself."))
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
        if room is not None and room not in self.rooms and room not in self.new_rooms:
            self.problem(title, number, headers["room"],
                         _("There is no room named '%(name)s' in this school or in this file.", name=room))
        checked = {}
        try:
            checked = validated(collection, values)
        except ValidationFailed as error:
            for name, message in error.fields.items():
                if name not in failed:
                    self.problem(title, number, headers.get(name, name), message)
        tag = (checked.get("asset_tag") or str(values.get("asset_tag") or "").strip()) \
            if collection.name == "equipment" else None
        if tag and tag in self.tags:
            self.problem(title, number, headers["asset_tag"],
                         _("Asset tag %(tag)s is already used in this school.", tag=tag))
        name = (checked.get("name") or str(values.get("name") or "").strip()) if collection.name == "rooms" else None
        if name and (name in self.rooms or name in self.new_rooms):
            self.problem(title, number, headers["name"], _("This school already has a room with this name."))
        unknown = sorted(set(checked.get("capabilities", ())) - set(KNOWN_CAPABILITIES))
        if unknown:
            self.problem(title, number, headers["capabilities"],
                         _("Unknown capability: %(keys)s.", keys=", ".join(unknown)))
        if tag:
            self.tags.add(tag)
        if name:
            self.new_rooms.add(name)
        if len(self.problems) > problems or failed:
            return
        if room is not None:
            checked["room_id"] = self.rooms.get(room)
            checked["room_name"] = room if room in self.new_rooms else None
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
        if isinstance(raw, str) and THOUSANDS.match(raw.strip()):
            return int(re.sub(r"[.,]", "", raw.strip()))
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw.strip())
        return raw
    if isinstance(schema_field, ma.fields.Float):
        if isinstance(raw, str):
            try:
                return float(raw.strip().replace(",", "."))
            except ValueError:
                raise ValueError(_("Not a valid number.")) from None
        return raw
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a serial number typed as digits
    if isinstance(raw, (datetime, date)):
        return raw.strftime("%d/%m/%Y")
    return str(raw)


def _enum_value(enum_cls: type[LabelledEnum], raw) -> str:
    value = _enum_words(enum_cls, str(get_locale())).get(fold(str(raw)))
    if value is None:
        raise ValueError(_("Not one of the list: %(choices)s.", choices=", ".join(m.label for m in enum_cls)))
    return value


@lru_cache(maxsize=64)
def _enum_words(enum_cls: type[LabelledEnum], _locale: str) -> dict[str, str]:
    """Folded label (in this locale and in Vietnamese) or value → value."""
    words = {}
    for member in enum_cls:
        with force_locale("vi"):
            words[fold(member.label)] = member.value
        words[fold(member.label)] = member.value
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
            _give_tags(school.id, rows)
        ids = services.insert_checked(actor, school, collection, rows, imported=True)
        if name == "rooms":
            room_ids = {row["name"]: room_id for row, room_id in zip(rows, ids, strict=True)}
        created[name] = len(rows)
    audit.record(actor, "inventory.imported", school, counts=created)
    db.session.commit()
    return created


def _row(values: dict, room_ids: dict[str, int]) -> dict:
    """A row's checked values, a room named in this file given its id from ``room_ids``."""
    values = dict(values)
    room_name = values.pop("room_name", None)
    if room_name:
        values["room_id"] = room_ids[room_name]
    return values


def _give_tags(school_id: int, rows: list[dict]) -> None:
    """Generated tags for the equipment rows without one, numbered on from the school's highest."""
    next_number: dict[EquipmentKind, int] = {}
    taken = {row["asset_tag"] for row in rows if row.get("asset_tag")}
    for row in rows:
        if row.get("asset_tag"):
            continue
        kind = EquipmentKind(row["kind"])
        if kind not in next_number:
            tag = services.next_asset_tag(school_id, kind)
            next_number[kind] = int(tag.rsplit("-", 1)[1])
        prefix = TAG_PREFIXES[kind]
        tag = f"{prefix}-{next_number[kind]:04d}"
        while tag in taken:
            next_number[kind] += 1
            tag = f"{prefix}-{next_number[kind]:04d}"
        row["asset_tag"] = tag
        taken.add(tag)
        next_number[kind] += 1
