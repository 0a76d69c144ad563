"""The journeys of product.md in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

import io
import itertools
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from app.accounts import services as accounts
from app.accounts.models import Role
from app.demo import DEMO_PASSWORD
from app.schools import services as schools
from tests.builders import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.real_commits]
_numbers = itertools.count(1)


def new_school_with_staff(live_portal) -> str:
    """A school with an empty inventory on the live portal, and the email of its staff member."""
    number = next(_numbers)
    with live_portal.app.test_request_context():
        school = schools.create_school(None, {
            "code": f"JOURNEY{number}", "name": f"Trường Tiểu học Hành Trình {number}", "level": "tieu_hoc",
            "province": "Đắk Nông", "district": "Đắk Song", "students": 200, "teachers": 10, "classes": 6,
            "largest_class_size": 35})
        email = f"nhanvien{number}@hanhtrinh.edu.vn"
        accounts.create_user(None, email=email, full_name="Đỗ Thị Thu", password=PASSWORD, role=Role.STAFF,
                             school=school)
    return email


def test_journey_1_staff_adds_a_connected_classroom_and_a_projector_and_sees_the_score_change(page, live_portal):
    page.goto("/login")
    page.get_by_label("Email").fill(new_school_with_staff(live_portal))
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_test_id("nav").get_by_role("link", name="Kiểm kê").click()
    panel = page.get_by_test_id("score-panel")
    expect(panel.get_by_test_id("criterion-1.7-points")).to_have_text("0")
    expect(panel.get_by_test_id("group-1-points")).to_contain_text("0/100")

    page.get_by_role("link", name="Thêm phòng").click()
    page.get_by_label("Tên phòng").fill("Phòng học 1A")
    page.get_by_label("Loại phòng").select_option(label="Phòng học")
    page.get_by_label("Có kết nối Internet (cáp hoặc Wi-Fi)").check()
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("cell", name="Phòng học 1A")).to_be_visible()
    expect(panel.get_by_test_id("criterion-1.7-points")).to_have_text("0")  # connected, but nothing to project

    page.get_by_role("link", name="Thiết bị", exact=True).click()
    page.get_by_role("link", name="Thêm thiết bị").click()
    page.get_by_label("Loại thiết bị").select_option(label="Máy chiếu")
    page.get_by_label("Tên", exact=True).fill("Máy chiếu Epson EB-X06")
    page.get_by_label("Phòng", exact=True).select_option(label="Phòng học 1A")
    page.get_by_role("button", name="Lưu").click()

    expect(page.get_by_role("cell", name="Máy chiếu Epson EB-X06", exact=True)).to_be_visible()
    # 1 of 1 classrooms has Internet and a working projector (100%) → 8 points for 1.7.a.
    expect(panel.get_by_test_id("criterion-1.7-points")).to_have_text("8")
    expect(panel.get_by_test_id("group-1-points")).to_contain_text("8/100")
    panel.get_by_role("link", name="Bảng điểm đầy đủ").click()
    expect(page.get_by_test_id("item-1.7.a")).to_contain_text("1/1")


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def listed_total(page) -> int:
    """The count under an inventory list ("Tổng cộng 44")."""
    text = page.get_by_text(re.compile(r"^Tổng cộng \d+$")).inner_text()
    return int(text.rsplit(" ", 1)[1])


def filled(template: bytes, bad_rows: bool) -> dict:
    """The downloaded template with a new room and 300 equipment rows in the demo school's
    rooms and that one; with ``bad_rows``, also rows that must each be refused."""
    book = load_workbook(io.BytesIO(template))
    book["Phòng"].append(["Phòng Tin học 2", "Phòng máy tính (Tin học)", "Có", None])
    equipment = book["Thiết bị"]
    for number in range(1, 301):
        kind, room = (("Máy tính để bàn", "Phòng Tin học 2") if number <= 200 else
                      ("Máy tính xách tay", "Phòng Tin học") if number <= 280 else ("Tivi", "Phòng học 5C"))
        equipment.append([kind, f"Thiết bị nhập {number:03d}", None, f"NK{number:05d}", "Đang sử dụng", room,
                          "15/02/2023", "Ngân sách", None])
    if bad_rows:
        equipment.append(["Máy bay", "Máy lạ", None, None, "Đang sử dụng", None, None, None, None])        # row 303
        equipment.append(["Tivi", "Tivi trùng mã", "PC-0001", None, "Mất", "Phòng ma", None, None, None])  # row 304
        equipment.append(["Máy chiếu", "Máy chiếu hẹn", None, None, None, None, "31/02/2023", None, None])  # row 305
        book["Đường truyền Internet"].append(["VNPT", "Cáp quang (FTTH)", "nhanh", 50, "300 nghìn", None, None, None,
                                              None, None])                                           # row 3
    buffer = io.BytesIO()
    book.save(buffer)
    return {"name": "kiem-ke-loi.xlsx" if bad_rows else "kiem-ke.xlsx", "mimeType": XLSX_TYPE,
            "buffer": buffer.getvalue()}


def test_journey_2_staff_imports_300_equipment_rows_and_a_file_with_bad_rows_imports_nothing(page):
    page.goto("/login")
    page.get_by_label("Email").fill("giaovien@thcva.edu.vn")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_test_id("nav").get_by_role("link", name="Kiểm kê").click()
    page.get_by_role("link", name="Thiết bị", exact=True).click()
    before = listed_total(page)

    page.get_by_role("link", name="Nhập từ Excel").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải tệp mẫu").click()
    template = download.value.path().read_bytes()
    assert download.value.suggested_filename.endswith(".xlsx")

    page.get_by_label("Tệp mẫu đã điền (.xlsx) hoặc tệp CSV").set_input_files(filled(template, bad_rows=True))
    page.get_by_role("button", name="Kiểm tra và nhập").click()
    problems = page.get_by_test_id("import-problems")
    expect(problems).to_contain_text("Chưa nhập gì: tệp có 7 lỗi.")
    expect(problems.locator("tbody tr")).to_have_text([
        re.compile(text) for text in (
            r"Thiết bị\s*303\s*Loại\s*Không có trong danh sách: Máy tính để bàn, ",
            r"Thiết bị\s*304\s*Trạng thái\s*Không có trong danh sách: ",
            r"Thiết bị\s*304\s*Phòng\s*Trường và tệp này không có phòng nào tên 'Phòng ma'\.",
            r"Thiết bị\s*304\s*Mã tài sản\s*Mã tài sản PC-0001 đã được dùng trong trường\.",
            r"Thiết bị\s*305\s*Ngày đưa vào sử dụng\s*\S",
            r"Đường truyền Internet\s*3\s*Tải xuống \(Mbps\)\s*Không phải số hợp lệ\.",
            r"Đường truyền Internet\s*3\s*Cước hằng tháng \(đồng\)\s*Phải là số nguyên\.",
        )])
    page.get_by_test_id("nav").get_by_role("link", name="Kiểm kê").click()
    page.get_by_role("link", name="Thiết bị", exact=True).click()
    assert listed_total(page) == before  # not one of the 300 good rows went in
    page.get_by_label("Tìm kiếm").fill("thiet bi nhap")
    page.get_by_role("button", name="Lọc").click()
    expect(page.get_by_text("Không có kết quả phù hợp.")).to_be_visible()

    page.get_by_role("link", name="Nhập từ Excel").click()
    page.get_by_label("Tệp mẫu đã điền (.xlsx) hoặc tệp CSV").set_input_files(filled(template, bad_rows=False))
    page.get_by_role("button", name="Kiểm tra và nhập").click()
    summary = page.get_by_test_id("import-summary")
    expect(summary.get_by_role("listitem")).to_have_text(["Phòng: 1", "Thiết bị: 300"])
    expect(page.get_by_text("Đã nhập 301 bản ghi.")).to_be_visible()

    summary.get_by_role("link", name="Thiết bị").click()
    assert listed_total(page) == before + 300
    page.get_by_label("Tìm kiếm").fill("thiet bi nhap 250")
    page.get_by_role("button", name="Lọc").click()
    row = page.get_by_role("row").filter(has_text="Thiết bị nhập 250")
    expect(row).to_contain_text("Máy tính xách tay")
    expect(row).to_contain_text("Phòng Tin học")


def _scanned_decision_pdf() -> bytes:
    """A scanned decision: one page that is only an image of its text (no text layer)."""
    from tests import files

    out = io.BytesIO()
    files.scan(["TRƯỜNG TIỂU HỌC HÀNH TRÌNH", "Số: 07/QĐ-THHT", "Đắk Song, ngày 05 tháng 9 năm 2022", "QUYẾT ĐỊNH",
                "Về việc thành lập Ban chỉ đạo chuyển đổi số"]).save(out, "PDF", resolution=300)
    return out.getvalue()


def _drop(page, files: list[tuple[str, str, bytes]]) -> None:
    """Drop ``files`` (name, type, bytes) on the upload area, as a person dragging them would."""
    import base64

    payload = [{"name": name, "type": kind, "data": base64.b64encode(data).decode()} for name, kind, data in files]
    page.evaluate("""(files) => {
        const transfer = new DataTransfer();
        for (const file of files) {
            const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], file.name, {type: file.type}));
        }
        const area = document.querySelector("[data-drop-area]");
        for (const type of ["dragenter", "dragover", "drop"]) {
            area.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }
    }""", payload)


def test_journey_3_staff_drops_three_files_fills_their_details_links_them_and_finds_them_again(page, live_portal):
    from tests import files

    page.goto("/login")
    page.get_by_label("Email").fill(new_school_with_staff(live_portal))
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_test_id("nav").get_by_role("link", name="Minh chứng").click()
    page.get_by_role("link", name="Tải lên minh chứng").click()
    expect(page.locator("[data-js-only]").first).to_be_visible()  # the page's script is ready for drops

    _drop(page, [("Quyết định thành lập BCĐ (scan).pdf", "application/pdf", _scanned_decision_pdf()),
                 ("Kế hoạch ứng dụng CNTT 2022-2023.docx",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  files.docx("Kế hoạch ứng dụng công nghệ thông tin, chuyển đổi số năm học 2022-2023")),
                 ("Ảnh phần mềm quản lý.png", "image/png", files.png(320, 200))])
    cards = page.locator(".evidence-card")
    expect(cards).to_have_count(3)
    for index in range(3):  # each file has its own progress bar, run to the end
        expect(cards.nth(index).locator("[data-card-form]")).to_be_visible(timeout=20_000)
        assert cards.nth(index).locator("progress").evaluate("bar => bar.max > 0 && bar.value === bar.max")

    decision, plan, screenshot = (cards.nth(index) for index in range(3))
    # The scan is read by OCR: its number and date are offered from the first page.
    expect(decision.get_by_label("Số hiệu")).to_have_value("07/QĐ-THHT", timeout=60_000)
    expect(decision.get_by_label(re.compile("Ngày ban hành"))).to_have_value("05/09/2022")
    decision.get_by_label("Tên minh chứng").fill("Quyết định thành lập Ban chỉ đạo chuyển đổi số")
    decision.get_by_label("Cơ quan ban hành").fill("Trường Tiểu học Hành Trình")
    decision.get_by_label(re.compile(r"^2\.1 ")).check()
    decision.get_by_role("button", name="Lưu").click()
    expect(decision.locator("[data-saved]")).not_to_be_empty()

    plan.get_by_label("Số hiệu").fill("18/KH-THHT")
    plan.get_by_label(re.compile("Ngày ban hành")).fill("16/02/2023")
    plan.get_by_label("Cơ quan ban hành").fill("Trường Tiểu học Hành Trình")
    plan.get_by_label(re.compile(r"^2\.2 ")).check()
    plan.get_by_role("button", name="Lưu").click()
    expect(plan.locator("[data-saved]")).not_to_be_empty()

    screenshot.get_by_label(re.compile(r"^2\.2 ")).check()
    screenshot.get_by_role("button", name="Lưu").click()
    expect(screenshot.locator("[data-saved]")).not_to_be_empty()

    page.get_by_test_id("nav").get_by_role("link", name="Minh chứng").click()
    page.get_by_label("Tìm kiếm").fill("quyet dinh")
    page.get_by_role("button", name="Lọc").click()
    listed = page.get_by_test_id("list")
    expect(listed.get_by_role("link", name="Quyết định thành lập Ban chỉ đạo chuyển đổi số")).to_be_visible()
    expect(listed.get_by_text("H2-2.1-01")).to_be_visible()
    expect(listed.get_by_role("link", name=re.compile("Kế hoạch"))).to_have_count(0)
