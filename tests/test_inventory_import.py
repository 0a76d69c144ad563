"""Importing the inventory from the portal's XLSX template or a CSV file: the whole file
is checked first, every problem is reported by sheet, row and column, a file with any
problem imports nothing, and a good one is saved in one transaction."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.extensions import db
from app.framework.scores import live_scorecard
from app.inventory.models import Equipment, EquipmentStatus, Room, Software
from app.schools.models import School
from tests.builders import bearer

EQUIPMENT_SHEET = "Thiết bị"


@pytest.fixture()
def staff(client, build):
    school = build.school()
    client.login(build.user(Role.STAFF, school=school).email)
    return client, school


def template(client, school):
    response = client.get(f"/schools/{school.id}/inventory/import/template.xlsx")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def upload(client, school, data: bytes, filename="kiem-ke.xlsx"):
    return client.post(f"/schools/{school.id}/inventory/import",
                       {"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def saved(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def problems(response) -> list[list[str]]:
    """The rows of the problems table: sheet, row, column, reason."""
    table = response.get_data(as_text=True).split('data-testid="import-problems"', 1)[1].split("</table>")[0]
    body = table.split("<tbody>", 1)[1]
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in row.split("</td>")[:-1]]
            for row in body.split("<tr>")[1:]]


def criterion_points(read, school, code: str):
    return read(lambda: live_scorecard(db.session.get(School, school.id)).criterion(code).points)


def count(read, model) -> int:
    return read(lambda: db.session.scalar(select(func.count()).select_from(model)))


def test_the_template_has_a_sheet_per_kind_with_vietnamese_headers_and_lists(staff, build):
    client, school = staff
    build.records("rooms", school, [{"name": "Phòng Tin học", "kind": "computer_lab"},
                                    {"name": "Phòng học 1A", "kind": "classroom"}])
    book = template(client, school)
    assert {"Phòng", "Thiết bị", "Đường truyền Internet", "Phần mềm và liên kết", "Học liệu số",
            "Đội ngũ và kỹ năng số"} <= set(book.sheetnames)
    sheet = book[EQUIPMENT_SHEET]
    # Required columns are marked, dates say their format, and an example row shows the way.
    assert [cell.value for cell in sheet[1]][:7] == ["Loại *", "Tên *", "Mã tài sản", "Số sê-ri", "Trạng thái",
                                                     "Phòng", "Ngày đưa vào sử dụng (dd/mm/yyyy)"]
    assert [cell.value for cell in sheet[2]][:2] == ["Máy chiếu", "Máy chiếu Epson EB-X06 (ví dụ)"]
    lists = {str(rule.sqref).split(":")[0]: rule.formula1 for rule in sheet.data_validations.dataValidation}

    def listed(cell: str) -> list[str]:
        column = lists[cell].split("!")[1].replace("$", "").split(":")[0].rstrip("0123456789")
        return [value for (value,) in book["Danh mục"].iter_rows(min_col=book["Danh mục"][column + "1"].column,
                                                                  max_col=book["Danh mục"][column + "1"].column,
                                                                  values_only=True) if value]
    assert listed("A2")[0] == "Máy tính để bàn"
    assert listed("F2") == ["Phòng học 1A", "Phòng Tin học"]  # the school's rooms


def test_a_good_file_imports_everything_in_one_go(staff, build, read):
    client, school = staff
    build.record("rooms", school, name="Phòng học 1A", kind="classroom", internet=True)
    before = criterion_points(read, school, "1.7")
    book = template(client, school)
    book["Phòng"].append(["Phòng Tin học", "Phòng máy tính (Tin học)", "Có", ""])
    sheet = book[EQUIPMENT_SHEET]
    for number in range(1, 301):
        room = "Phòng Tin học" if number <= 250 else "Phòng học 1A"
        sheet.append(["Máy tính để bàn" if number <= 250 else "Tivi", f"Thiết bị {number}", None, f"SN{number}",
                      "Hỏng" if number % 50 == 0 else "Đang sử dụng", room, "15/02/2023", "Ngân sách", None])
    book["Phần mềm và liên kết"].append(["VnEdu", "https://vnedu.vn", "Quản trị nhà trường", "Miễn phí",
                                           "Đang sử dụng", "Sổ điểm điện tử, Học bạ điện tử, so diem dien tu", ""])
    response = upload(client, school, saved(book))
    assert response.status_code == 200, re.sub(r"\s+", " ", response.get_data(as_text=True))[-3000:]
    summary = response.get_data(as_text=True)
    assert "Đã nhập 302 bản ghi." in summary

    def state():
        items = list(db.session.scalars(select(Equipment).where(Equipment.school_id == school.id)))
        lab = db.session.scalar(select(Room).where(Room.name == "Phòng Tin học"))
        return (len(items), sum(item.room_id == lab.id for item in items),
                sum(item.status == EquipmentStatus.BROKEN for item in items),
                sorted(item.asset_tag for item in items if item.kind.value == "desktop")[:2],
                db.session.scalar(select(Software.id).where(Software.name == "VnEdu")) is not None)
    assert read(state) == (300, 250, 6, ["PC-0001", "PC-0002"], True)
    software = read(lambda: db.session.scalar(select(Software).where(Software.name == "VnEdu")).capabilities)
    assert software == ["e_gradebook", "e_transcript"]  # named twice, kept once; the history says the same
    audited = read(lambda: db.session.scalar(select(AuditEvent).where(AuditEvent.action == "software.created")))
    assert sorted(audited.details["after"]["capabilities"]) == ["e_gradebook", "e_transcript"]
    created = read(lambda: db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "equipment.created")))
    assert created == 300
    # The live score follows at once: 1.7.a the equipped classroom, 1.7.b the lab's working computers.
    assert criterion_points(read, school, "1.7") > before
    # Imported records are searched, and their page tells they were created.
    found = client.get(f"/schools/{school.id}/equipment?q=thiet+bi+299").get_data(as_text=True)
    assert "SN299" in found and "SN298" not in found
    tv = read(lambda: db.session.scalar(select(Equipment.id).where(Equipment.serial == "SN299")))
    history = client.get(f"/schools/{school.id}/equipment/{tv}").get_data(as_text=True).split(
        'data-testid="history"', 1)[1]
    assert "Đã tạo (từ tệp nhập)" in " ".join(re.sub(r"<[^>]+>", " ", history).split())
    # Records added afterwards get ids of their own (the import drew its ids from the same sequence).
    later = build.record("equipment", school, kind="tv", name="Tivi thêm sau")
    assert later.id > tv


def test_a_file_with_bad_rows_is_refused_whole_with_every_problem(staff, build, read):
    client, school = staff
    build.record("equipment", school, kind="tv", name="Tivi cũ", asset_tag="TV-0001")
    book = template(client, school)
    sheet = book[EQUIPMENT_SHEET]
    sheet.append(["Máy tính để bàn", "PC tốt", None, None, "Đang sử dụng", None, None, None, None])
    sheet.append(["Máy bay", "PC lạ", None, None, "Đang sử dụng", None, None, None, None])        # row 4
    sheet.append(["Tivi", "Tivi mới", "TV-0001", None, "Mất", "Phòng ma", "31/02/2023", None, None])  # row 5
    sheet.append(["Tivi", None, None, None, None, None, None, None, "=1+1"])                       # row 6
    response = upload(client, school, saved(book))
    assert response.status_code == 400
    found = problems(response)
    assert ["Thiết bị", "4", "Loại"] in [row[:3] for row in found]
    assert {tuple(row[:3]) for row in found if row[1] == "5"} == {
        ("Thiết bị", "5", "Mã tài sản"), ("Thiết bị", "5", "Trạng thái"), ("Thiết bị", "5", "Phòng"),
        ("Thiết bị", "5", "Ngày đưa vào sử dụng")}
    assert {tuple(row[2:]) for row in found if row[1] == "6"} == {
        ("Tên", "Hãy nhập tên thiết bị."), ("Ghi chú", "Không nhập công thức: hãy gõ chính giá trị.")}
    assert "Chưa nhập gì: tệp có 7 lỗi." in response.get_data(as_text=True)
    assert count(read, Equipment) == 1  # only what was there before


@pytest.mark.parametrize("data, filename, message", [
    (b"PK\x03\x04 not really a zip", "kiem-ke.xlsx", "Đây không phải tệp XLSX"),
    (b"%PDF-1.7 a report", "kiem-ke.xlsx", "Đây không phải tệp XLSX"),
    ("Loại\tTên\nTivi\tTivi phòng 2\n".encode("utf-16"), "thiet-bi.csv", "không ở mã UTF-8"),
    (b"", "thiet-bi.csv", "Tệp trống."),
    (b"a,b\n1,2\n", "thiet-bi.csv", "Dòng đầu của tệp CSV phải là tiêu đề"),
    (b"x" * 10, "kiem-ke.pdf", "Chỉ nhập được tệp .xlsx hoặc .csv."),
    (b"\0" * (21 * 1024 * 1024), "to.xlsx", "Tệp lớn hơn 20 MB"),
    (b"\0" * (50 * 1024 * 1024), "50mb.xlsx", "Tệp lớn hơn 20 MB"),
])
def test_files_that_are_not_an_inventory_get_a_precise_message(staff, read, data, filename, message):
    client, school = staff
    response = upload(client, school, data, filename)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count(read, Equipment) == 0


def test_an_empty_template_imports_nothing_and_says_so(staff):
    client, school = staff
    response = upload(client, school, saved(template(client, school)))
    assert response.status_code == 400 and "Tệp không có dòng nào để nhập" in response.get_data(as_text=True)


def test_a_workbook_without_the_templates_sheets_is_refused(staff):
    client, school = staff
    book = template(client, school)
    for name in book.sheetnames[1:]:
        book[name].title = f"Trang {book.sheetnames.index(name)}"
    response = upload(client, school, saved(book))
    assert response.status_code == 400 and "không có trang tính nào mang tên" in response.get_data(as_text=True)


def test_a_csv_of_one_kind_imports_too(staff, read):
    client, school = staff
    data = "\ufeffLoại,Tên,Trạng thái\nTivi,Tivi phòng 2,Đang sử dụng\nMáy chiếu,Máy chiếu Epson,Hỏng\n"  # CSV UTF-8
    response = upload(client, school, data.encode(), "tb.csv")
    assert response.status_code == 200 and "Đã nhập 2 bản ghi." in response.get_data(as_text=True)
    assert read(lambda: sorted(db.session.scalars(select(Equipment.asset_tag)))) == ["MC-0001", "TV-0001"]


def test_duplicate_tags_inside_one_file_are_reported(staff, read):
    client, school = staff
    book = template(client, school)
    for _ in range(2):
        book[EQUIPMENT_SHEET].append(["Tivi", "Tivi", "TV-9", None, "Đang sử dụng", None, None, None, None])
    response = upload(client, school, saved(book))
    assert response.status_code == 400
    assert [row[:3] for row in problems(response)] == [["Thiết bị", "4", "Mã tài sản"]]
    assert count(read, Equipment) == 0


def rewritten(data: bytes, changes: dict) -> bytes:
    """``data`` (an XLSX) with some of its parts replaced: part name → new bytes, or a
    function of the old ones."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            part = source.read(info)
            change = changes.get(info.filename)
            target.writestr(info.filename, change(part) if callable(change) else change if change else part)
        for name in changes.keys() - set(source.namelist()):
            target.writestr(name, changes[name])
    return buffer.getvalue()


def with_shared_strings(data: bytes, strings: bytes) -> bytes:
    """``data`` (an XLSX written by openpyxl, which writes no shared strings) with a
    shared strings part holding ``strings``, declared so that Excel and openpyxl read it."""
    return rewritten(data, {
        "xl/sharedStrings.xml": strings,
        "xl/_rels/workbook.xml.rels": lambda xml: xml.replace(b"</Relationships>", (
            b'<Relationship Id="rIdStrings" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/sharedStrings"/></Relationships>')),
        "[Content_Types].xml": lambda xml: xml.replace(b"</Types>", (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))})


def sheet_part(book, title: str) -> str:
    return f"xl/worksheets/sheet{book.sheetnames.index(title) + 1}.xml"


def test_the_named_sheet_is_read_within_its_data_whatever_it_claims(staff, read):
    """Sheets named like the template's only after folding are not read, and a sheet
    claiming the whole grid (A1:XFD1048576) is read only as far as its rows go."""
    client, school = staff
    book = template(client, school)
    book["Phòng"].append(["Phòng học 5A", "Phòng học", "Có", ""])
    for lookalike in ("Phong", "P\u0300hong", "Pho\u0300ng"):
        book.create_sheet(lookalike).append(["Tên phòng", "Loại phòng"])
    parts = {sheet_part(book, title): lambda xml: re.sub(rb'<dimension ref="[^"]+"\s*/>',
                                                        b'<dimension ref="A1:XFD1048576"/>', xml)
             for title in ("Phòng", "Phong", "P\u0300hong", "Pho\u0300ng")}
    response = upload(client, school, rewritten(saved(book), parts))
    assert response.status_code == 200 and "Đã nhập 1 bản ghi." in response.get_data(as_text=True)
    assert count(read, Room) == 1


def test_a_workbook_that_unpacks_to_gigabytes_is_refused(staff, read):
    client, school = staff
    book = template(client, school)
    book[EQUIPMENT_SHEET].append(["Tivi", "Tivi 1", None, None, "Đang sử dụng", None, None, "Ngân sách", None])
    huge = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' \
           b'count="1" uniqueCount="1"><si><t>' + b"A" * (40 * 1024 * 1024) + b"</t></si></sst>"
    data = with_shared_strings(saved(book), huge)
    assert len(data) < 1024 * 1024
    response = upload(client, school, data)
    assert response.status_code == 400
    assert "khi giải nén chứa nhiều dữ liệu hơn mức cho phép nhập" in response.get_data(as_text=True)
    assert count(read, Equipment) == 0


@pytest.mark.parametrize("rows, cells_per_row", [(30_000, 1), (20_000, 15)])
def test_a_sheet_of_millions_of_empty_cells_is_refused_quickly(staff, read, rows, cells_per_row):
    client, school = staff
    book = template(client, school)
    part = sheet_part(book, EQUIPMENT_SHEET)
    header = "".join(f'<c r="{letter}1" t="inlineStr"><is><t>{text}</t></is></c>'
                     for letter, text in zip("AB", ("Loại", "Tên"), strict=True))
    body = "".join(f'<row r="{number}">' + "".join(f'<c r="{chr(65 + column)}{number}" s="0"/>'
                                                   for column in range(cells_per_row)) + "</row>"
                   for number in range(2, rows + 2))

    def filled(xml: bytes) -> bytes:
        return re.sub(rb"<sheetData\s*/>|<sheetData>.*</sheetData>",
                      f'<sheetData><row r="1">{header}</row>{body}</sheetData>'.encode(), xml, flags=re.S)
    response = upload(client, school, rewritten(saved(book), {part: filled}))
    assert response.status_code == 400
    assert "có nhiều dòng hoặc ô hơn mức cho phép nhập (tối đa 20.000 dòng)" in " ".join(
        response.get_data(as_text=True).split())


def test_control_characters_in_cells_are_refused_like_the_api_does(staff, read):
    client, school = staff
    for text in ("Tivi\x07", "Tivi\x00"):
        csv_file = f"Loại,Tên\nTivi,{text}\n".encode()
        response = upload(client, school, csv_file, "tb.csv")
        assert response.status_code == 400, repr(text)
        assert problems(response) == [["tb.csv", "2", "Tên", "Ô này chứa ký tự điều khiển không được phép: hãy gõ "
                                                          "lại nội dung của ô."]]
    assert count(read, Equipment) == 0


def test_a_csv_cell_longer_than_the_csv_reader_takes_gets_a_message(staff, read):
    client, school = staff
    response = upload(client, school, ("Loại,Tên\nTivi,\"" + "x" * 140_000 + "\"\n").encode(), "tb.csv")
    assert response.status_code == 400
    assert "Không đọc được tệp CSV: có ô quá dài" in response.get_data(as_text=True)


def test_a_template_downloaded_in_english_imports_for_a_vietnamese_user(staff, read):
    client, school = staff
    client.post("/language", {"locale": "en"})
    english = template(client, school)
    client.post("/language", {"locale": "vi"})
    english["Equipment"].append(["Television", "TV room 2", None, None, "In use", None, None, None, None])
    response = upload(client, school, saved(english))
    assert response.status_code == 200 and "Đã nhập 1 bản ghi." in response.get_data(as_text=True)


def test_look_alike_rooms_and_tags_in_a_file_are_one(staff, build, read):
    client, school = staff
    build.record("rooms", school, name="Phòng học 1A", kind="classroom")
    book = template(client, school)
    book["Phòng"].append(["phòng học 1a\u200b", "Phòng học", "Có", ""])
    book[EQUIPMENT_SHEET].append(["Tivi", "Tivi 1", "tv-0007", None, "Đang sử dụng", "PHÒNG HỌC 1A", None, None, None])
    book[EQUIPMENT_SHEET].append(["Tivi", "Tivi 2", "TV-0007", None, "Đang sử dụng", None, None, None, None])
    response = upload(client, school, saved(book))
    assert response.status_code == 400
    assert [row[:4] for row in problems(response)] == [
        ["Phòng", "3", "Phòng", "Trường đã có phòng tên này."],
        ["Thiết bị", "4", "Mã tài sản", "Mã tài sản TV-0007 bị nhập hai lần trong tệp này."]]


def test_the_import_is_an_api_too_with_the_same_checks(app, staff, build, read):
    client, school = staff
    token = build.token(build.user(Role.STAFF, school=school))
    http = app.test_client()
    url = f"/api/v1/schools/{school.id}/inventory/import"

    def post(data: bytes, filename: str):
        return http.post(url, headers=bearer(token), content_type="multipart/form-data",
                         data={"file": (io.BytesIO(data), filename)})

    book = template(client, school)
    book[EQUIPMENT_SHEET].append(["Tivi", "Tivi 1", "TV-0001", None, "Đang sử dụng", None, None, None, None])
    book[EQUIPMENT_SHEET].append(["Máy bay", "Lạ", None, None, "Đang sử dụng", "Phòng ma", None, None, None])
    refused = post(saved(book), "kiem-ke.xlsx")
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["message"] == "Chưa nhập gì: tệp có 2 lỗi."
    assert [(p["sheet"], p["row"], p["column"]) for p in error["problems"]] == [
        ("Thiết bị", 4, "Loại"), ("Thiết bị", 4, "Phòng")]
    assert count(read, Equipment) == 0

    book[EQUIPMENT_SHEET].delete_rows(4)
    made = post(saved(book), "kiem-ke.xlsx")
    assert made.status_code == 201 and made.get_json() == {"created": {"equipment": 1}, "total": 1}
    assert post(b"%PDF-1.7", "bao-cao.pdf").status_code == 415
    missing = http.post(url, headers=bearer(token), content_type="multipart/form-data", data={})
    assert missing.status_code == 400 and missing.get_json()["error"]["fields"] == {"file": "Hãy chọn một tệp."}
    assert count(read, Equipment) == 1


def test_numbers_in_cells_are_read_in_ascii_digits_only(staff, read):
    client, school = staff
    rows = "".join(f"VNPT {n},Cáp quang (FTTH),{speed},{cost}\n" for n, (speed, cost) in enumerate(
        (("１２", "300"), ("²", "300"), ("50", "١٢٣"), ("nan", "300"), ("2,5", "1.500.000"))))
    response = upload(client, school, f"Nhà cung cấp,Loại,Tải xuống (Mbps),Cước hằng tháng (đồng)\n{rows}"
                      .encode(), "duong-truyen.csv")
    assert response.status_code == 400
    assert [row[1:3] for row in problems(response)] == [
        ["2", "Tải xuống (Mbps)"], ["3", "Tải xuống (Mbps)"], ["4", "Cước hằng tháng (đồng)"],
        ["5", "Tải xuống (Mbps)"]]


def equipment_sheet_with(book, cells_xml: str) -> dict:
    """The change putting ``cells_xml`` (rows) after the header row of the Equipment sheet."""
    header = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Loại</t></is></c>'
              '<c r="B1" t="inlineStr"><is><t>Tên</t></is></c></row>')
    return {sheet_part(book, EQUIPMENT_SHEET): lambda xml: re.sub(
        rb"<sheetData\s*/>|<sheetData>.*</sheetData>", f"<sheetData>{header}{cells_xml}</sheetData>".encode(),
        xml, flags=re.S)}


UNREADABLE = "Không đọc được tệp như một bảng tính XLSX."
TOO_BIG = "khi giải nén chứa nhiều dữ liệu hơn mức cho phép nhập"


@pytest.mark.parametrize("case, message", [
    ("entities", UNREADABLE), ("prefixed cells", "có nhiều dòng hoặc ô hơn mức cho phép nhập"),
    ("renamed shared strings", TOO_BIG), ("huge styles", TOO_BIG),
    ("many sheets", "Tệp có nhiều trang tính hơn tệp mẫu (tối đa 12)"), ("one part, many sheets", UNREADABLE)])
def test_workbooks_built_to_tie_up_the_server_are_refused_before_parsing(staff, read, case, message):
    """Each of these once took a worker seconds to minutes and up to gigabytes (a
    security review's reproducers, made small)."""
    client, school = staff
    book = template(client, school)
    data = saved(book)
    if case == "entities":  # a DTD entity standing for a thousand cells, repeated
        cells = "<c/>" * 1000
        data = rewritten(data, {sheet_part(book, EQUIPMENT_SHEET): lambda xml: xml.replace(
            b"<worksheet", f'<!DOCTYPE worksheet [<!ENTITY k "{cells}">]><worksheet'.encode(), 1).replace(
            b"</sheetData>", b'<row r="2">' + b"&k;" * 200 + b"</row></sheetData>")})
    elif case == "prefixed cells":  # a namespace prefix the cell count once missed
        namespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        data = rewritten(data, equipment_sheet_with(
            book, f'<row r="2" xmlns:a-b="{namespace}">' + "<a-b:c/>" * 300_000 + "</row>"))
    elif case == "renamed shared strings":
        huge = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + \
            b"<si><t>x</t></si>" * 1_500_000 + b"</sst>"
        data = rewritten(data, {"xl/strings.bin": huge, "[Content_Types].xml": lambda xml: xml.replace(
            b"</Types>", b'<Override PartName="/xl/strings.bin" ContentType="application/vnd.openxmlformats-'
                         b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')})
    elif case == "huge styles":
        data = rewritten(data, {"xl/styles.xml": lambda xml: xml.replace(b"</cellXfs>", b"<xf/>" * 1_000_000 +
                                                                         b"</cellXfs>")})
    else:
        rels = zipfile.ZipFile(io.BytesIO(data)).read("xl/_rels/workbook.xml.rels")
        sheet_id = re.search(rb'Id="(rId\d+)"[^>]*worksheets/sheet3', rels) or re.search(
            rb'worksheets/sheet3[^>]*Id="(rId\d+)"', rels)
        sheets = 40 if case == "many sheets" else 3
        extra = b"".join(f'<sheet name="S{n}" sheetId="{100 + n}" r:id="'.encode() + sheet_id.group(1) + b'"/>'
                         for n in range(sheets))
        data = rewritten(data, {"xl/workbook.xml": lambda xml: xml.replace(b"</sheets>", extra + b"</sheets>")})
    response = upload(client, school, data)
    assert response.status_code == 400 and message in response.get_data(as_text=True), case
    assert count(read, Equipment) == 0


def test_a_csv_of_millions_of_lines_stops_at_the_row_limit(staff, read):
    client, school = staff
    response = upload(client, school, b"Loai,Ten\n" + b",,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n" * 300_000, "tb.csv")
    assert response.status_code == 400
    assert [row[1:] for row in problems(response)][-1][1:] == ["", "Mỗi trang tính nhiều nhất 20000 dòng."]


def test_reading_a_workbook_is_bounded_in_a_child_process(staff, read, monkeypatch):
    """What the quick checks miss (here a row of two million elements openpyxl turns
    into cells) stops at the sandbox's CPU limit, not in the worker."""
    from app.inventory import imports

    monkeypatch.setattr(imports, "XLSX_CPU_SECONDS", 1)
    client, school = staff
    book = template(client, school)
    data = rewritten(saved(book), equipment_sheet_with(book, '<row r="2">' + "<d/>" * 2_000_000 + "</row>"))
    response = upload(client, school, data)
    assert response.status_code == 400
    assert "Đọc tệp này sẽ tốn nhiều thời gian hoặc bộ nhớ hơn mức cho phép nhập" in response.get_data(as_text=True)
    assert count(read, Equipment) == 0


@pytest.mark.parametrize("cell", ['<c r="A2" t="b"><v>x</v></c>', '<c r="A2"><v>abc</v></c>',
                                  '<c r="A2" t="s"><v>99</v></c>', '<c r="A2!!"><v>1</v></c>'])
def test_broken_cells_get_a_message_not_a_crash(staff, read, cell):
    client, school = staff
    book = template(client, school)
    response = upload(client, school, rewritten(saved(book), equipment_sheet_with(book, f'<row r="2">{cell}</row>')))
    assert response.status_code == 400 and UNREADABLE in response.get_data(as_text=True)


def test_rows_are_counted_across_the_file(staff, read, monkeypatch):
    from app.inventory import imports

    monkeypatch.setattr(imports, "MAX_FILE_ROWS", 4)
    client, school = staff
    book = template(client, school)
    for number in range(3):
        book["Phòng"].append([f"Phòng {number}", "Phòng học", "Có", ""])
        book[EQUIPMENT_SHEET].append(["Tivi", f"Tivi {number}", None, None, "Đang sử dụng", None, None, None, None])
    response = upload(client, school, saved(book))
    assert response.status_code == 400
    assert problems(response)[-1][3] == "Mỗi tệp nhiều nhất 4 dòng: hãy chia nhỏ tệp."
