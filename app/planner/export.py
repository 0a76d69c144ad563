"""A saved plan as an XLSX action list: what to do, what each step costs in VND, the
total; and a second sheet of the groups today and as projected."""

from __future__ import annotations

import tempfile
from urllib.parse import quote

from flask import Response, current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app import clock
from app.spreadsheets import XLSX_TYPE, sheet_text

VND_FORMAT = '#,##0 "₫"'


def plan_workbook(school, plan, result: dict, described: list[str]) -> Response:
    """The XLSX download of ``plan`` (its projection ``result`` from plans.projection and
    each action ``described``)."""
    book = Workbook()
    actions = book.active
    actions.title = _("Actions")[:31]
    bold = Font(bold=True)
    actions.append([sheet_text(f"{plan.name} · {school.name}")])
    actions.cell(1, 1).data_type = "s"  # a name starting with "=" stays text, never a formula
    actions.append([_("Computed on %(day)s from the school's records of that day.",
                      day=clock.today().strftime("%d/%m/%Y"))])
    actions.append([_("No."), _("Action"), _("Cost (VND)")])
    for cell in actions[3]:
        cell.font = bold
    for number, (action, text) in enumerate(zip(result["actions"], described, strict=True), start=1):
        actions.append([number, sheet_text(text), action["cost_vnd"]])
        actions.cell(actions.max_row, 3).number_format = VND_FORMAT
    actions.append(["", _("Total"), result["cost_vnd"]])
    actions.cell(actions.max_row, 2).font = bold
    actions.cell(actions.max_row, 3).font = bold
    actions.cell(actions.max_row, 3).number_format = VND_FORMAT
    _autosize(actions, first_row=3)

    groups = book.create_sheet(_("Projected score")[:31])
    groups.append([_("Group"), _("Points today"), _("Level today"), _("Points projected"), _("Level projected"),
                   _("Maximum")])
    for cell in groups[1]:
        cell.font = bold
    for today, projected in zip(result["today"]["groups"], result["projected"]["groups"], strict=True):
        groups.append([sheet_text(f"{today['code']}. {today['title']}"), today["points"], today["level"],
                       projected["points"], projected["level"], today["max"]])
    _autosize(groups)
    with tempfile.TemporaryFile() as buffer:
        book.save(buffer)
        buffer.seek(0)
        data = buffer.read()
    response = current_app.response_class(data, mimetype=XLSX_TYPE)
    filename = f"ke-hoach-{plan.id}.xlsx"
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _autosize(sheet, first_row: int = 1) -> None:
    """Each column as wide as its longest value from ``first_row`` on (within 8..80)."""
    for column in sheet.iter_cols(min_row=first_row):
        longest = max((len(f"{cell.value:,}" if isinstance(cell.value, int) else str(cell.value or ""))
                       for cell in column), default=0)
        sheet.column_dimensions[get_column_letter(column[0].column)].width = max(8, min(80, longest + 4))
