"""The security suite (issue 14, item 5), beside the permission walk of
tests/test_permissions.py: another school of one's own district, presigned downloads,
CSRF on every form route, mass assignment, headers on every kind of answer, the end of
sessions and tokens, and logs that keep no secret.

What other files already prove is not repeated here: the walk (every route × role ×
own/other school and district), CSRF on the evidence and planner forms, the session
cookie's flags over HTTPS, one session's sign-out and password change ending the others,
tokens ending with a new password or a disabled account, the first log check."""

from __future__ import annotations

import io
import json
import logging
import random
import re

import pytest
from flask import url_for
from PIL import Image
from sqlalchemy import select

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.extensions import db
from app.ops.logs import JsonFormatter
from tests import files
from tests import test_permissions as permissions
from tests.builders import PASSWORD, bearer
from tests.conftest import TEST_CONFIG, make_bucket, s3_settings

world = permissions.world  # the walk's two schools in two districts, reused (a fixture)
CSRF_MESSAGE = "Vui lòng tải lại trang và gửi lại."
# The package check reads its token before the (large) upload, and says so in its own words.
OWN_CSRF_MESSAGES = {"/packages/verify": "Biểu mẫu đã hết hạn. Vui lòng gửi lại."}


def _document(app, uploader, school, content: bytes = b"", name: str = "anh.png") -> dict:
    """A new evidence document of ``school`` with one file: its URL parameters."""
    from werkzeug.datastructures import FileStorage

    from app.evidence import services as evidence
    from app.schools.models import School

    with app.test_request_context():
        document = evidence.create_document(
            uploader, db.session.get(School, school.id), {"title": "Minh chứng", "criteria": ["1.1"]},
            [FileStorage(io.BytesIO(content or files.png()), filename=name)])
        return {"evidence_id": document.id, "file_id": document.files[0].id, "criterion": "1.1"}


def snapshot(read) -> dict:
    """Every row of every table, to see that a refused request changed nothing."""
    return read(lambda: {table.name: sorted(map(repr, db.session.execute(table.select()).all()))
                         for table in db.metadata.sorted_tables})


# --- 1. another school of one's own district -------------------------------------------

@pytest.fixture()
def district_world(app, world):
    """The walk's world and a third school, "sibling": another school of the first school's
    district, with the same kinds of records (its person's token and notification too)."""
    build = world["build"]
    sibling = build.school(code="SIBLING", district="Đắk Song")
    person = build.user(Role.STAFF, school=sibling)
    evidence_of = world["evidence_of"]
    values = {"school_id": sibling.id, "district_id": sibling.district_id, "year": sibling.school_year,
              "action": "start_review", "province": sibling.district.province, "user_id": person.id,
              "token_id": build.token_id(person), "notification_id": permissions._notification_for(app, person),
              "plan_id": permissions._plan_for(app, sibling),
              **{param: build.record(name, sibling, {**data, label: "Bản ghi"}).id
                 for param, (name, data, label) in permissions.INVENTORY.items()},
              **_document(app, person, sibling)}
    return {**world, "sibling": values, "schools": {**world["schools"], "sibling": sibling},
            "evidence_of": lambda target: _document(app, person, sibling) if target == "sibling" else evidence_of(
                target)}


@pytest.mark.long
def test_another_school_of_the_officers_district_is_theirs_and_no_school_roles(app, district_world, make_client):
    """The walk's "other" is another school in another district; here the other school is
    in the officer's own district: the officer reaches it as their own, a school's staff
    member does not (the gate's scope check is the same for every school role, walked in
    full by tests/test_permissions.py), and owner-only records stay their owner's."""
    clients = {}
    for role in (Role.DISTRICT, Role.STAFF):
        clients[role] = make_client()
        assert clients[role].login(district_world["actors"][role].email).status_code == 302

    def want(endpoint, method, role, params):
        roles = permissions.ROUTES[(endpoint, method)]
        if roles == permissions.PUBLIC:
            return "allowed"
        if roles == permissions.METRICS_TOKEN:
            return "sign in"
        if params & {"token_id", "notification_id"}:
            return "not found"
        if role != Role.DISTRICT and params - {"year", "province"}:
            return "not found"
        return "allowed" if role in roles else "forbidden"

    mismatches = []
    for rule in app.url_map.iter_rules():
        params = set(rule.arguments) - {"filename"}
        if not params:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role, client in clients.items():
                got = permissions._request(app, client, rule, method, role, "sibling", district_world)
                expected = want(rule.endpoint, method, role, params)
                if got != expected:
                    mismatches.append(f"{method} {rule.rule} as {role.value} on the district's other school: "
                                      f"{got}, expected {expected}")
    assert mismatches == []


def test_a_presigned_download_is_given_only_to_those_who_may_see_the_file(app, build, make_client, s3_server):
    """On S3 with presigned downloads, the redirect carries a URL anyone can fetch for five
    minutes: only the school's people, its district's officer and admins get one."""
    own = build.school(district="Đắk Song")
    neighbour = build.school(district="Đắk Song")
    far = build.school(district="Cư Jút")
    people = {
        "staff of the school": build.user(Role.STAFF, school=own),
        "reviewer of the school": build.user(Role.REVIEWER, school=own),
        "officer of its district": build.user(Role.DISTRICT, district=own.district),
        "admin": build.user(Role.ADMIN),
        "staff of a school nearby": build.user(Role.STAFF, school=neighbour),
        "principal of a school nearby": build.user(Role.PRINCIPAL, school=neighbour),
        "officer of another district": build.user(Role.DISTRICT, district=far.district),
    }
    may_see = {"staff of the school", "reviewer of the school", "officer of its district", "admin"}
    with s3_settings(app, S3_ENDPOINT_URL=s3_server.url, S3_BUCKET=make_bucket(s3_server.url),
                     S3_PRESIGNED_DOWNLOADS=True):
        values = _document(app, people["staff of the school"], own)
        with app.test_request_context():
            page = url_for("evidence.download", school_id=own.id, **values)
            api = url_for("api_evidence.download_evidence_file", school_id=own.id,
                          evidence_id=values["evidence_id"], file_id=values["file_id"])
        answers = {}
        for who, person in people.items():
            client = make_client()
            client.login(person.email)
            answers[who, "page"] = client.get(page)
            answers[who, "api"] = app.test_client().get(api, headers=bearer(build.token(person)))
    for (who, way), answer in answers.items():
        if who in may_see:
            assert answer.status_code == 302 and "X-Amz-Signature=" in answer.headers["Location"], (who, way)
        else:
            assert answer.status_code == 404 and "Location" not in answer.headers, (who, way)
            assert "X-Amz" not in answer.get_data(as_text=True), (who, way)


# --- 2. CSRF on every form route -------------------------------------------------------

PREFERRED = (Role.PRINCIPAL, Role.ADMIN, Role.STAFF, Role.REVIEWER, Role.DISTRICT)


def test_every_form_route_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing(app, world, make_client, read):
    """Every POST/PUT/PATCH/DELETE page route (the API takes bearer tokens, no cookies),
    sent by a signed-in person whose role may use it on their own school's records, with
    no token or a wrong one: 400 with the CSRF message, and not one row changed."""
    signed_in = {}
    requests = []
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.rule.startswith("/api/"):
            continue
        for method in methods:
            roles = permissions.ROUTES[(rule.endpoint, method)]
            candidates = PREFERRED if roles == permissions.PUBLIC else [role for role in PREFERRED if role in roles]
            role = next(role for role in candidates if all(
                permissions.reachable(role, param, "own") for param in set(rule.arguments) - {"year"}))
            actor = world["actors"][role]
            values = dict(world["own"])
            if "notification_id" in rule.arguments:
                values["notification_id"] = permissions._notification_for(app, actor)
            if "token_id" in rule.arguments:
                values["token_id"] = world["build"].token_id(actor)
            with app.test_request_context():
                url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
            if role not in signed_in:
                signed_in[role] = make_client()
                assert signed_in[role].login(actor.email).status_code == 302
            requests.append((method, url, role))
            if roles == permissions.PUBLIC:
                requests.append((method, url, None))
    anonymous = make_client()
    anonymous.get("/login")  # a session with a CSRF secret, as a visitor's browser has
    assert {(method, url) for method, url, _role in requests} >= {("POST", "/login"), ("POST", "/logout")}

    stranger = make_client()
    valid_elsewhere = stranger.csrf_token()  # a real token, of another visitor's session
    before = snapshot(read)
    wrong = []
    for method, url, role in requests:
        client = signed_in[role] if role else anonymous
        for form in ({}, {"csrf_token": "a-token-of-another-session"},
                     {"csrf_token": valid_elsewhere}):
            answer = client.http.open(url, method=method, data={**form, "email": world["actors"][Role.ADMIN].email,
                                                                  "password": PASSWORD})
            if answer.status_code != 400 or OWN_CSRF_MESSAGES.get(url, CSRF_MESSAGE) not in answer.get_data(
                    as_text=True):
                wrong.append(f"{method} {url} as {role and role.value or 'anonymous'} with {sorted(form)}: "
                             f"{answer.status_code}")
    assert wrong == []
    assert snapshot(read) == before
    assert anonymous.get("/account").status_code == 302  # the sign-in without a token did not sign in


# --- 3. mass assignment ----------------------------------------------------------------

def _refused_naming(answer, field: str) -> bool:
    """The API refuses a body naming a field it may not set: 400, the field named."""
    return answer.status_code == 400 and field in (answer.get_json()["error"].get("fields") or {})


FORBIDDEN = {"id": 987654, "school_id": None, "version": 41, "created_by": None, "created_by_id": None,
             "status": "accepted", "approved_by": None, "approved_by_id": None, "role": "admin",
             "removed_at": "2020-01-01T00:00:00Z", "created_at": "2020-01-01T00:00:00Z", "codes": ["H9-9.9-99"]}


@pytest.fixture()
def two_schools(build):
    own = build.school(district="Đắk Song")
    other = build.school(district="Cư Jút")
    staff = build.user(Role.STAFF, school=own)
    principal = build.user(Role.PRINCIPAL, school=own)
    outsider = build.user(Role.STAFF, school=other)
    return {"own": own, "other": other, "staff": staff, "principal": principal, "outsider": outsider,
            "forbidden": {**FORBIDDEN, "school_id": other.id, "created_by": outsider.id,
                          "created_by_id": outsider.id, "approved_by": outsider.id, "approved_by_id": outsider.id}}


@pytest.mark.parametrize("name", permissions.COLLECTIONS)
def test_inventory_records_take_no_owner_id_or_version_from_the_api(name, app, build, read, two_schools):
    from app.inventory.services import COLLECTIONS

    collection = COLLECTIONS[name]
    param = next(key for key, (each, _data, _label) in permissions.INVENTORY.items() if each == name)
    _name, data, label = permissions.INVENTORY[param]
    own, token = two_schools["own"], build.token(two_schools["staff"])
    http = app.test_client()
    base = f"/api/v1/schools/{own.id}/{name}"
    for field, value in two_schools["forbidden"].items():
        created = http.post(base, json={**data, label: f"Tạo {field}", field: value}, headers=bearer(token))
        assert _refused_naming(created, field), (field, created.status_code)
        record = build.record(name, own, {**data, label: f"Sửa {field}"})
        changed = http.patch(f"{base}/{record.id}", json={field: value}, headers=bearer(token))
        # A version sent with a change is the optimistic lock: an old one is a conflict.
        assert _refused_naming(changed, field) or (field, changed.status_code) == ("version", 409), field
        names = [f"Tạo {field}", f"Sửa {field}"]
        rows = read(lambda names=names: [(row.id, row.school_id, row.version) for row in db.session.scalars(
            select(collection.model).where(getattr(collection.model, label).in_(names)))])
        for row_id, school_id, version in rows:
            assert school_id == own.id and row_id != FORBIDDEN["id"] and version != FORBIDDEN["version"], field
    assert read(lambda: db.session.scalar(select(db.func.count()).select_from(collection.model).where(
        collection.model.school_id == two_schools["other"].id))) == 0


def test_inventory_forms_keep_the_record_in_the_school_of_the_url(client, read, two_schools):
    from app.inventory.models import Room

    own = two_schools["own"]
    client.login(two_schools["staff"].email)
    answer = client.post(f"/schools/{own.id}/rooms/new", {
        "name": "Phòng gửi kèm mã trường khác", "kind": "classroom", "school_id": str(two_schools["other"].id),
        "id": "987654", "version": "41", "created_by": str(two_schools["outsider"].id)})
    assert answer.status_code in (302, 303, 400)
    rows = read(lambda: db.session.execute(select(Room.id, Room.school_id, Room.version).where(
        Room.name == "Phòng gửi kèm mã trường khác")).all())
    assert all(school_id == own.id and row_id != 987654 and version != 41 for row_id, school_id, version in rows)


def test_evidence_takes_no_school_status_reviewer_or_codes_from_the_api(app, build, read, two_schools):
    from app.evidence.models import EvidenceDocument, EvidenceLink

    own, token = two_schools["own"], build.token(two_schools["staff"])
    http = app.test_client()
    base = f"/api/v1/schools/{own.id}/evidence"
    link = {"title": "Trang web", "doc_type": "link", "url": "https://thcva.edu.vn", "criteria": ["1.1"]}
    for field, value in two_schools["forbidden"].items():
        created = http.post(base, json={**link, "title": f"Tạo {field}", field: value}, headers=bearer(token))
        assert _refused_naming(created, field), (field, created.status_code)
        existing = _document(app, two_schools["staff"], own)["evidence_id"]
        changed = http.patch(f"{base}/{existing}", json={field: value, "version": 1} if field != "version" else
                             {field: value}, headers=bearer(token))
        assert _refused_naming(changed, field) or (field, changed.status_code) == ("version", 409), field
        linked = http.post(f"{base}/{existing}/links", json={"criterion": "2.1", field: value}, headers=bearer(token))
        assert _refused_naming(linked, field), (field, linked.status_code)  # a link takes its criterion alone

    documents = read(lambda: [(document.id, document.school_id, document.codes, document.version)
                              for document in db.session.scalars(select(EvidenceDocument))])
    assert {school_id for _id, school_id, _codes, _version in documents} == {own.id}
    assert all("H9-9.9-99" not in codes and row_id != 987654 and version != 41
               for row_id, _school_id, codes, version in documents)
    statuses = read(lambda: set(db.session.scalars(select(EvidenceLink.status))))
    assert {str(getattr(status, "value", status)) for status in statuses} == {"pending"}


def test_plans_take_no_school_author_or_id_from_the_api(app, build, read, two_schools):
    from app.planner.models import Plan

    own, token = two_schools["own"], build.token(two_schools["staff"])
    http = app.test_client()
    base = f"/api/v1/schools/{own.id}/planner/plans"
    for field, value in two_schools["forbidden"].items():
        if field == "version":
            continue  # the plan's version is the optimistic lock a client sends back (tests/test_planner_security.py)
        created = http.post(base, json={"name": f"Kế hoạch {field}", "changes": [{"kind": "build_studio"}],
                                        field: value}, headers=bearer(token))
        assert _refused_naming(created, field), (field, created.status_code)
    plans = read(lambda: db.session.execute(select(Plan.id, Plan.school_id, Plan.created_by_id)).all())
    assert all(school_id == own.id and plan_id != 987654 and author in (None, two_schools["staff"].id)
               for plan_id, school_id, author in plans)


def test_a_transition_takes_no_status_or_approver_from_its_body(app, build, read, two_schools):
    from app.assessments.models import Assessment

    own, staff = two_schools["own"], two_schools["staff"]
    http = app.test_client()
    url = f"/api/v1/schools/{own.id}/assessments/{own.school_year}/start-review"
    answer = http.post(url, json={"status": "approved", "approved_by": two_schools["principal"].id,
                                  "approved_by_id": two_schools["principal"].id, "sealed_at": "2020-01-01"},
                       headers=bearer(build.token(staff)))
    assert all(_refused_naming(answer, field) for field in ("status", "approved_by", "sealed_at")), answer.get_json()
    state = read(lambda: db.session.execute(select(Assessment.status, Assessment.changed_by_id).where(
        Assessment.school_id == own.id)).all())
    assert all(str(getattr(status, "value", status)) != "approved" and changed_by in (None, staff.id)
               for status, changed_by in state)


def test_people_cannot_give_themselves_a_role_school_or_account_state(client, make_client, read, two_schools):
    staff, own = two_schools["staff"], two_schools["own"]
    client.login(staff.email)
    client.post("/account/password", {"current_password": PASSWORD, "new_password": "a-new-long-secret",
                                      "confirm": "a-new-long-secret", "role": "admin",
                                      "school_id": str(two_schools["other"].id), "active": "y"})
    principal = make_client()
    principal.login(two_schools["principal"].email)
    principal.post(f"/users/{staff.id}/edit", {"full_name": staff.full_name, "role": "admin", "active": "y",
                                               "school_id": str(two_schools["other"].id)})
    principal.post("/users/new", {"email": "moi@example.edu.vn", "full_name": "Người mới", "role": "district",
                                  "password": "mat-khau-rat-dai-2026", "school_id": str(two_schools["other"].id)})
    people = read(lambda: {user.email: (user.role, user.school_id) for user in db.session.scalars(select(User))})
    assert people[staff.email] == (Role.STAFF, own.id)
    created = people.get("moi@example.edu.vn")  # a principal may not make a district officer
    assert created is None or (created[0] not in (Role.ADMIN, Role.DISTRICT) and created[1] == own.id)


def test_a_principal_moves_no_school_to_another_district_through_the_api(app, build, read, two_schools):
    from app.schools.models import School

    own = two_schools["own"]
    http = app.test_client()
    answer = http.patch(f"/api/v1/schools/{own.id}", json={"district_id": two_schools["other"].district_id,
                                                           "id": 987654, "code": "DOI", "district": "Cư Jút"},
                        headers=bearer(build.token(two_schools["principal"])))
    assert all(_refused_naming(answer, field) for field in ("district_id", "id")), answer.get_json()
    assert read(lambda: (db.session.get(School, own.id).district_id, db.session.get(School, own.id).code)) == (
        own.district_id, own.code)


# --- 4. headers and cookie flags on every kind of answer -------------------------------

def _portal_headers(answer, cached: bool = False) -> list[str]:
    """What is missing or wrong among the portal's security headers on ``answer``."""
    headers = answer.headers
    problems = [name for name, value in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                                         ("Referrer-Policy", "same-origin")) if headers.get(name) != value]
    csp = headers.get("Content-Security-Policy", "")
    if "default-src" not in csp or "unsafe-inline" in csp.split("script-src")[-1].split(";")[0]:
        problems.append(f"Content-Security-Policy: {csp!r}")
    if not cached and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control: {headers.get('Cache-Control')!r}")
    return problems


def test_every_kind_of_answer_carries_the_security_headers(app, build, make_client, tmp_path, db_url):
    school = build.school()
    staff = build.user(Role.STAFF, school=school)
    values = _document(app, staff, school, files.pdf(), "quyet-dinh.pdf")
    signed_in, anonymous = make_client(), make_client()
    signed_in.login(staff.email)
    token = build.token(staff)
    with app.test_request_context():
        year = {"school_id": school.id, "year": school.school_year}
        urls = {
            "page": "/", "evidence download": url_for("evidence.download", school_id=school.id, **values),
            "evidence preview": url_for("evidence.preview", school_id=school.id, **values),
            "report xlsx": url_for("reports.self_assessment_xlsx", **year),
            "report pdf": url_for("reports.self_assessment_pdf", **year),
            "package zip": url_for("packages.download", **year),
            "inventory export": url_for("inventory.rooms_export", school_id=school.id),
            "403 page": "/users", "404 page": "/khong-co-trang-nay",
        }
    answers = {kind: signed_in.get(url) for kind, url in urls.items()}
    api = app.test_client()
    answers["json api"] = api.get("/api/v1/me", headers=bearer(token))
    answers["404 api"] = api.get("/api/v1/khong-co", headers=bearer(token))
    answers["401 api"] = api.get("/api/v1/me")
    answers["redirect"] = anonymous.get("/")
    answers["csrf 400"] = signed_in.post("/logout", csrf=False)
    answers["405"] = anonymous.http.open("/login", method="PUT")

    broken = create_app({**TEST_CONFIG, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path),
                         "PROPAGATE_EXCEPTIONS": False})

    def boom():
        raise ZeroDivisionError("a bug")
    boom.required_action = "public"
    broken.add_url_rule("/boom", view_func=boom)
    answers["500 page"] = broken.test_client().get("/boom")
    answers["500 api"] = broken.test_client().get("/boom", headers={"Accept": "application/json"})

    statuses = {kind: answer.status_code for kind, answer in answers.items()}
    assert statuses == {**dict.fromkeys(("page", "evidence download", "evidence preview", "report xlsx", "report pdf",
                                         "package zip", "inventory export", "json api"), 200),
                        "403 page": 403, "404 page": 404, "404 api": 404, "401 api": 401, "redirect": 302,
                        "csrf 400": 400, "405": 405, "500 page": 500, "500 api": 500}
    problems = {kind: _portal_headers(answer) for kind, answer in answers.items()}
    static = anonymous.get("/static/css/portal.css")
    problems["static"] = _portal_headers(static, cached=True)
    assert {kind: found for kind, found in problems.items() if found} == {}
    assert "sandbox" in answers["evidence preview"].headers["Content-Security-Policy"]


def _session_cookie(answer) -> str:
    return next(header for header in answer.headers.getlist("Set-Cookie") if header.startswith("portal_session="))


def test_behind_a_trusted_https_proxy_the_session_cookie_is_secure_and_a_forged_header_is_not_trusted(
        app, build, tmp_path, db_url):
    """nginx terminates TLS and says so in X-Forwarded-Proto: with TRUSTED_PROXIES the
    cookie is Secure (and HSTS is sent); without it, a client's own header changes nothing."""
    user = build.user(Role.ADMIN)

    def sign_in(portal, headers):
        http = portal.test_client()
        page = http.get("/login", headers=headers).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return http.post("/login", headers={**headers, "Referer": "https://portal.test/login"},
                         data={"email": user.email, "password": PASSWORD, "csrf_token": token})

    proxied = create_app({**TEST_CONFIG, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "proxied"),
                          "TRUSTED_PROXIES": 1})
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.7", "X-Forwarded-Host": "portal.test"}
    behind = sign_in(proxied, forwarded)
    assert behind.status_code == 302
    cookie = _session_cookie(behind)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert behind.headers["Strict-Transport-Security"].startswith("max-age=")

    direct = sign_in(app, forwarded)  # no trusted proxy: the header is the client's word only
    assert direct.status_code == 302
    cookie = _session_cookie(direct)
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in direct.headers


# --- 5. the end of sessions and tokens -------------------------------------------------

WAYS = ["sign out", "password change on the page", "accounts set-password", "account disabled",
        "token revoked on the page", "token revoked through the api"]


@pytest.mark.parametrize("way", WAYS)
def test_each_way_of_ending_access_ends_it_at_once(way, app, build, make_client):
    """The person's open session elsewhere and their API token, used right after: what the
    action ends is refused on the very next request, what it does not end still works."""
    school = build.school()
    person = build.user(Role.STAFF, school=school)
    admin = build.user(Role.ADMIN)
    elsewhere, here = make_client(), make_client()
    assert elsewhere.login(person.email).status_code == 302 and here.login(person.email).status_code == 302
    with app.test_request_context():
        token_row, token = accounts.issue_token(db.session.get(User, person.id), "điện thoại")
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert elsewhere.get("/account").status_code == 200

    if way == "sign out":
        assert here.logout().status_code in (302, 303)
    elif way == "password change on the page":
        assert here.post("/account/password", {"current_password": PASSWORD, "new_password": "a-new-long-secret",
                                               "confirm": "a-new-long-secret"}).status_code == 302
    elif way == "accounts set-password":
        result = app.test_cli_runner().invoke(args=["accounts", "set-password", person.email],
                                              input="mot-mat-khau-moi-dai\nmot-mat-khau-moi-dai\n")
        assert result.exit_code == 0, result.output
    elif way == "account disabled":
        admin_client = make_client()
        admin_client.login(admin.email)
        assert admin_client.post(f"/users/{person.id}/edit", {"full_name": person.full_name, "role": "staff",
                                                              "school_id": school.id}).status_code == 302
    elif way == "token revoked on the page":
        assert here.post(f"/account/tokens/{token_row.id}/revoke").status_code in (302, 303)
    else:
        assert api.delete("/api/v1/auth/token", headers=bearer(token)).status_code in (200, 204)

    session_ends = way in ("sign out", "password change on the page", "accounts set-password", "account disabled")
    token_ends = way != "sign out"
    assert (elsewhere.get("/account").status_code == 302) is session_ends
    assert (api.get("/api/v1/me", headers=bearer(token)).status_code == 401) is token_ends
    if way != "password change on the page":  # the one who changed it keeps their session
        assert (here.get("/account").status_code == 302) is session_ends


# --- 6. no secret in any log line ------------------------------------------------------

def test_no_password_token_cookie_or_file_content_in_any_log_line(app, build, make_client, read, caplog):
    """Beyond tests/test_ops.py's sign-in and token use: a token made on the page, a
    password changed on the page and by the CLI, an upload whose text is read by the job,
    every line at DEBUG, each formatted as the portal writes it."""
    school = build.school()
    staff = build.user(Role.STAFF, school=school)
    secret_text = "Noi dung mat cua quyet dinh 7731"
    new_password, cli_password = "mat-khau-moi-rat-dai-2026", "mat-khau-cli-rat-dai-2026"
    client = make_client()
    with caplog.at_level(logging.DEBUG):
        client.login(staff.email, "Sai-mat-khau-2026")
        client.login(staff.email)
        cookie = client.http.get_cookie("portal_session", domain="portal.test").value
        csrf = client.csrf_token()
        page = client.post("/account/tokens", {"name": "máy quét"}, follow_redirects=True).get_data(as_text=True)
        page_token = re.search(r'data-testid="new-token">([^<]+)<', page).group(1)
        api_token = app.test_client().post("/api/v1/auth/token", json={
            "email": staff.email, "password": PASSWORD, "name": "nhật ký"}).get_json()["token"]
        upload = client.post(f"/schools/{school.id}/evidence/new", {
            "title": "Quyết định", "doc_type": "decision", "criteria": "1.1",
            "file": (io.BytesIO(files.pdf(secret_text)), "quyet-dinh.pdf")}, content_type="multipart/form-data")
        app.test_client().get(f"/api/v1/schools/{school.id}/evidence", headers=bearer(api_token))
        client.post("/account/password", {"current_password": PASSWORD, "new_password": new_password,
                                          "confirm": new_password})
        app.test_cli_runner().invoke(args=["accounts", "set-password", staff.email],
                                     input=f"{cli_password}\n{cli_password}\n")
    from app.evidence.models import EvidenceFile

    assert upload.status_code in (302, 303)
    assert secret_text in read(lambda: db.session.scalar(select(EvidenceFile.text)))  # the job read the file
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any(json.loads(line).get("path") == "/account/password" for line in lines)  # the requests were logged
    written = "\n".join(lines)
    secrets = {"password": PASSWORD, "wrong password": "Sai-mat-khau-2026", "new password": new_password,
               "password set by the CLI": cli_password, "API token": api_token, "session cookie": cookie,
               "CSRF token": csrf, "file content": secret_text, "file content (words)": "mat cua quyet",
               "token made on the page": page_token}
    assert [name for name, secret in secrets.items() if secret in written] == []


def test_evidence_plan_and_assessment_forms_apply_no_field_they_do_not_show(app, build, make_client, read,
                                                                           two_schools):
    """Pages' forms read the fields they show: a school, status, reviewer, author or code
    added to the post changes nothing of them, and a plan id of another school's plan
    does not reach that plan."""
    from app.assessments.models import Assessment
    from app.evidence.models import EvidenceDocument, EvidenceLink
    from app.planner.models import Plan

    own, other, staff = two_schools["own"], two_schools["other"], two_schools["staff"]
    foreign_plan = permissions._plan_for(app, other)
    extra = {"school_id": str(other.id), "status": "accepted", "approved_by": str(two_schools["outsider"].id),
             "created_by": str(two_schools["outsider"].id), "codes": "H9-9.9-99", "id": "987654"}
    client = make_client()
    client.login(staff.email)
    base = f"/schools/{own.id}/evidence"
    created = client.post(f"{base}/link", {"title": "Trang trường", "url": "https://thcva.edu.vn",
                                           "criteria": "1.1", **extra})
    existing = _document(app, staff, own)["evidence_id"]
    version = read(lambda: db.session.get(EvidenceDocument, existing).version)
    edited = client.post(f"{base}/{existing}/details", {"title": "Đổi tên", "doc_type": "decision",
                                                        "version": str(version), "criteria": "1.1", **extra})
    planned = client.post(f"/schools/{own.id}/planner/plans", {"name": "Kế hoạch lạ", "repair_equipment": "1",
                                                                "plan_id": str(foreign_plan), **extra})
    started = client.post(f"/schools/{own.id}/assessments/{own.school_year}/start_review",
                          {**extra, "status": "approved", "changed_by_id": str(two_schools["principal"].id)})
    # Each form did its own work (another school's plan is not found), and only that.
    assert (created.status_code, edited.status_code, planned.status_code, started.status_code) == (302, 302, 404, 302)
    assert read(lambda: db.session.get(EvidenceDocument, existing).title) == "Đổi tên"
    documents = read(lambda: [(document.id, document.school_id, document.codes)
                              for document in db.session.scalars(select(EvidenceDocument))])
    assert {school_id for _id, school_id, _codes in documents} == {own.id}
    assert all(row_id != 987654 and "H9-9.9-99" not in codes for row_id, _school_id, codes in documents)
    assert {str(getattr(status, "value", status)) for status in read(
        lambda: db.session.scalars(select(EvidenceLink.status)).all())} == {"pending"}
    plans = read(lambda: db.session.execute(select(Plan.id, Plan.school_id, Plan.name, Plan.created_by_id)).all())
    assert (foreign_plan, other.id, "Kế hoạch") in [(plan_id, school, name) for plan_id, school, name, _by in plans]
    assert all(author in (None, staff.id) for *_rest, author in plans)
    assessments = read(lambda: db.session.execute(select(Assessment.school_id, Assessment.status)).all())
    assert all(str(getattr(status, "value", status)) != "approved" for _school, status in assessments)
    assert {school for school, _status in assessments} <= {own.id}


def test_a_client_not_signed_in_may_send_no_large_body(app, build, client):
    """Only signed-in people upload: a stranger's large body (which a slow client could
    trickle in to hold a server thread) is refused before it is read."""
    large = "x" * (70 * 1024)
    assert client.post("/login", data={"email": "khach@truong.edu.vn", "password": large}).status_code == 413
    refused = client.http.post("/api/v1/auth/token", json={"email": "khach@truong.edu.vn", "password": large})
    assert refused.status_code == 413 and refused.get_json()["error"]["code"] == "too_large"

    school = build.school()
    token = build.token(build.user(Role.STAFF, school=school))
    photo = io.BytesIO()
    Image.frombytes("RGB", (200, 200), random.randbytes(200 * 200 * 3)).save(photo, "PNG")  # noise: ~120 KB
    assert photo.tell() > 70 * 1024
    signed_in = client.http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(token),
                                 data={"title": "Ảnh lớp học", "doc_type": "photo",
                                       "file": [(io.BytesIO(photo.getvalue()), "anh.png")]},
                                 content_type="multipart/form-data")
    assert signed_in.status_code == 201, signed_in.get_json()
