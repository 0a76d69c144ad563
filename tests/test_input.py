"""Hostile or broken input anywhere gets a clear 4xx and never reaches the database
as text it cannot keep; caches never keep a school's pages."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from app.accounts.models import Role
from app.extensions import db
from app.schools.models import School
from tests.builders import PASSWORD, bearer
from tests.test_schools import NEW_SCHOOL

API_SCHOOL = {"name": "Trường THCS Nâm N'Jang", "code": "THCSNJ", "level": "thcs", "province": "Đắk Nông",
              "district": "Đắk Song"}


def test_json_nested_too_deeply_gets_400_not_a_crash(app, build):
    token = build.token(build.user(Role.ADMIN))
    response = app.test_client().post("/api/v1/schools", data="[" * 100_000,
                                      headers={**bearer(token), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Nội dung yêu cầu lồng nhau quá sâu."


def test_api_text_with_nul_or_lone_surrogates_is_refused_by_field(app, build, read):
    token = build.token(build.user(Role.ADMIN))
    http = app.test_client()
    for bad in ("Trường\x00A", "Trường \ud800", "Tab\x0bdọc"):
        response = http.post("/api/v1/schools", headers=bearer(token), json={**API_SCHOOL, "name": bad})
        assert response.status_code == 400, repr(bad)
        assert response.get_json()["error"]["fields"] == {"name": "Mục này chứa ký tự không được phép."}
    kept = http.post("/api/v1/schools", headers=bearer(token),
                     json={**API_SCHOOL, "name": "Trường THCS\tNâm N'Jang"})
    assert kept.status_code == 201


def test_query_parameters_with_nul_are_refused(app, client, build):
    token = build.token(build.user(Role.ADMIN))
    assert app.test_client().get("/api/v1/schools?q=a%00b", headers=bearer(token)).status_code == 400
    client.login(build.user(Role.ADMIN).email)
    assert client.get("/schools?q=a%00b").status_code == 400


def test_district_must_be_text(app, build):
    token = build.token(build.user(Role.ADMIN))
    response = app.test_client().post("/api/v1/schools", headers=bearer(token), json={**API_SCHOOL, "district": 5})
    assert response.status_code == 400 and set(response.get_json()["error"]["fields"]) == {"district"}


def test_text_pasted_into_a_form_is_kept_without_invisible_control_characters(client, build, read):
    district_id = build.school().district_id
    client.login(build.user(Role.ADMIN).email)
    response = client.post("/schools/new", {**NEW_SCHOOL, "district_id": district_id,
                                            "name": "Trường Tiểu học\x0b Kim Đồng\x00"})
    assert response.status_code == 302
    names = read(lambda: list(db.session.scalars(select(School.name))))
    assert "Trường Tiểu học Kim Đồng" in names


def test_huge_page_numbers_show_an_empty_page(client, build):
    client.login(build.user(Role.ADMIN).email)
    for url in ("/schools?page=99999999999999999999", "/users?page=-5", "/schools?page=abc"):
        assert client.get(url).status_code == 200, url


def test_sign_in_never_follows_a_next_with_control_characters(client, build):
    user = build.user(Role.ADMIN)
    response = client.post("/login", {"email": user.email, "password": PASSWORD, "next": "/\tschools\n"})
    assert response.headers["Location"] == "/"


def test_pages_and_api_answers_are_never_cached_but_assets_may_be(app, client, build):
    token = build.token(build.user(Role.ADMIN))
    assert app.test_client().get("/api/v1/schools", headers=bearer(token)).headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    asset = client.get("/static/css/portal.css")
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("Cache-Control", "")


def test_https_responses_ask_browsers_to_stay_on_https(app):
    http = app.test_client()
    assert "Strict-Transport-Security" not in http.get("/login").headers
    assert http.get("/login", base_url="https://portal.test").headers["Strict-Transport-Security"].startswith(
        "max-age=")



def feedback(response) -> list[str]:
    """The messages a form page shows next to its fields and above it."""
    shown = r'class="(?:invalid-feedback|text-danger[^"]*|alert[^"]*)"[^>]*>([^<]*)'
    return [" ".join(html.unescape(text).split()) for text in re.findall(shown, response.get_data(as_text=True))]


def test_over_long_form_fields_and_unknown_choices_get_a_vietnamese_message_not_a_crash(client, build):
    """WTForms' own messages (Length, AnyOf…) carry placeholders of their own."""
    response = client.post("/login", {"email": "a" * 250 + "@truong.vn", "password": "x"})
    assert response.status_code == 400
    assert "Tối đa 254 ký tự." in feedback(response)
    school = build.school()
    client.login(build.user(Role.STAFF, school=school).email)
    response = client.post(f"/schools/{school.id}/software/new", {
        "name": "VnEdu", "category": "management", "acquisition": "free", "status": "in_use",
        "capabilities": "bogus"})
    assert response.status_code == 400
    assert "'bogus' không có trong danh sách." in feedback(response)
    response = client.post("/account/tokens", {"name": "t" * 101}, follow_redirects=True)
    assert response.status_code == 400
    assert "Tối đa 100 ký tự." in " ".join(feedback(response))


def test_an_empty_required_field_says_what_to_enter(client, build):
    response = client.post("/login", {"email": "", "password": ""})
    assert response.status_code == 400
    assert {"Hãy nhập email của bạn.", "Hãy nhập mật khẩu."} <= set(feedback(response))
    school = build.school()
    client.login(build.user(Role.STAFF, school=school).email)
    response = client.post(f"/schools/{school.id}/rooms/new", {"name": "  \u200b", "kind": "classroom"})
    assert response.status_code == 400 and "Hãy nhập tên phòng." in feedback(response)
