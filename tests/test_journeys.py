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


def test_journey_1_staff_adds_a_connected_classroom_and_a_projector_and_sees_the_score_change(
        page, live_portal, snap):
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
    snap(page, 1, "equipment-saved")
    panel.get_by_role("link", name="Bảng điểm đầy đủ").click()
    expect(page.get_by_test_id("item-1.7.a")).to_contain_text("1/1")
    snap(page, 1, "scorecard")


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


def test_journey_2_staff_imports_300_equipment_rows_and_a_file_with_bad_rows_imports_nothing(page, snap):
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
    snap(page, 2, "refused")
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
    snap(page, 2, "imported")
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


def test_journey_3_staff_drops_three_files_fills_their_details_links_them_and_finds_them_again(
        page, live_portal, snap):
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
    snap(page, 3, "uploaded")

    page.get_by_test_id("nav").get_by_role("link", name="Minh chứng").click()
    page.get_by_label("Tìm kiếm").fill("quyet dinh")
    page.get_by_role("button", name="Lọc").click()
    listed = page.get_by_test_id("list")
    expect(listed.get_by_role("link", name="Quyết định thành lập Ban chỉ đạo chuyển đổi số")).to_be_visible()
    expect(listed.get_by_text("H2-2.1-01")).to_be_visible()
    expect(listed.get_by_role("link", name=re.compile("Kế hoạch"))).to_have_count(0)
    snap(page, 3, "found")


# --- journeys 4–6: review, approval and what changes after it, on the demo school ----------
# They share the live portal with each other (and journey 2 adds equipment to the demo
# school), so each first brings the demo year to the state it starts from.

STAFF, REVIEWER, PRINCIPAL = "giaovien@thcva.edu.vn", "kiemtra@thcva.edu.vn", "hieutruong@thcva.edu.vn"
SCREENSHOT_TITLE = "Ảnh chụp màn hình tiết học trực tuyến lớp 5A qua Google Meet"  # the demo's H1-1.3-01
REGULATION_TITLE = "Quy chế tổ chức dạy học trực tuyến"  # the demo's evidence of mandatory 1.2
ZALO_TITLE = "Ảnh chụp nhóm Zalo liên lạc với phụ huynh lớp 3B"  # the demo's H2-2.4-01


def sign_in(tab, email: str) -> None:
    tab.goto("/login")
    tab.get_by_label("Email").fill(email)
    tab.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    tab.get_by_role("button", name="Đăng nhập").click()
    expect(tab).not_to_have_url(re.compile(r"/login"))


def unread(tab) -> int:
    """The unread count in the header (0 when it shows none)."""
    count = tab.get_by_test_id("unread-count")
    return int(count.inner_text()) if count.count() else 0


def demo_year(live_portal, state: str) -> tuple[int, str]:
    """The demo school's id and current year, brought to ``state``: "open" (reopened if a
    journey approved it) or "approved" (its waiting evidence accepted and the year
    approved, if no journey did). A year the district evaluated (journey 7) first has the
    evaluation withdrawn."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.assessments import services as assessments
    from app.evidence import services as evidence
    from app.evidence.models import EvidenceDocument
    from app.extensions import db
    from app.schools.models import School

    with live_portal.app.test_request_context():
        school = db.session.scalar(select(School).where(School.code == "THCVA"))
        year = school.school_year
        person = {email: db.session.scalar(select(User).where(User.email == email)) for email in (REVIEWER, PRINCIPAL)}
        assessment = assessments.assessment_of(school, year)
        if assessment.evaluation is not None:
            withdraw_evaluation(assessment)
        status = assessment.status
        if state == "open" and status.sealed:
            assessments.transition(person[PRINCIPAL], school, year, "reopen", reason="Thẩm định lại minh chứng")
        elif state == "approved" and not status.sealed:
            for blocker in assessments.blockers(school.id, year):
                evidence.review_link(person[REVIEWER], db.session.get(EvidenceDocument, blocker["evidence_id"]),
                                     blocker["criterion"], {"decision": "accepted"})
            if status.value == "draft":
                assessments.transition(person[PRINCIPAL], school, year, "start_review")
            assessments.transition(person[PRINCIPAL], school, year, "approve")
        return school.id, year


def withdraw_evaluation(assessment) -> None:
    """The district's evaluation of ``assessment`` removed and the year approved again. The
    portal has no such step (a judged year stays judged, and only an approved one reopens),
    so the journeys sharing the demo year take it back by hand."""
    from sqlalchemy import delete

    from app.assessments.models import AssessmentStatus, Evaluation
    from app.extensions import db

    db.session.execute(delete(Evaluation).where(Evaluation.assessment_id == assessment.id))
    assessment.status = AssessmentStatus.APPROVED
    db.session.commit()


def staff_changes_evidence(live_portal, change: str) -> None:
    """The demo's staff member, through the evidence services: "unlink 1.2" removes the
    link of the regulation to mandatory criterion 1.2, "link 1.2" restores it (its earlier
    review comes back with it), "replace zalo" uploads a new version of the Zalo screenshot
    (its link awaits review again)."""
    from sqlalchemy import select
    from werkzeug.datastructures import FileStorage

    from app.accounts.models import User
    from app.evidence import services as evidence
    from app.evidence.models import EvidenceDocument
    from app.extensions import db
    from tests import files

    with live_portal.app.test_request_context():
        staff = db.session.scalar(select(User).where(User.email == STAFF))
        document = db.session.scalar(select(EvidenceDocument).where(
            EvidenceDocument.title == (ZALO_TITLE if change == "replace zalo" else REGULATION_TITLE)))
        if change == "replace zalo":
            evidence.add_file(staff, document, FileStorage(io.BytesIO(files.png(480 + next(_numbers), 300, "teal")),
                                                           filename="anh-nhom-zalo-phu-huynh.png"))
        else:
            (evidence.link_criterion if change == "link 1.2" else evidence.unlink_criterion)(staff, document, "1.2")


def test_journey_4_reviewer_rejects_a_screenshot_the_uploader_sends_a_new_version_and_it_is_accepted(
        open_page, live_portal, snap):
    from tests import files

    school_id, year = demo_year(live_portal, "open")
    staff = open_page(1366, 768)
    sign_in(staff, STAFF)
    unread_before = unread(staff)

    reviewer = open_page(1366, 768)
    sign_in(reviewer, REVIEWER)
    reviewer.get_by_test_id("nav").get_by_role("link", name="Hồ sơ tự đánh giá").click()
    reviewer.get_by_test_id("progress-1.3").get_by_role("link", name="Mở").click()
    expect(reviewer).to_have_url(re.compile(rf"/schools/{school_id}/assessments/{year}/criteria/1\.3$"))
    card = reviewer.get_by_test_id("review-H1-1.3-01")
    expect(card).to_contain_text(SCREENSHOT_TITLE)
    preview = card.locator("img.evidence-preview")
    preview.scroll_into_view_if_needed()
    expect(preview).to_have_js_property("complete", True)
    assert preview.evaluate("image => image.naturalWidth") > 0  # the screenshot itself, shown inline
    comment = "Ảnh mờ, không thấy tên lớp và ngày học: chụp lại cả màn hình"
    card.get_by_label("Nhận xét").fill(comment)
    card.get_by_role("button", name="Trả lại").click()
    card = reviewer.get_by_test_id("review-H1-1.3-01")
    expect(card).to_contain_text("Bị trả lại")
    expect(card).to_contain_text(comment)
    snap(reviewer, 4, "rejected")

    # The uploader, in their own browser, is told in the header and in the list.
    staff.reload()
    assert unread(staff) == unread_before + 1
    staff.get_by_test_id("notifications-link").click()
    notice = staff.get_by_test_id("notifications").get_by_role("listitem").first
    expect(notice).to_contain_text(f"Lê Thị Lan đã trả lại minh chứng H1-1.3-01 “{SCREENSHOT_TITLE}”: {comment}")
    expect(notice).to_contain_text("Mới")
    snap(staff, 4, "notifications")
    notice.get_by_role("button", name="Mở").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text(SCREENSHOT_TITLE)
    link = staff.get_by_test_id("link-1.3.a")
    expect(link).to_contain_text("Bị trả lại")
    expect(link).to_contain_text(comment)
    assert unread(staff) == unread_before  # opened, so read

    retaken = "anh-google-meet-lop-5A-chup-lai.png"
    staff.get_by_label("Phiên bản mới").set_input_files({
        "name": retaken, "mimeType": "image/png",
        "buffer": files.png(1280 + next(_numbers), 720, "white")})  # a size no earlier version has
    staff.get_by_role("button", name="Tải lên phiên bản mới").click()
    expect(staff.get_by_test_id("link-1.3.a")).to_contain_text("Chờ thẩm định")
    expect(staff.get_by_test_id("files").locator("tbody tr").first).to_contain_text(retaken)

    reviewer.reload()
    card = reviewer.get_by_test_id("review-H1-1.3-01")
    expect(card).to_contain_text("Chờ thẩm định")
    expect(card).to_contain_text(retaken)
    card.get_by_role("button", name="Chấp nhận").click()
    expect(reviewer.get_by_test_id("review-H1-1.3-01")).to_contain_text("Đã chấp nhận")
    snap(reviewer, 4, "accepted")


def _download(tab, link, folder) -> bytes:
    """Click ``link``, wait for the download, keep it in ``folder``; its bytes."""
    with tab.expect_download() as started:
        link.click()
    download = started.value
    target = folder / download.suggested_filename
    download.save_as(target)
    return target.read_bytes()


def _pdf_text(data: bytes, folder, name: str) -> str:
    import subprocess

    path = folder / name
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _cells(data: bytes) -> str:
    """Every cell of every sheet of an XLSX, as one text."""
    book = load_workbook(io.BytesIO(data))
    return "\n".join(str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for value in row if value is not None)


def test_journey_5_principal_sees_what_blocks_approval_approves_and_downloads_the_reports_and_package(
        open_page, live_portal, tmp_path, snap):
    import hashlib
    import json
    import zipfile

    school_id, year = demo_year(live_portal, "open")
    staff_changes_evidence(live_portal, "replace zalo")  # a better screenshot, not yet reviewed
    staff_changes_evidence(live_portal, "unlink 1.2")  # a link removed by mistake: mandatory 1.2 is unmet
    try:
        principal = open_page(1366, 768)
        sign_in(principal, PRINCIPAL)
        principal.get_by_test_id("nav").get_by_role("link", name="Hồ sơ tự đánh giá").click()
        blockers = principal.get_by_test_id("blockers")
        expect(blockers).to_contain_text("Điều còn vướng trước khi phê duyệt")
        expect(blockers).to_contain_text("Chờ thẩm định: H2-2.4-01")
        expect(principal.get_by_test_id("warnings")).to_contain_text(
            "Nhóm 1 sẽ không được công nhận: chưa đạt điều kiện bắt buộc 1.2.")
        if principal.get_by_test_id("action-start_review").count():  # a draft: the review starts first
            principal.get_by_test_id("action-start_review").click()
            expect(principal.get_by_test_id("assessment-status")).to_have_text("Đang thẩm định")
        expect(principal.get_by_test_id("action-approve")).to_be_disabled()
        expect(principal.get_by_test_id("reports")).to_be_visible()
        expect(principal.get_by_role("heading", name="Báo cáo")).to_contain_text("BẢN NHÁP")
        snap(principal, 5, "blocked")
    finally:
        staff_changes_evidence(live_portal, "link 1.2")

    # The reviewer works through what waits for them, from their overview.
    reviewer = open_page(1366, 768)
    sign_in(reviewer, REVIEWER)
    reviewer.get_by_role("link", name=re.compile("Chờ tôi thẩm định")).click()
    expect(reviewer.get_by_role("heading", name="Chờ tôi thẩm định")).to_be_visible()
    queue_url, first = reviewer.url, reviewer.get_by_test_id("queue").get_by_role("link", name="Thẩm định").first
    for _ in range(10):
        if not first.count():
            break
        code = first.text_content().split()[-1]  # "Thẩm định H2-2.3-01"
        first.click()
        card = reviewer.get_by_test_id(f"review-{code}")
        card.get_by_role("button", name="Chấp nhận").click()
        expect(reviewer.get_by_test_id(f"review-{code}")).to_contain_text("Đã chấp nhận")
        reviewer.goto(queue_url)
    expect(reviewer.get_by_text("Không có gì đang chờ bạn.")).to_be_visible()

    principal.reload()
    expect(principal.get_by_test_id("blockers")).not_to_contain_text("Chờ thẩm định")
    expect(principal.get_by_test_id("warnings")).not_to_contain_text("điều kiện bắt buộc")
    principal.once("dialog", lambda dialog: dialog.accept())
    principal.get_by_test_id("action-approve").click()
    seal = principal.get_by_test_id("seal")
    expect(seal).to_contain_text("Đã phê duyệt và niêm phong")
    expect(seal).to_contain_text("Nguyễn Thị Hoa")
    expect(principal.get_by_test_id("assessment-status")).to_have_text("Đã phê duyệt")
    snap(principal, 5, "approved")

    reports = principal.get_by_test_id("reports")
    made = {}
    for name, label in (("tu-danh-gia", "Báo cáo tự đánh giá"), ("danh-muc-minh-chung", "Danh mục minh chứng")):
        for kind in ("XLSX", "PDF"):
            made[name, kind] = _download(principal, reports.get_by_role("link", name=f"{label} ({kind})"), tmp_path)
    texts = {name: _pdf_text(made[name, "PDF"], tmp_path, f"{name}.pdf") for name in ("tu-danh-gia",
                                                                                     "danh-muc-minh-chung")}
    for name, text in texts.items():  # sealed: no page says draft, in the PDF or the workbook
        assert "BẢN NHÁP" not in text and "TRƯỜNG TIỂU HỌC CHU VĂN AN" in text
        assert "BẢN NHÁP" not in _cells(made[name, "XLSX"])
    assert "Độc lập - Tự do - Hạnh phúc" in texts["tu-danh-gia"] and "H1-1.3-01" in texts["tu-danh-gia"]
    catalogue = _cells(made["danh-muc-minh-chung", "XLSX"])
    for code, title in (("H1-1.3-01", SCREENSHOT_TITLE), ("H1-1.2-01", REGULATION_TITLE)):
        assert code in catalogue and title in catalogue

    package = zipfile.ZipFile(io.BytesIO(_download(principal, principal.get_by_test_id("package-link"), tmp_path)))
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["sealed"] is True and manifest["year"] == year
    listed = manifest["files"] + manifest["reports"]
    assert {entry["path"] for entry in listed} | {"manifest.json", "snapshot.json"} == set(package.namelist())
    for entry in listed:
        assert hashlib.sha256(package.read(entry["path"])).hexdigest() == entry["sha256"], entry["path"]
    assert hashlib.sha256(package.read("snapshot.json")).hexdigest() == manifest["snapshot_sha256"]
    assert any("H1-1.3-01" in entry["codes"] for entry in manifest["files"])


def _api(tab, email: str, path: str) -> dict:
    """``GET /api/v1{path}`` with a new token of ``email``."""
    token = tab.request.post("/api/v1/auth/token", data={"email": email, "password": DEMO_PASSWORD,
                                                         "name": "journeys"}).json()["token"]
    answer = tab.request.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    assert answer.ok, answer.text()
    return answer.json()


def _score(tab, email: str, school_id: int, year: str) -> dict:
    """The year's score from the API (``GET /score?year=``), with a token of ``email``."""
    return _api(tab, email, f"/schools/{school_id}/score?year={year}")


def _item(score: dict, code: str) -> dict:
    return next(item for criterion in score["criteria"] for item in criterion.get("items") or ()
                if item["code"] == code)


def test_journey_6_equipment_edited_after_approval_leaves_the_sealed_result_and_is_listed_as_a_change(
        open_page, live_portal, snap):
    school_id, year = demo_year(live_portal, "approved")
    staff = open_page(1366, 768)
    sign_in(staff, STAFF)
    sealed = _score(staff, STAFF, school_id, year)
    assert sealed["sealed"]["approved_by"] == "Nguyễn Thị Hoa"
    equipped = int(re.match(r"(\d+)/15 phòng học", _item(sealed, "1.7.a")["basis"]).group(1))

    # The TV of classroom 1A, one of the connected classrooms with a working display, breaks.
    staff.get_by_test_id("nav").get_by_role("link", name="Kiểm kê").click()
    staff.get_by_role("link", name="Thiết bị", exact=True).click()
    staff.get_by_label("Phòng", exact=True).select_option(label="Phòng học 1A")
    staff.get_by_role("button", name="Lọc").click()
    staff.get_by_test_id("list").get_by_role("row").filter(has_text="Tivi Samsung 55 inch").get_by_role(
        "link", name="Sửa").click()
    staff.get_by_label("Trạng thái").select_option(label="Hỏng")
    staff.get_by_role("button", name="Lưu").click()
    expect(staff.get_by_role("alert").first).to_contain_text("Đã lưu.")

    # The live score counts one classroom fewer; the approved result stays as sealed.
    staff.get_by_test_id("nav").get_by_role("link", name="Điểm số").click()
    expect(staff.get_by_test_id("item-1.7.a")).to_contain_text(f"{equipped - 1}/15")
    assert _score(staff, STAFF, school_id, year) == sealed

    staff.get_by_test_id("nav").get_by_role("link", name="Hồ sơ tự đánh giá").click()
    expect(staff.get_by_test_id("seal")).to_contain_text("Đã phê duyệt và niêm phong")
    expect(staff.get_by_test_id("summary-group-1")).to_contain_text(f"{sealed['groups'][0]['points']}/100")
    changed = staff.get_by_test_id("changed-since-approval")
    expect(changed).to_contain_text("Thay đổi sau khi phê duyệt")
    edit = re.compile(r"Trần Văn Minh.*Sửa thiết bị.*(in_use → broken|Đang sử dụng → Hỏng)", re.S)
    expect(changed.get_by_test_id("changes-after-approval").locator("li").last).to_contain_text(edit)
    snap(staff, 6, "assessment-changes")

    staff.get_by_test_id("nav").get_by_role("link", name="Tổng quan").click()  # the dashboard says so too
    on_dashboard = staff.get_by_test_id("dashboard-changed-since-approval")
    expect(on_dashboard).to_contain_text("Thay đổi sau khi phê duyệt")
    expect(on_dashboard.get_by_test_id("dashboard-changes").locator("li").last).to_contain_text(edit)
    snap(staff, 6, "dashboard")


# --- journey 7: the district office judges the demo school's approved year ----------------

OFFICER = "phonggd@daksong.edu.vn"
NEIGHBOURS = ("Trường Tiểu học Kim Đồng", "Trường THCS Nguyễn Du", "Trường THCS Lê Quý Đôn",
              "Trường TH và THCS Trần Phú", "Trường Tiểu học Lê Lợi")


def _shown_points(text: str) -> float:
    """The points a cell shows in Vietnamese ("72", "72,5 · Mức 2")."""
    return float(re.match(r"[\d.,]+", text.strip()).group(0).replace(".", "").replace(",", "."))


def _vi(points: float) -> str:
    """``points`` as the pages write them (2,5; 8)."""
    return f"{points:g}".replace(".", ",")


def _approved_day(score: dict) -> str:
    """The day (in Viet Nam, dd/mm/yyyy) of the approval of a sealed ``score``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(score["sealed"]["approved_at"].replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")


def _sheet_row(data: bytes, school_name: str) -> dict:
    """The row of ``school_name`` in the district's XLSX, keyed by the second header row's
    titles under their group ("Nhóm 1" → "Điểm" becomes "Nhóm 1 Điểm")."""
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    top = next(number for number, row in enumerate(rows) if row[0] == "STT")
    keys, group = [], None
    for title, below in zip(rows[top], rows[top + 1], strict=True):
        group = title or group
        keys.append(f"{group} {below}".strip() if below else title)
    found = next(row for row in rows[top + 2:] if str(row[1] or "").startswith(school_name))
    return dict(zip(keys, found, strict=True))


def test_journey_7_district_officer_compares_the_schools_evaluates_one_recognises_its_level_and_exports_the_table(
        open_page, live_portal, tmp_path, snap):
    school_id, year = demo_year(live_portal, "approved")
    officer = open_page(1366, 768)
    sign_in(officer, OFFICER)
    expect(officer).to_have_url(re.compile(r"/districts/\d+$"))  # their home is their district
    district_id = int(officer.url.rsplit("/", 1)[1])
    sealed = _score(officer, OFFICER, school_id, year)
    claimed, group_claimed = _item(sealed, "1.7.a")["points"], sealed["groups"][0]["points"]
    assert claimed >= 2, sealed  # something to take off

    heat_map = officer.get_by_test_id("heat-map")
    row = heat_map.get_by_test_id("school-row-THCVA")
    expect(row.get_by_role("link", name="Trường Tiểu học Chu Văn An")).to_be_visible()
    expect(row.get_by_test_id("assessment-status")).to_have_text("Đã phê duyệt")
    expect(row).to_contain_text(_approved_day(sealed))
    assert _shown_points(row.get_by_test_id("group-1").inner_text()) == group_claimed
    for name in NEIGHBOURS:
        expect(heat_map.get_by_role("link", name=name, exact=True)).to_be_visible()

    officer.get_by_label("Cấp học").select_option(label="Trung học cơ sở")
    officer.get_by_role("button", name="Lọc").click()
    expect(heat_map.locator("tbody th a")).to_have_text(["Trường THCS Lê Quý Đôn", "Trường THCS Nguyễn Du"])
    officer.get_by_label("Cấp học").select_option(label="Tất cả")
    officer.get_by_role("button", name="Lọc").click()

    # The officer opens the school's year and takes two points off 1.7.a, saying why.
    heat_map.get_by_test_id("school-row-THCVA").get_by_role("link", name="Trường Tiểu học Chu Văn An").click()
    expect(officer).to_have_url(re.compile(rf"/schools/{school_id}/assessments/{year}$"))
    item = officer.get_by_test_id("evaluation-form").get_by_test_id("evaluate-1.7.a")
    points = item.get_by_label("Điểm của 1.7.a")
    assert float(points.input_value()) == claimed  # the school's claim, to lower
    lowered, reason = claimed - 2, "Kiểm tra thực tế: tivi phòng 2A và 3C không kết nối được mạng"
    points.fill(f"{lowered:g}")
    item.get_by_label("Lý do của 1.7.a").fill(reason)
    officer.get_by_role("button", name="Lưu kết quả đánh giá").click()
    expect(officer.get_by_role("alert").first).to_contain_text("Đã lưu kết quả đánh giá ngoài.")
    expect(officer.get_by_test_id("assessment-status")).to_have_text("Phòng GD&ĐT đã đánh giá")
    evaluation = officer.get_by_test_id("evaluation")
    expect(evaluation.get_by_test_id("evaluated-items")).to_contain_text(re.compile(
        rf"1\.7\.a: {_vi(lowered)} điểm — {re.escape(reason)}"))
    expect(evaluation.get_by_test_id("evaluated-group-1")).to_contain_text(
        f"trường tự đánh giá {_vi(group_claimed)} → đánh giá ngoài {_vi(group_claimed - 2)}/100")
    snap(officer, 7, "evaluated")

    officer.once("dialog", lambda dialog: dialog.accept())
    officer.get_by_test_id("action-recognise").click()
    expect(officer.get_by_role("alert").first).to_contain_text("Đã công nhận.")
    expect(officer.get_by_test_id("assessment-status")).to_have_text("Đã công nhận mức độ")
    expect(officer.get_by_test_id("evaluation")).to_contain_text("Đã công nhận mức độ lúc")
    expect(officer.get_by_test_id("evaluation-form")).to_have_count(0)  # recognised: judged for good
    snap(officer, 7, "recognised")

    # Back on the district's page the school stands with the evaluated figures, as the API says.
    officer.get_by_test_id("nav").get_by_role("link", name="Tổng quan").click()
    row = officer.get_by_test_id("heat-map").get_by_test_id("school-row-THCVA")
    expect(row.get_by_test_id("assessment-status")).to_have_text("Đã công nhận mức độ")
    shown = _shown_points(row.get_by_test_id("group-1").inner_text())
    assert shown == group_claimed - 2
    criterion_claimed = next(criterion for criterion in sealed["criteria"] if criterion["code"] == "1.7")["points"]
    assert _shown_points(row.get_by_test_id("criterion-1.7").inner_text()) == criterion_claimed - 2
    assert shown == _api(officer, OFFICER, f"/schools/{school_id}/assessments/{year}")["evaluation"]["groups"][0][
        "points"]
    listed = _api(officer, OFFICER, f"/districts/{district_id}/scores?year={year}&per_page=100")["items"]
    assert shown == next(entry for entry in listed if entry["school"]["code"] == "THCVA")["groups"][0]["points"]
    assert _score(officer, OFFICER, school_id, year)["groups"] == sealed["groups"]  # the school's claim is kept
    snap(officer, 7, "district")

    table = _sheet_row(_download(officer, officer.get_by_test_id("district-export"), tmp_path),
                       "Trường Tiểu học Chu Văn An")
    assert table["Trạng thái"] == "Đã công nhận" and table["Ngày nộp"] == _approved_day(sealed)
    assert table["Nhóm 1 Điểm"] == shown
    assert "Kết quả đánh giá của Phòng" in table["Ghi chú"]

