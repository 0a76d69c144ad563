"""The self-assessment report ("Báo cáo kết quả tự đánh giá mức độ chuyển đổi số"): the
official table (STT, tiêu chí, điểm tối đa, điểm thành phần, mức độ, đơn vị tự đánh giá
chấm điểm, mức độ, ghi chú và minh chứng) with a row per group, criterion and sub-item,
then the claimed and the evidenced points of each group side by side."""

from __future__ import annotations

from datetime import datetime

from app import clock
from app.framework.loader import (
    Band,
    CountBandsRule,
    Framework,
    Item,
    LevelBand,
    LevelFromRatioRule,
    PercentageBandsRule,
)
from app.reports.document import (
    Column,
    Document,
    Row,
    Table,
    code_order,
    codes_text,
    index_of,
    number,
    official_document,
    school_year,
)
from app.reports.pdf import pdf
from app.reports.xlsx import workbook

COLUMNS = (
    Column("STT", 12, "center"),
    Column("Tiêu chí", 70),
    Column("Điểm tối đa", 14, "center"),
    Column("Điểm thành phần", 34),
    Column("Mức độ", 36),
    Column("Đơn vị tự đánh giá, chấm điểm", 20, "center"),
    Column("Mức độ", 20, "center"),
    Column("Ghi chú, minh chứng", 56),
)
CRITERION_BOLD = frozenset({0, 1, 2, 5, 6})
HEADER = (Row(tuple(column.title for column in COLUMNS), style="header"),
          Row(tuple(f"({index})" for index in range(1, len(COLUMNS) + 1)), style="header"))
# The summary under the table: same widths, its own columns (merged in pairs).
SUMMARY_COLUMNS = tuple(Column(column.title, column.width_mm, "left" if index == 1 else "center")
                        for index, column in enumerate(COLUMNS))
SUMMARY_SPANS = ((2, 3), (5, 6))
SUMMARY_HEADER = Row(("STT", "Nhóm tiêu chí", "Điều kiện bắt buộc", None, "Điểm tự đánh giá",
                      "Điểm có minh chứng được chấp nhận", None, "Mức độ"), style="header", spans=SUMMARY_SPANS)
TITLE = "BÁO CÁO KẾT QUẢ TỰ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ"


def self_assessment_xlsx(snapshot: dict, draft: bool) -> bytes:
    """The report of ``snapshot`` (see app.reports) as an XLSX workbook."""
    return workbook(self_assessment_document(snapshot, draft))


def self_assessment_pdf(snapshot: dict, draft: bool) -> bytes:
    """The report of ``snapshot`` (see app.reports) as a PDF."""
    return pdf(self_assessment_document(snapshot, draft))


def self_assessment_document(snapshot: dict, draft: bool) -> Document:
    """The report as a Document: the official table, then the summary of claimed and
    evidenced points, and for a sealed snapshot when and by whom it was approved."""
    index = index_of(snapshot["framework"]["code"])
    decision = index.decision if index else snapshot["framework"]["title"]
    title = (TITLE, f"NĂM HỌC {school_year(snapshot['year'])}", f"(Theo {decision})")
    score = snapshot["score"]
    main = Table(COLUMNS, HEADER, tuple(table_rows(snapshot, index)))
    summary = Table(SUMMARY_COLUMNS, (SUMMARY_HEADER,), tuple(summary_rows(score)), caption="TỔNG HỢP KẾT QUẢ")
    notes = []
    if score.get("overall_level") is not None:
        notes.append(f"Mức độ chung của nhà trường (mức thấp hơn của hai nhóm): Mức {score['overall_level']}.")
    if not draft and snapshot.get("approved_at"):
        moment = clock.local(datetime.fromisoformat(snapshot["approved_at"]))
        notes.append(f"Kết quả đã được Hiệu trưởng {snapshot['approved_by']['name']} phê duyệt trên cổng lúc "
                     f"{moment:%H:%M} ngày {moment:%d/%m/%Y}; mọi số liệu trên đây là số liệu đã niêm phong.")
    return official_document(snapshot, draft, title, (main, summary), notes=tuple(notes), sheet_name="Tự đánh giá")


def table_rows(snapshot: dict, index: Framework | None) -> list[Row]:
    """The rows of the official table: each group, then each of its criteria (a
    mandatory condition: met or not; a scored criterion: points and level) followed by
    its sub-items."""
    score = snapshot["score"]
    linked = _links_by_target(snapshot["evidence"])
    rows = []
    for group in score["groups"]:
        group_index = index and next((entry for entry in index.groups if entry.code == group["code"]), None)
        rows.append(Row((group["code"], f"Nhóm tiêu chí {group['code']}: {group['title']}", group["max"],
                         levels_text(group_index.levels) if group_index else "", None, group["points"],
                         group["status_label"], ""), style="group", spans=((3, 4),), keep_with_next=True))
        for criterion in (entry for entry in score["criteria"] if entry["group"] == group["code"]):
            rows.extend(_criterion_rows(criterion, index, linked))
    return rows


def _criterion_rows(criterion: dict, index: Framework | None, linked: dict) -> list[Row]:
    code = criterion["code"]
    if criterion["mandatory"]:
        notes = _notes(linked.get(code), criterion.get("basis"))
        return [Row((code, criterion["title"], "", "Điều kiện bắt buộc", None, "Có" if criterion["met"] else "Không",
                     "Đạt" if criterion["met"] else "Chưa đạt", notes), spans=((3, 4),), bold=CRITERION_BOLD)]
    found = index.find(code) if index else None
    items = criterion["items"]
    direct = len(items) == 1 and items[0]["code"] == code
    shares = points_text(found.scored_items[0], items[0]["max"]) if direct and found else ""
    achieved = "Không đạt" if not criterion["level"] else f"Đạt mức độ {criterion['level']}"
    notes = _notes(linked.get(code), items[0]["basis"] if direct else None)
    if criterion["evidenced_points"] is not None and criterion["evidenced_points"] < criterion["points"]:
        notes = "\n".join(filter(None, (notes, f"Có minh chứng được chấp nhận: "
                                               f"{number(criterion['evidenced_points'])}/"
                                               f"{number(criterion['points'])} điểm")))
    rows = [Row((code, criterion["title"], criterion["max"], shares, levels_text(found.levels) if found else "",
                 criterion["points"], achieved, notes), bold=CRITERION_BOLD, italic=frozenset({3}),
                keep_with_next=not direct)]
    if direct:
        return rows
    for item in items:
        item_index = index.find(item["code"]) if index else None
        rows.append(Row((item["code"], f"- {item['title']}", "",
                         points_text(item_index, item["max"]) if isinstance(item_index, Item)
                         else f"Tối đa {number(item['max'])} điểm", "", item["points"], "",
                         _notes(linked.get(item["code"]), item["basis"])), italic=frozenset({3})))
    return rows


def summary_rows(score: dict) -> list[Row]:
    """Per group: its mandatory conditions, the points claimed, the points backed by
    accepted evidence and its level (as the district sees them side by side)."""
    rows = []
    for group in score["groups"]:
        missing = group.get("missing_mandatory") or []
        condition = "Đạt" if group["mandatory_met"] else f"Chưa đạt ({', '.join(missing)})" if missing else "Chưa đạt"
        rows.append(Row((group["code"], group["title"], condition, None, group["points"], group["evidenced_points"],
                         None, group["status_label"]), spans=SUMMARY_SPANS))
    return rows


def levels_text(bands: tuple[LevelBand, ...]) -> str:
    """A criterion's or group's level bands as the decision writes them: "Mức độ 1: dưới
    10 điểm; Mức độ 2: từ 10 đến 20 điểm; Mức độ 3: trên 20 điểm"."""
    parts = []
    for position, band in enumerate(bands):
        following = bands[position + 1] if position + 1 < len(bands) else None
        parts.append(f"Mức độ {band.level}: {_range(band.threshold, band.inclusive, following, '')} điểm")
    return ";\n".join(parts)


def points_text(item: Item, maximum: int | float) -> str:
    """The "điểm thành phần" of a sub-item: its ceiling and, for a rule with bands,
    each band's points ("dưới 30%: tối đa 2 điểm; từ 30% đến 60%: tối đa 4 điểm; …")."""
    if item.parts:
        return f"Tối đa {number(maximum)} điểm:\n" + ";\n".join(f"{part.title}: tối đa {number(part.max)} điểm"
                                                             for part in item.parts)
    rule = item.rule
    if isinstance(rule, PercentageBandsRule | CountBandsRule):
        unit = "%" if isinstance(rule, PercentageBandsRule) else ""
        bands: tuple[Band, ...] = rule.bands
        pairs = zip(bands, [*bands[1:], None], strict=True)  # each band with the one above it
        return ";\n".join(_capitalised(f"{_range(band.threshold, band.inclusive, after, unit)}: tối đa "
                                        f"{number(band.points)} điểm") for band, after in pairs)
    if isinstance(rule, LevelFromRatioRule):
        return ";\n".join(f"Mức độ {level.level}: tối đa {number(level.points)} điểm"
                         for level in sorted(rule.levels, key=lambda level: level.level))
    return f"Tối đa {number(maximum)} điểm"


def _range(threshold, inclusive: bool, following, unit: str) -> str:
    """The values from (``inclusive``) or over ``threshold`` (None or over 0: no lower
    bound) up to the next band ``following`` (None: no upper bound)."""
    low = None if threshold is None or (threshold == 0 and not inclusive) else (
        f"từ {number(threshold)}{unit}" if inclusive else f"trên {number(threshold)}{unit}")
    if following is None:
        return f"{low} trở lên" if low and inclusive else low or "mọi giá trị"
    upper = number(following.threshold) + unit
    if low is None:
        return f"dưới {upper}" if following.inclusive else f"không quá {upper}"
    return f"{low} đến dưới {upper}" if following.inclusive else f"{low} đến {upper}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _links_by_target(evidence: list[dict]) -> dict[str, list[tuple[str, str]]]:
    """Criterion or sub-item code → its evidence (code, review status), in code order."""
    linked: dict[str, list[tuple[str, str]]] = {}
    for document in evidence:
        for link in document["links"]:
            linked.setdefault(link["criterion"], []).append((link["code"], link["status"]))
    return {target: sorted(codes, key=lambda pair: code_order(pair[0])) for target, codes in linked.items()}


def _notes(codes: list[tuple[str, str]] | None, basis: str | None) -> str:
    return "\n".join(filter(None, (codes_text(codes or ()), basis)))
