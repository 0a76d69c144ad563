"""In a real browser: each demo user signs in, sees the navigation of their role, follows
it and signs out; a wrong password is explained."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.real_commits]

NAVIGATION = {
    "giaovien@thcva.edu.vn": ["Tổng quan", "Trường của tôi", "Kiểm kê", "Minh chứng", "Điểm số", "Hồ sơ tự đánh giá",
                              "Lập kế hoạch"],
    "kiemtra@thcva.edu.vn": ["Tổng quan", "Trường của tôi", "Kiểm kê", "Minh chứng", "Điểm số", "Hồ sơ tự đánh giá",
                             "Lập kế hoạch"],
    "hieutruong@thcva.edu.vn": ["Tổng quan", "Trường của tôi", "Kiểm kê", "Minh chứng", "Điểm số", "Hồ sơ tự đánh giá",
                                "Lập kế hoạch", "Người dùng"],
    "phonggd@daksong.edu.vn": ["Tổng quan", "Các trường", "Đơn giá"],
    "admin@demo.edu.vn": ["Tổng quan", "Các trường", "Kết quả theo tỉnh", "Quận/Huyện", "Người dùng", "Đơn giá"],
}


def sign_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


@pytest.mark.parametrize("email", list(NAVIGATION))
def test_each_demo_user_signs_in_follows_their_navigation_and_signs_out(page, email):
    sign_in(page, email)
    navigation = page.get_by_test_id("nav").get_by_role("link")
    expect(navigation).to_have_text(NAVIGATION[email])
    for label in NAVIGATION[email]:
        page.get_by_test_id("nav").get_by_role("link", name=label, exact=True).click()
        expect(page.get_by_test_id("nav").get_by_role("link", name=label, exact=True)).to_have_attribute(
            "aria-current", "page")
        assert page.title() and "500" not in page.title()

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_a_wrong_password_is_explained_in_vietnamese(page):
    sign_in(page, "hieutruong@thcva.edu.vn", "sai-mat-khau")
    expect(page.get_by_role("alert")).to_contain_text("Email hoặc mật khẩu không đúng.")
    expect(page.get_by_test_id("nav")).to_have_count(0)
