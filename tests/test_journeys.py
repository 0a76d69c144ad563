"""The journeys of product.md in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import expect

from app.accounts import services as accounts
from app.accounts.models import Role
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
