"""What every page promises: Vietnamese by default, role navigation, safe headers, no
Internet assets, CSRF on forms, clear error pages."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.accounts.models import Role
from tests.conftest import TEST_CONFIG

NAVIGATION = {
    Role.STAFF: ["Tổng quan", "Trường của tôi", "Kiểm kê", "Minh chứng", "Điểm số", "Hồ sơ tự đánh giá",
                 "Lập kế hoạch"],
    Role.REVIEWER: ["Tổng quan", "Trường của tôi", "Kiểm kê", "Minh chứng", "Điểm số", "Hồ sơ tự đánh giá",
                    "Lập kế hoạch"],
    Role.PRINCIPAL: ["Tổng quan", "Trường của tôi", "Kiểm kê", "Minh chứng", "Điểm số", "Hồ sơ tự đánh giá",
                     "Lập kế hoạch", "Người dùng"],
    Role.DISTRICT: ["Tổng quan", "Các trường", "Đơn giá"],
    Role.ADMIN: ["Tổng quan", "Các trường", "Kết quả theo tỉnh", "Quận/Huyện", "Người dùng", "Đơn giá"],
}


def nav_labels(html: str) -> list[str]:
    nav = html.split('data-testid="nav"')[1].split("</ul>")[0]
    return [label.strip() for label in re.findall(r'class="nav-link[^"]*"[^>]*>([^<]+)</a>', nav)]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_own_navigation(role, client, build):
    school = build.school()
    user = build.user(role, school=school if role.belongs_to_school else None,
                      district=school.district if role == Role.DISTRICT else None)
    client.login(user.email)
    home = client.get("/", follow_redirects=True)  # a district officer's home is their district's page
    assert nav_labels(home.get_data(as_text=True)) == NAVIGATION[role]


def test_pages_are_vietnamese_by_default_and_english_on_request(client, build):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page and "Đăng nhập" in page
    client.post("/language", {"locale": "en", "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page


def test_a_users_language_choice_follows_them_to_a_new_session(make_client, build):
    user = build.user(Role.STAFF, school=build.school())
    first = make_client()
    first.login(user.email)
    first.post("/language", {"locale": "en"})
    second = make_client()
    second.login(user.email)
    assert "Overview" in second.get("/").get_data(as_text=True)


def test_security_headers_forbid_inline_script_framing_and_sniffing(client):
    headers = client.get("/login").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_load_nothing_from_the_internet_and_carry_no_inline_script(client, build):
    school = build.school()
    client.login(build.user(Role.ADMIN).email)
    for url in ("/", "/schools", f"/schools/{school.id}", "/users", "/account", "/districts"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', html), url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r'\sstyle="', html), url
        assert not re.search(r"\son[a-z]+=", html), url


def test_bootstrap_is_served_by_the_portal(client):
    css = client.get("/static/vendor/bootstrap-5.3.9/bootstrap.min.css")
    assert css.status_code == 200 and b"Bootstrap" in css.data[:200]


def test_forms_without_a_csrf_token_are_refused_in_vietnamese(client, build):
    user = build.user(Role.ADMIN)
    response = client.post("/login", {"email": user.email, "password": "correct-horse-battery"}, csrf=False)
    assert response.status_code == 400
    assert "Vui lòng tải lại trang và gửi lại." in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # not signed in


def test_error_pages_are_in_vietnamese(client, build):
    missing = client.get("/khong-co-trang-nay")
    assert missing.status_code == 404 and "Không tìm thấy trang hoặc dữ liệu." in missing.get_data(as_text=True)
    client.login(build.user(Role.STAFF, school=build.school()).email)
    forbidden = client.get("/users")
    assert forbidden.status_code == 403
    assert "Bạn không có quyền thực hiện thao tác này." in forbidden.get_data(as_text=True)


def test_too_large_requests_get_413_in_vietnamese(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/login", {"email": "x" * 4000, "password": "y"})
    assert response.status_code == 413
    assert "Tệp hoặc biểu mẫu quá lớn." in response.get_data(as_text=True)


def test_server_errors_show_a_calm_vietnamese_page_and_json_for_the_api(tmp_path, db_url):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path),
                      "PROPAGATE_EXCEPTIONS": False})

    @app.route("/boom")
    @app.route("/api/v1/boom")
    def boom():
        raise RuntimeError("a bug")
    boom.required_action = "public"

    http = app.test_client()
    page = http.get("/boom")
    assert page.status_code == 500 and "Dữ liệu đã lưu của bạn vẫn an toàn" in page.get_data(as_text=True)
    api = http.get("/api/v1/boom")
    assert api.status_code == 500 and api.get_json()["error"]["code"] == "server_error"


def test_dates_read_day_month_year(client, build):
    school = build.school()
    client.login(build.user(Role.ADMIN).email)
    html = client.get(f"/schools/{school.id}").get_data(as_text=True)
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", html)
