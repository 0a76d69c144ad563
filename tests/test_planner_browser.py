"""Journey 8 in a real browser: the principal opens the planner — "what if we equip 4 more
classrooms and adopt an LMS with two functions?" — sees the projection beside today,
takes the cheapest path to the next level of group 1, saves it, and downloads it."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.real_commits]


def test_journey_8_principal_plans_the_next_level(page, snap):
    page.goto("/login")
    page.get_by_label("Email").fill("hieutruong@thcva.edu.vn")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_test_id("nav").get_by_role("link", name="Lập kế hoạch", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lập kế hoạch")

    page.get_by_label("Trang bị thêm N phòng học").fill("4")
    page.get_by_label("Hệ thống quản lý học tập (LMS/LCMS)").check()
    page.get_by_label("Giao bài cho học sinh tự học").check()
    page.get_by_label("Kiểm tra, đánh giá thường xuyên").check()
    page.get_by_role("button", name="Xem kết quả dự kiến").click()
    result = page.locator("#result")
    expect(result.get_by_test_id("projected-group-1")).to_be_visible()
    expect(result.get_by_test_id("actions")).to_contain_text("Hệ thống quản lý học tập (LMS/LCMS)")
    expect(result.get_by_test_id("total-cost")).to_have_text(re.compile(r"^[0-9.]+ ₫$"))
    snap(page, 8, "projection")

    path = page.get_by_test_id("path-1")
    target = int(re.search(r"Lên Mức (\d)", path.inner_text()).group(1))
    path.get_by_role("link", name="Dùng phương án này").first.click()
    expect(page.get_by_test_id("projected-group-1")).to_contain_text(f"Mức {target}")

    page.get_by_label("Tên kế hoạch").fill("Lên mức tiếp theo, nhóm 1")
    page.get_by_role("button", name="Lưu thành kế hoạch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lên mức tiếp theo, nhóm 1")
    expect(page.get_by_test_id("computed-today")).to_be_visible()
    expect(page.get_by_test_id("projected-group-1")).to_contain_text(f"Mức {target}")
    total = page.get_by_test_id("total-cost").inner_text()
    snap(page, 8, "plan")

    with page.expect_download() as download:
        page.get_by_role("link", name="Tải XLSX").click()
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).worksheets[0]
    last = list(sheet.iter_rows(values_only=True))[-1]
    assert last[1] == "Tổng cộng" and f"{last[2]:,}".replace(",", ".") + " ₫" == total
