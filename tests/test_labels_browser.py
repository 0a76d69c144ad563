"""QR labels in a real browser: staff tick equipment, print its labels, and a phone that
scans one (the code decoded from the printed page) opens the item after signing in."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.real_commits]
STAFF = "giaovien@thcva.edu.vn"


def sign_in(page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def test_printed_labels_scan_to_the_items_page_after_signing_in(page, chromium, live_portal):
    page.goto("/login")
    sign_in(page, STAFF)
    page.get_by_test_id("nav").get_by_role("link", name="Kiểm kê").click()
    page.get_by_role("link", name="Thiết bị", exact=True).first.click()
    rows = page.locator("tbody tr")
    ticked = rows.count()
    assert ticked > 1
    page.get_by_label("Chọn tất cả trên trang này").check()
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="In nhãn QR của mục đã chọn").click()
    sheet = opened.value
    sheet.wait_for_load_state()
    labels = sheet.get_by_test_id("label")
    expect(labels).to_have_count(ticked)
    expect(sheet.get_by_role("button", name="In", exact=True)).to_be_visible()
    # The test portal answers on 127.0.0.1 only: the sheet warns that phones cannot open these codes.
    expect(sheet.get_by_test_id("labels-unreachable")).to_contain_text(live_portal.url)

    first = labels.first
    tag = first.locator(".qr-tag").inner_text()
    picture = Image.open(io.BytesIO(first.locator(".qr-code").screenshot()))
    codes = zxingcpp.read_barcodes(picture)
    assert len(codes) == 1
    address = codes[0].text
    assert re.fullmatch(re.escape(live_portal.url) + r"/schools/\d+/equipment/\d+", address)

    phone = chromium.new_context(locale="vi-VN")  # another device, not signed in
    try:
        scanning = phone.new_page()
        scanning.goto(address)
        expect(scanning.get_by_role("heading", name="Đăng nhập")).to_be_visible()
        sign_in(scanning, STAFF)
        expect(scanning).to_have_url(address)
        expect(scanning.get_by_role("heading", level=1)).to_contain_text(tag)
    finally:
        phone.close()
