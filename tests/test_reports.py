"""Journey 5's reports: the self-assessment report in the layout of the official table and
the evidence catalogue, as XLSX and PDF; a draft (the live state) is marked "BẢN NHÁP" on
every page, an approved year prints its sealed result, signed and dated by its approver."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.models import Role
from app.assessments.models import SealedResult
from app.extensions import db
from app.reports import catalogue_pdf, catalogue_xlsx, self_assessment_pdf
from app.reports.services import report_source
from app.schools.models import School
from tests.test_assessments import Api, _ready

VIETNAM = timezone(timedelta(hours=7))
SCHOOL_NAME = "Trường Tiểu học Chu Văn An"


@pytest.fixture()
def school_people(build):
    school = build.school(code="THCVA", name=SCHOOL_NAME, district="Đắk Song")
    people = {role: build.user(role, school=school, full_name=name) for role, name in (
        (Role.STAFF, "Trần Văn Minh"), (Role.REVIEWER, "Lê Thị Lan"), (Role.PRINCIPAL, "Nguyễn Thị Hương"))}
    people["district"] = build.user(Role.DISTRICT, district=school.district)
    tokens = {role: build.token(person) for role, person in people.items()}
    return school, people, tokens


def _get(make_client, person, school, year, name):
    client = make_client()
    client.login(person.email)
    return client.get(f"/schools/{school.id}/assessments/{year}/reports/{name}")


def _sheet(answer):
    return load_workbook(io.BytesIO(answer.get_data())).active


def _row_of(sheet, first_cell: str) -> tuple:
    return next(row for row in sheet.iter_rows(values_only=True) if row[0] == first_cell)


def _pdf_text(data: bytes, tmp_path, page: int | None = None) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", *pages, str(path), "-"], capture_output=True, text=True, check=True).stdout


def _pages(data: bytes, tmp_path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _fonts(data: bytes, tmp_path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    return [line.split() for line in lines[2:]]


def _today() -> str:
    today = datetime.now(VIETNAM)
    return f"Đắk Song, ngày {today:%d} tháng {today:%m} năm {today:%Y}"


def test_the_draft_report_is_the_official_table_in_a_printable_workbook(app, school_people, make_client):
    school, people, tokens = school_people
    api = Api(app, school, tokens)
    _ready(api)  # a classroom with a projector and Internet; 1.1, 1.2, 2.1, 2.2 evidenced

    answer = _get(make_client, people[Role.PRINCIPAL], school, api.year, "tu-danh-gia.xlsx")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = unquote(answer.headers["Content-Disposition"])
    assert disposition.startswith("attachment")
    assert f"BẢN NHÁP - Báo cáo tự đánh giá mức độ chuyển đổi số {api.year} - {SCHOOL_NAME}.xlsx" in disposition
    sheet = _sheet(answer)

    # The heading: the district office and the school left, Quốc hiệu and Tiêu ngữ right.
    assert sheet["A1"].value == "PHÒNG GD&ĐT ĐẮK SONG"
    assert sheet["A2"].value == "TRƯỜNG TIỂU HỌC CHU VĂN AN" and sheet["A2"].font.b
    assert sheet["D1"].value == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert sheet["D2"].value == "Độc lập - Tự do - Hạnh phúc"
    assert sheet["D4"].value == _today()
    assert sheet["A1"].font.name == "Times New Roman"
    merged = {str(cells) for cells in sheet.merged_cells.ranges}
    assert {"A1:C1", "A2:C2", "D1:H1", "D2:H2", "D4:H4", "A6:H6"} <= merged
    texts = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert "BÁO CÁO KẾT QUẢ TỰ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ" in texts
    assert f"NĂM HỌC {api.year.replace('-', ' - ')}" in texts
    assert any(text and text.startswith("BẢN NHÁP") for text in texts)
    assert sheet.oddHeader.center.text == "BẢN NHÁP"  # on every printed page

    # The table's header rows repeat on each printed page; A4 landscape, one page wide.
    header = texts.index("STT") + 1
    assert [cell.value for cell in sheet[header]] == [
        "STT", "Tiêu chí", "Điểm tối đa", "Điểm thành phần", "Mức độ", "Đơn vị tự đánh giá, chấm điểm", "Mức độ",
        "Ghi chú, minh chứng"]
    assert sheet.print_title_rows == f"${header}:${header + 1}"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_area == f"'{sheet.title}'!$A$1:$H${sheet.max_row}"

    # Group rows, mandatory conditions, criteria with their level bands, sub-items.
    group = _row_of(sheet, "1")
    assert group[1] == "Nhóm tiêu chí 1: Chuyển đổi số trong dạy, học" and group[2] == 100 and group[5] == 8
    assert group[6] == "Mức 1 – chưa đáp ứng"
    group_row = texts.index("1") + 1
    assert f"D{group_row}:E{group_row}" in merged
    assert _row_of(sheet, "1.1")[3:7] == ("Điều kiện bắt buộc", None, "Có", "Đạt")
    assert "H1-1.1-01" in _row_of(sheet, "1.1")[7]
    criterion = _row_of(sheet, "1.7")
    assert criterion[2] == 20 and criterion[5] == 8 and criterion[6] == "Đạt mức độ 2"
    assert criterion[4] == "Mức độ 1: dưới 8 điểm;\nMức độ 2: từ 8 đến 14 điểm;\nMức độ 3: trên 14 điểm"
    assert "Có minh chứng được chấp nhận: 0/8 điểm" in criterion[7]  # claimed, not yet evidenced
    item = _row_of(sheet, "1.7.a")
    assert item[5] == 8 and item[3].startswith("Dưới 20%: tối đa 2 điểm;\nTừ 20% đến 60%: tối đa 5 điểm")
    assert "1/1 phòng học có thiết bị trình chiếu và Internet (100%) → 8 điểm" in item[7]
    assert _row_of(sheet, "1.6.a")[3].startswith("Dưới 30%: tối đa 2 điểm;\nTừ 30% đến 60%: tối đa 4 điểm")

    # Claimed and evidenced points side by side; the principal signs.
    summary = [row for row in sheet.iter_rows(values_only=True) if row[1] == "Chuyển đổi số trong dạy, học"]
    assert summary[0][2] == "Đạt" and summary[0][4:6] == (8, 0) and summary[0][7] == "Mức 1 – chưa đáp ứng"
    signature = [row[3] for row in sheet.iter_rows(values_only=True)]
    assert "HIỆU TRƯỞNG" in signature and "Nguyễn Thị Hương" in signature


def test_the_draft_pdf_reads_back_in_vietnamese_with_its_fonts_embedded(app, school_people, make_client,
                                                                        tmp_path):
    school, people, tokens = school_people
    api = Api(app, school, tokens)
    _ready(api)

    answer = _get(make_client, people["district"], school, api.year, "tu-danh-gia.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    data = answer.get_data()
    text = " ".join(_pdf_text(data, tmp_path).split())  # lines wrapped inside a cell read as one
    for expected in ("PHÒNG GD&ĐT ĐẮK SONG", "TRƯỜNG TIỂU HỌC CHU VĂN AN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Độc lập - Tự do - Hạnh phúc", _today(), "BÁO CÁO KẾT QUẢ TỰ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ",
                     "Chuyển đổi số trong dạy, học", "Chuyển đổi số trong quản trị cơ sở giáo dục",
                     "Điều kiện bắt buộc", "H1-1.1-01", "H1-1.2-01", "H2-2.1-01", "H2-2.2-01", "HIỆU TRƯỞNG",
                     "(Ký, ghi rõ họ tên, đóng dấu)", "Nguyễn Thị Hương", "Điểm có minh chứng được chấp nhận"):
        assert expected in text, expected
    pages = _pages(data, tmp_path)
    assert pages > 1
    for page in range(1, pages + 1):
        page_text = _pdf_text(data, tmp_path, page)
        assert "BẢN NHÁP" in page_text and f"Trang {page}/{pages}" in page_text
    fonts = _fonts(data, tmp_path)
    assert fonts and all(font[-5] == "yes" for font in fonts)  # the "emb" column
    assert all("LiberationSerif" in font[0] for font in fonts)


def test_a_draft_with_many_documents_lists_every_code_in_index_order_on_pages_all_marked_draft(
        app, school_people, tmp_path):
    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    _ready(api)
    with app.test_request_context():
        snapshot, draft = report_source(db.session.get(School, school.id), api.year)
    assert draft and snapshot["principal"]["name"] == "Nguyễn Thị Hương"
    criteria = ["1.3", "2.3.c", "1.7.b", "2.4"]
    counters: dict[str, int] = {}
    code_of = {}  # document number → its first code
    for number in range(1, 121):
        target = criteria[number % len(criteria)]
        group, criterion = target[0], ".".join(target.split(".")[:2])
        counters[criterion] = counters.get(criterion, 0) + 1
        code_of[number] = f"H{group}-{criterion}-{counters[criterion]:02d}"
        links = [{"criterion": target, "code": code_of[number], "status": "accepted", "comment": ""}]
        if number == 7:  # one document supports two criteria: it appears under both codes
            links.append({"criterion": "2.2", "code": "H2-2.2-02", "status": "pending", "comment": ""})
        snapshot["evidence"].append({
            "id": 1000 + number, "title": f"Biên bản kiểm tra số {number}", "doc_type": "minutes",
            "number": f"{number}/BB-THCVA", "issued_on": "2023-02-15", "issuer": SCHOOL_NAME,
            "url": "https://truong.example.edu.vn/minh-chung" if number % 10 == 0 else "", "description": "",
            "links": links, "file": None if number % 10 == 0 else {
                "id": number, "version": 2, "filename": f"bien-ban-{number}.pdf", "size": 10, "sha256": "0" * 64,
                "content_type": "application/pdf", "key": "k"}})

    data = catalogue_pdf(snapshot, True)
    pages = _pages(data, tmp_path)
    assert pages >= 4
    for page in range(1, pages + 1):
        page_text = _pdf_text(data, tmp_path, page)
        assert "BẢN NHÁP" in page_text, f"page {page} is not marked a draft"
        assert "Mã minh chứng" in page_text  # the header row repeats
    text = _pdf_text(data, tmp_path)
    codes = re.findall(r"H\d-\d\.\d-\d+", text)
    expected = sorted({link["code"] for entry in snapshot["evidence"] for link in entry["links"]},
                      key=lambda code: (code[1], code.split("-")[1], int(code.split("-")[2])))
    assert list(dict.fromkeys(codes)) == expected
    assert "DANH MỤC MINH CHỨNG" in text and "Biên bản kiểm tra số 7" in text

    sheet = load_workbook(io.BytesIO(catalogue_xlsx(snapshot, True))).active
    rows = {row[1]: row for row in sheet.iter_rows(values_only=True) if isinstance(row[0], int)}
    assert list(rows) == expected
    assert rows[code_of[7]][2] == rows["H2-2.2-02"][2] == "Biên bản kiểm tra số 7"
    assert rows["H2-2.2-02"][5] == "2.2" and rows["H2-2.2-02"][6].endswith("Chưa được duyệt")
    assert rows[code_of[4]][3] == "4/BB-THCVA, 15/02/2023" and rows[code_of[4]][4] == SCHOOL_NAME
    assert rows[code_of[4]][5] == "1.3" and rows[code_of[4]][6] == "Tệp: bien-ban-4.pdf (phiên bản 2)"
    assert rows[code_of[10]][6] == "https://truong.example.edu.vn/minh-chung"
    assert sheet.print_title_rows and sheet.oddHeader.center.text == "BẢN NHÁP"

    # The self-assessment names a criterion's many codes as runs, on pages all marked draft.
    data = self_assessment_pdf(snapshot, True)
    text = " ".join(_pdf_text(data, tmp_path).split())
    assert "H1-1.3-01 đến H1-1.3-30" in text and "H1-1.7-01 đến H1-1.7-30" in text
    assert all("BẢN NHÁP" in _pdf_text(data, tmp_path, page) for page in range(1, _pages(data, tmp_path) + 1))


def test_an_approved_year_prints_its_sealed_result_signed_and_dated_by_the_approver(
        app, school_people, make_client, read, tmp_path):
    school, people, tokens = school_people
    api = Api(app, school, tokens)
    _ready(api)
    assert api.act(Role.STAFF, "start-review").status_code == 200
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200
    seal = read(lambda: db.session.scalar(select(SealedResult)))
    approved = datetime.fromisoformat(seal.snapshot["approved_at"]).astimezone(VIETNAM)
    dated = f"Đắk Song, ngày {approved:%d} tháng {approved:%m} năm {approved:%Y}"
    # After the approval the inventory changes: the reports still print what was sealed.
    api.add(Role.STAFF, "rooms", name="6B", kind="classroom", internet=False)

    pdf = _get(make_client, people[Role.REVIEWER], school, api.year, "tu-danh-gia.pdf")
    assert pdf.status_code == 200
    assert "BẢN NHÁP" not in unquote(pdf.headers["Content-Disposition"])
    data = pdf.get_data()
    text = _pdf_text(data, tmp_path)
    assert "BẢN NHÁP" not in text
    assert dated in text and "Nguyễn Thị Hương" in text
    assert f"phê duyệt trên cổng lúc {approved:%H:%M} ngày {approved:%d/%m/%Y}" in text
    assert all(font[-5] == "yes" for font in _fonts(data, tmp_path))

    sheet = _sheet(_get(make_client, people[Role.STAFF], school, api.year, "tu-danh-gia.xlsx"))
    assert sheet["D4"].value == dated
    assert not sheet.oddHeader.center.text
    assert not any(str(row[0] or "").startswith("BẢN NHÁP") for row in sheet.iter_rows(values_only=True))
    assert _row_of(sheet, "1.7")[5] == 8  # sealed with 1/1 equipped classrooms, not 1/2 as now

    catalogue = _get(make_client, people[Role.PRINCIPAL], school, api.year, "danh-muc-minh-chung.pdf")
    text = _pdf_text(catalogue.get_data(), tmp_path)
    assert "DANH MỤC MINH CHỨNG" in text and "BẢN NHÁP" not in text
    assert re.findall(r"H\d-\d\.\d-\d+", text) == ["H1-1.1-01", "H1-1.2-01", "H2-2.1-01",
                                                                       "H2-2.2-01"]
    sheet = _sheet(_get(make_client, people[Role.PRINCIPAL], school, api.year, "danh-muc-minh-chung.xlsx"))
    assert sheet["A1"].value == "PHÒNG GD&ĐT ĐẮK SONG" and "Nguyễn Thị Hương" in [
        row[3] for row in sheet.iter_rows(values_only=True)]


def test_reports_exist_for_the_current_or_a_sealed_year_only(app, school_people, make_client):
    school, people, _tokens = school_people
    principal = people[Role.PRINCIPAL]
    assert _get(make_client, principal, school, "2023", "tu-danh-gia.pdf").status_code == 404
    assert _get(make_client, principal, school, "2019-2020", "danh-muc-minh-chung.xlsx").status_code == 404
    assert _get(make_client, principal, school, school.school_year, "tu-danh-gia.docx").status_code == 404
