"""Charts drawn by the server as SVG markup: readable without JavaScript, in print and on
a phone (a viewBox scaled to the width of the page), described for screen readers
(role="img", an aria-label, <title> and <desc>).

The functions take plain values and every text already in the reader's language, and
return a ``Markup`` string in which each text is escaped. Colours are those of the level
badges (app/static/css/portal.css)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

# The badges' colours (.level-0 … .level-3): dark enough for white text on them.
LEVEL_COLOURS = {0: "#b02a37", 1: "#a85300", 2: "#0a58ca", 3: "#157347"}
TRACK = "#e9ecef"
INK = "#212529"
MUTED = "#495057"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"

_ids = count(1)


@dataclass(frozen=True)
class CriterionBar:
    """One criterion: points claimed and backed by accepted evidence, against ``max``;
    ``label`` is the text at the end of its row (e.g. "18/30 · 6")."""

    code: str
    points: float
    evidenced: float
    max: float
    level: int | None
    label: str


@dataclass(frozen=True)
class GroupValue:
    """A group's points and level in one year; ``name`` is its short label ("N1")."""

    name: str
    points: float
    max: float
    level: int | None


@dataclass(frozen=True)
class YearColumn:
    """The groups' values of one school year; ``live``: this year, not sealed (drawn
    lighter, with ``note`` under the year)."""

    year: str
    groups: tuple[GroupValue, ...]
    live: bool = False
    note: str = ""


def colour(level: int | None) -> str:
    return LEVEL_COLOURS.get(level if level is not None else 0, LEVEL_COLOURS[0])


def _number(value: float) -> str:
    """Coordinates without float noise."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, title: str, description: str, body: list[str], css_class: str) -> Markup:
    ident = f"chart-{next(_ids)}"
    return Markup(  # nosec B704: every text in it went through escape(); the rest: numbers, constants
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {_number(width)} {_number(height)}" width="100%" '
        f'role="img" aria-label="{escape(title)}" aria-describedby="{ident}-desc" '
        f'font-family="{escape(FONT)}" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title><desc id="{ident}-desc">{escape(description)}</desc>'
        + "".join(body) + "</svg>")


def _text(x: float, y: float, content: str, size: float = 13, anchor: str = "start", fill: str = INK,
          weight: str = "normal", italic: bool = False) -> str:
    extra = ' font-style="italic"' if italic else ""
    return (f'<text x="{_number(x)}" y="{_number(y)}" font-size="{_number(size)}" text-anchor="{anchor}" '
            f'fill="{fill}" font-weight="{weight}"{extra}>{escape(content)}</text>')


def _rect(x: float, y: float, width: float, height: float, fill: str, opacity: float = 1.0, extra: str = "",
          tooltip: str = "") -> str:
    faded = f' fill-opacity="{_number(opacity)}"' if opacity < 1 else ""
    inner = f"<title>{escape(tooltip)}</title>" if tooltip else ""
    return (f'<rect x="{_number(x)}" y="{_number(y)}" width="{_number(max(width, 0))}" '
            f'height="{_number(max(height, 0))}" fill="{fill}"{faded}{extra}>{inner}</rect>')


def criterion_bars(bars: Sequence[CriterionBar], title: str, description: str) -> Markup:
    """A row per criterion: its code, a track as long as its maximum, the points claimed
    (light, in the colour of the criterion's level) and those backed by accepted evidence
    (solid) over it, and ``label`` at the end."""
    width, row, left, right = 340, 32, 38, 72
    track = width - left - right
    height = row * len(bars) + 4
    body = []
    for index, bar in enumerate(bars):
        top = index * row + 4
        share = track / bar.max if bar.max else 0
        shade = colour(bar.level)
        body.append(_text(0, top + 16, bar.code, 14, weight="600"))
        body.append(_rect(left, top + 3, track, 18, TRACK, extra=' rx="3"'))
        body.append(_rect(left, top + 3, bar.points * share, 18, shade, 0.35, ' rx="3"'))
        body.append(_rect(left, top + 3, min(bar.evidenced, bar.points) * share, 18, shade, extra=' rx="3"'))
        body.append(_text(width, top + 17, bar.label, 14, "end"))
    return _svg(width, height, title, description, body, "chart-criteria")


def year_on_year(columns: Sequence[YearColumn], thresholds: Sequence[tuple[float, str]], title: str,
                 description: str) -> Markup:
    """Bars of each group's points per school year, in the colour of its level, the
    points above each bar and the group's name under it, then the year; dashed lines at
    ``thresholds`` (points, label: where a level starts). A live column is drawn lighter
    with a dashed outline."""
    per_year = max((len(column.groups) for column in columns), default=1)
    left, right, top, bottom = 30, 44, 20, 62
    slot = max(80, 34 * per_year + 20)
    width = max(340, left + right + slot * len(columns))
    plot_width, plot_height = width - left - right, 160
    height = top + plot_height + bottom
    top_points = max((value.max for column in columns for value in column.groups), default=100) or 100
    slot = plot_width / max(len(columns), 1)
    bar_width = min(34, (slot - 12) / per_year)

    def y(points: float) -> float:
        return top + plot_height * (1 - min(points, top_points) / top_points)

    body = [f'<line x1="{left}" y1="{_number(y(0))}" x2="{_number(width - right)}" y2="{_number(y(0))}" '
            f'stroke="{MUTED}" stroke-width="1"/>',
            _text(left - 4, y(0) + 4, "0", 12, "end", MUTED),
            _text(left - 4, y(top_points) + 4, _number(top_points), 12, "end", MUTED)]
    for points, label in thresholds:
        body.append(f'<line x1="{left}" y1="{_number(y(points))}" x2="{_number(width - right)}" '
                    f'y2="{_number(y(points))}" stroke="{MUTED}" stroke-width="1" stroke-dasharray="4 3"/>')
        body.append(_text(left - 4, y(points) + 4, _number(points), 12, "end", MUTED))
        body.append(_text(width - right + 4, y(points) + 4, label, 12, fill=MUTED))
    for index, column in enumerate(columns):
        middle = left + slot * (index + 0.5)
        start = middle - bar_width * len(column.groups) / 2
        for position, value in enumerate(column.groups):
            x = start + position * bar_width + 2
            centre = x + (bar_width - 4) / 2
            shade = colour(value.level)
            outline = (f' stroke="{shade}" stroke-width="1.5" stroke-dasharray="3 2"' if column.live else "")
            body.append(_rect(x, y(value.points), bar_width - 4, y(0) - y(value.points), shade,
                              0.45 if column.live else 1.0, outline,
                              tooltip=f"{column.year} · {value.name}: {_number(value.points)}"))
            body.append(_text(centre, y(value.points) - 4, _number(value.points), 13, "middle", weight="600"))
            body.append(_text(centre, y(0) + 15, value.name, 12, "middle", MUTED))
        body.append(_text(middle, y(0) + 34, column.year, 13, "middle", weight="600" if column.live else "normal"))
        if column.note:
            body.append(_text(middle, y(0) + 51, column.note, 12, "middle", MUTED, italic=True))
    return _svg(width, height, title, description, body, "chart-years")


@dataclass(frozen=True)
class Share:
    """A part of a distribution: ``label`` (in the legend), how many, and its colour's
    level (``None``: the colour of no level; ``"none"``: grey, nothing known)."""

    label: str
    count: int
    level: int | str | None


def distribution(rows: Sequence[tuple[str, Sequence[Share]]], title: str, description: str) -> Markup:
    """A stacked bar per row (its name on the left) split into ``Share``s as wide as their
    counts, each count written inside its part when it fits; the legend under the bars."""
    width, row, left = 340, 34, 38
    track = width - left
    legend = list(dict.fromkeys((share.label, share.level) for _, shares in rows for share in shares))
    height = row * len(rows) + 8 + 22 * ((len(legend) + 1) // 2)
    body = []
    for index, (name, shares) in enumerate(rows):
        top = index * row + 4
        total = sum(share.count for share in shares) or 1
        x = left
        body.append(_text(0, top + 18, name, 14, weight="600"))
        body.append(_rect(left, top + 4, track, 22, TRACK, extra=' rx="3"'))
        for share in shares:
            part = track * share.count / total
            if share.count:
                body.append(_rect(x, top + 4, part, 22, _share_colour(share.level),
                                  tooltip=f"{name} · {share.label}: {share.count}"))
                if part >= 18:
                    body.append(_text(x + part / 2, top + 20, str(share.count), 13, "middle", "#fff", "600"))
            x += part
    base = row * len(rows) + 8
    for index, (label, level) in enumerate(legend):
        x, y = (index % 2) * (width / 2), base + (index // 2) * 22
        body.append(_rect(x, y, 14, 14, _share_colour(level), extra=' rx="2"'))
        body.append(_text(x + 20, y + 12, label, 13))
    return _svg(width, height, title, description, body, "chart-distribution")


def _share_colour(level: int | str | None) -> str:
    return "#6c757d" if level == "none" else colour(level)
