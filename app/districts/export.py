"""The district's table as the Phòng GD&ĐT sends it to the Sở: an official document
(UBND, Phòng GD&ĐT, Quốc hiệu, place and date) with a row per school — its level,
status, day of submission, each group's points and level and each criterion's points —
then how many schools reach each level, signed by the head of the office."""

from __future__ import annotations

from datetime import date

from app.districts.services import SchoolResult, Standing
from app.framework.loader import Framework
from app.reports.document import (
    NUMBER_BLANK,
    Column,
    Document,
    Row,
    Table,
    long_date,
    place,
    school_year,
    short_date,
)
from app.reports.xlsx import workbook
from app.schools.models import District

TITLE = "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ CỦA CÁC CƠ SỞ GIÁO DỤC"
STATUS_TEXT = {"draft": "Chưa nộp", "in_review": "Đang rà soát", "submitted": "Chờ phê duyệt",
               "approved": "Đã nộp", "evaluated": "Phòng đã đánh giá", "recognised": "Đã công nhận"}
SOURCE_TEXT = {"evaluated": "Kết quả đánh giá của Phòng", "sealed": "Kết quả trường tự đánh giá",
               "live": "Số liệu hiện tại, trường chưa phê duyệt", None: "Chưa có số liệu"}
SCHOOL_LEVELS = {"tieu_hoc": "Tiểu học", "thcs": "THCS", "thpt": "THPT", "lien_cap": "Liên cấp",
                 "gdtx": "GDTX"}


def level_text(level) -> str:
    return "Chưa đạt" if level is None else f"Mức {level}"


def district_xlsx(district: District, year: str, index: Framework, found: list[SchoolResult],
                  summary: Standing, due: date | None, today: date) -> bytes:
    """The XLSX bytes of the table of ``found`` (the district's schools, by name)."""
    return workbook(district_document(district, year, index, found, summary, due, today))


def district_document(district: District, year: str, index: Framework, found: list[SchoolResult],
                      summary: Standing, due: date | None, today: date) -> Document:
    criteria = [(group, criterion) for group in index.groups for criterion in group.criteria]
    columns = (Column("STT", 10, "center"), Column("Tên trường", 52), Column("Trạng thái", 24, "center"),
               Column("Ngày nộp", 20, "center"),
               *(column for group in index.groups for column in (
                   Column(f"Nhóm {group.code}: điểm", 14, "center"), Column(f"Nhóm {group.code}: mức", 16, "center"))),
               *(Column(criterion.code, 12, "center") for _, criterion in criteria),
               *((Column("Mức chung", 16, "center"),) if _overall(index) else ()), Column("Ghi chú", 40))
    spans, titles = [], ["STT", "Tên trường, cấp học", "Trạng thái", "Ngày nộp"]
    for group in index.groups:
        titles += [f"Nhóm {group.code}", None]
        spans.append((len(titles) - 2, len(titles) - 1))
    for group in index.groups:
        members = [criterion for owner, criterion in criteria if owner is group]
        start = len(titles)
        titles += [f"Tiêu chí nhóm {group.code}"] + [None] * (len(members) - 1)
        if len(members) > 1:
            spans.append((start, len(titles) - 1))
    tail = ["Mức chung", "Ghi chú"] if _overall(index) else ["Ghi chú"]
    titles += tail
    second = (["", "", "", ""] + ["Điểm", "Mức"] * len(index.groups)
              + [criterion.code for _, criterion in criteria] + [""] * len(tail))
    header = (Row(tuple(titles), style="header", spans=tuple(spans)), Row(tuple(second), style="header"))
    rows = tuple(_school_row(position, result, index, criteria, due, today)
                 for position, result in enumerate(found, start=1))
    width = len(columns)
    summary_rows = [Row(("", label, count) + ("",) * (width - 3), spans=((2, width - 1),), align="left")
                    for label, count in (("Số trường", summary.schools), ("Đã nộp (đã phê duyệt)", summary.sealed),
                                         ("Nộp trễ hạn hoặc quá hạn chưa nộp", summary.late))]
    for group in index.groups:
        counts = summary.levels.get(group.code, {})
        text = "; ".join(f"{level_text(level)}: {counts.get(level, 0)}" for level in (3, 2, 1, None))
        summary_rows.append(Row(("", f"Nhóm {group.code}: {group.title}", text) + ("",) * (width - 3),
                                spans=((2, width - 1),), align="left"))
    summary_table = Table(columns, (), tuple(summary_rows), caption="TỔNG HỢP")
    name = district.name
    authority = f"UBND {name}" if place(name) != name else f"UBND HUYỆN {name}"
    return Document(
        authority=authority.upper(), school="PHÒNG GIÁO DỤC VÀ ĐÀO TẠO",
        number=f"Số:{NUMBER_BLANK}/BC-PGDĐT", place_date=f"{place(name)}, {long_date(today)}",
        title=(TITLE, f"NĂM HỌC {school_year(year)}", f"(Theo {index.decision})"),
        tables=(Table(columns, header, rows), summary_table), signer_name="",
        recipients=(f"- Sở GD&ĐT {district.province} (để báo cáo);", "- Lưu: VT."), draft=False,
        notes=(f"Hạn nộp kết quả tự đánh giá về Phòng: {short_date(due)}.",) if due else (),
        sheet_name="Tổng hợp", subject=TITLE, author=f"Phòng GD&ĐT {name}", signer_title="TRƯỞNG PHÒNG")


def _school_row(position: int, result: SchoolResult, index: Framework, criteria, due: date | None,
                today: date) -> Row:
    school = result.school
    cells = [position, f"{school.name} ({SCHOOL_LEVELS[school.level.value]})", STATUS_TEXT[result.status.value],
             short_date(result.submitted_on())]
    for group in index.groups:
        found = result.group(group.code)
        cells += [found["points"] if found else None, level_text(found.get("recognised_level")) if found else ""]
    for _, criterion in criteria:
        found = result.criterion(criterion.code)
        if found is None:
            cells.append(None)
        elif criterion.mandatory:
            cells.append("Đạt" if found["met"] else "Chưa đạt")
        else:
            cells.append(found["points"])
    if _overall(index):
        cells.append(level_text(result.score.get("overall_level")) if result.score else "")
    notes = [SOURCE_TEXT[result.source]]
    if result.late(due, today):
        notes.append("Nộp trễ hạn" if result.sealed_at else "Quá hạn, chưa nộp")
    cells.append("; ".join(notes))
    return Row(tuple(cells))


def _overall(index: Framework) -> bool:
    """Whether the index defines a school's overall level (a province's choice)."""
    return index.settings.overall_level != "none"
