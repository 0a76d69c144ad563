"""The district page's heat map as plain cells, worked out once per row in Python: the
page draws each school twice (a table on a laptop, cards on a phone), and reading the
score per cell in the template cost most of the page's time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from app.districts.services import SchoolResult
from app.framework.loader import Framework
from app.i18n import format_number

NONE = "–"


@dataclass(frozen=True)
class Cell:
    """A group's or criterion's cell: ``css`` its colour (heat-0..3, heat-none: not met
    or not recognised, heat-unknown: no figures), ``text`` its points (or ✓/✗ for a
    mandatory criterion, – without figures); for groups ``level`` ("Mức 2") and
    ``unmet`` (a mandatory condition keeps the level from being recognised); for
    mandatory criteria ``met``."""

    code: str
    css: str
    text: str
    level: str = ""
    unmet: bool = False
    met: bool | None = None


@dataclass(frozen=True)
class HeatRow:
    result: SchoolResult
    late: bool
    groups: tuple[Cell, ...]
    criteria: tuple[Cell, ...]


def heat_rows(found: list[SchoolResult], index: Framework, due: date | None, today: date) -> list[HeatRow]:
    """A HeatRow per result, its cells in the index's order of groups and criteria."""
    levels: dict[int, str] = {}

    def level_name(level: int) -> str:
        if level not in levels:
            levels[level] = _("Level %(n)d", n=level)
        return levels[level]

    mandatory = {criterion.code: criterion.mandatory for group in index.groups for criterion in group.criteria}
    rows = []
    for result in found:
        groups = {group["code"]: group for group in result.groups}
        criteria = {criterion["code"]: criterion for criterion in (result.score or {}).get("criteria", [])}
        group_cells = []
        for group in index.groups:
            figures = groups.get(group.code)
            if figures is None:
                group_cells.append(Cell(group.code, "heat-unknown", NONE))
                continue
            recognised = figures.get("recognised_level")
            group_cells.append(Cell(group.code, _heat(recognised), format_number(figures["points"]),
                                    level_name(figures["level"]), unmet=recognised != figures["level"]))
        criterion_cells = []
        for code, is_mandatory in mandatory.items():
            figures = criteria.get(code)
            if figures is None:
                criterion_cells.append(Cell(code, "heat-unknown", NONE))
            elif is_mandatory:
                criterion_cells.append(Cell(code, _heat(3 if figures["met"] else None),
                                            "✓" if figures["met"] else "✗", met=bool(figures["met"])))
            else:
                criterion_cells.append(Cell(code, _heat(figures["level"]), format_number(figures["points"])))
        rows.append(HeatRow(result, result.late(due, today), tuple(group_cells), tuple(criterion_cells)))
    return rows


def _heat(level: int | None) -> str:
    return "heat-none" if level is None else f"heat-{level}"
