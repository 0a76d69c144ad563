"""The JSON API: tokens, the error format, pagination, schools, the OpenAPI document."""

from __future__ import annotations

import hashlib

from sqlalchemy import select, update

from app.accounts.models import ApiToken, Role
from app.extensions import db, utcnow
from tests.builders import PASSWORD, bearer


def test_token_from_email_and_password_then_revoked(app, build):
    user = build.user(Role.STAFF, school=build.school())
    http = app.test_client()
    issued = http.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    assert issued.status_code == 201
    token = issued.get_json()["token"]
    me = http.get("/api/v1/me", headers=bearer(token)).get_json()
    assert me["email"] == user.email and me["role"] == "staff" and me["school_id"] == user.school_id
    assert http.delete("/api/v1/auth/token", headers=bearer(token)).status_code == 204
    assert http.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_tokens_are_stored_only_as_hashes(app, build, read):
    user = build.user(Role.STAFF, school=build.school())
    token = build.token(user)
    stored = read(lambda: db.session.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user.id)).all())
    assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored


def test_wrong_credentials_get_401_in_the_error_format_with_one_message(app, build):
    user = build.user(Role.STAFF, school=build.school())
    http = app.test_client()
    wrong = http.post("/api/v1/auth/token", json={"email": user.email, "password": "nope-nope"})
    unknown = http.post("/api/v1/auth/token", json={"email": "ghost@example.edu.vn", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["message"] == "Email hoặc mật khẩu không đúng."


def test_requests_without_a_token_get_401_and_session_cookies_do_not_count(app, client, build):
    user = build.user(Role.ADMIN)
    client.login(user.email)
    assert client.get("/account").status_code == 200
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_expired_tokens_and_tokens_of_disabled_users_are_refused(app, build, read):
    user = build.user(Role.STAFF, school=build.school())
    token = build.token(user)

    def expire():
        db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(expires_at=utcnow()))
        db.session.commit()
    read(expire)
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert app.test_client().get("/api/v1/me", headers=bearer("pt_made-up")).status_code == 401


def test_bad_input_gets_400_with_a_message_per_field(app, build):
    token = build.token(build.user(Role.ADMIN))
    http = app.test_client()
    response = http.post("/api/v1/schools", headers=bearer(token),
                         json={"name": "", "code": "X", "level": "university", "students": -1, "extra": 1})
    body = response.get_json()["error"]
    assert response.status_code == 400 and body["code"] == "bad_request"
    assert set(body["fields"]) >= {"name", "code", "level", "students", "province", "district", "extra"}
    assert body["fields"]["province"] == "Hãy nhập tỉnh/thành phố."
    assert body["fields"]["students"] == "Phải từ 0 đến 100000."
    assert body["fields"]["extra"] == "Trường dữ liệu không được hỗ trợ."
    malformed = http.post("/api/v1/schools", headers={**bearer(token), "Content-Type": "application/json"},
                          data="{not json")
    assert malformed.status_code == 400 and "error" in malformed.get_json()
    not_an_object = http.post("/api/v1/schools", headers=bearer(token), json=[1, 2])
    assert not_an_object.status_code == 400


def test_admin_creates_a_school_and_duplicates_conflict(app, build):
    token = build.token(build.user(Role.ADMIN))
    http = app.test_client()
    school = {"name": "Trường THPT Đắk Song", "code": "THPTDS", "level": "thpt", "province": "Đắk Nông",
              "district": "Đắk Song", "students": 900, "teachers": 55, "classes": 24, "largest_class_size": 42}
    created = http.post("/api/v1/schools", headers=bearer(token), json=school)
    assert created.status_code == 201
    assert {key: created.get_json()[key] for key in school} == school
    again = http.post("/api/v1/schools", headers=bearer(token), json=school)
    assert again.status_code == 409 and "code" in again.get_json()["error"]["fields"]


def test_principal_patches_counts_but_not_the_name(app, build):
    school = build.school()
    token = build.token(build.user(Role.PRINCIPAL, school=school))
    http = app.test_client()
    url = f"/api/v1/schools/{school.id}"
    patched = http.patch(url, headers=bearer(token), json={"students": 512})
    assert patched.status_code == 200 and patched.get_json()["students"] == 512
    assert patched.get_json()["teachers"] == school.teachers
    refused = http.patch(url, headers=bearer(token), json={"name": "Đổi tên"})
    assert refused.status_code == 400 and "name" in refused.get_json()["error"]["fields"]


def test_lists_are_paginated_with_items_and_total(app, build):
    for _ in range(5):
        build.school(district="Lắk")
    token = build.token(build.user(Role.ADMIN))
    http = app.test_client()
    page = http.get("/api/v1/schools?per_page=2&page=2", headers=bearer(token)).get_json()
    assert len(page["items"]) == 2 and page["total"] >= 5
    too_many = http.get("/api/v1/schools?per_page=1000", headers=bearer(token))
    assert too_many.status_code == 400 and "per_page" in too_many.get_json()["error"]["fields"]
    assert http.get("/api/v1/schools?page=abc", headers=bearer(token)).status_code == 400


def test_staff_see_their_own_school_and_another_school_is_not_found(app, build):
    mine, other = build.school(), build.school()
    token = build.token(build.user(Role.STAFF, school=mine))
    http = app.test_client()
    listed = http.get("/api/v1/schools", headers=bearer(token)).get_json()
    assert [item["id"] for item in listed["items"]] == [mine.id] and listed["total"] == 1
    assert http.get(f"/api/v1/schools/{other.id}", headers=bearer(token)).status_code == 404
    assert http.get("/api/v1/schools/99999999999999", headers=bearer(token)).status_code == 404


def test_unknown_paths_and_methods_answer_in_the_error_format(app):
    http = app.test_client()
    missing = http.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong_method = http.put("/api/v1/schools")
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]


def test_openapi_document_describes_the_api(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/auth/token", "/api/v1/schools", "/api/v1/schools/{school_id}", "/api/v1/me"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert set(spec["paths"]["/api/v1/schools"]) >= {"get", "post"}
