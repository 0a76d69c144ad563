"""The planner page shows what services.whatif projects for the changes of its form,
impossible changes beside their field, and a cheapest path that fills the form; the
unit prices page and API: who sets which prices, what they change, what is refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditEvent
from app.extensions import db
from app.planner import services
from app.planner.models import UnitPrice
from app.schools.models import School
from tests.builders import bearer


def _signed_in(build, make_client, role, school=None, district=None):
    person = build.user(role, school=school, district=district)
    client = make_client()
    client.login(person.email)
    return client, person


def _whatif(app, school, changes):
    with app.test_request_context():
        return services.whatif(db.session.get(School, school.id), changes)


def test_the_page_projects_what_whatif_projects(app, build, make_client, small_school):
    client, _ = _signed_in(build, make_client, "principal", small_school)
    page = client.get(f"/schools/{small_school.id}/planner?repair_equipment=1&equip_classrooms=1&evidence=1.1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    expected = _whatif(app, small_school, [{"kind": "repair_equipment", "count": 1},
                                          {"kind": "equip_classrooms", "count": 1},
                                          {"kind": "add_evidence", "criterion": "1.1"}])
    for group in expected["projected"]["groups"]:
        shown = re.search(rf'data-testid="projected-{group["code"]}-points">([^<]+)<', html).group(1)
        assert shown == str(group["points"])
    assert re.search(r'data-testid="total-cost">([^<]+)<', html).group(1) == "15.500.000 ₫"
    assert expected["cost_vnd"] == 15_500_000
    assert "Sửa “TV 1A”" in html  # the action names the record it touches
    assert 'data-changed="1" data-testid="row-1.7"' in html  # classrooms equipped: 1.7 changed


def test_an_impossible_change_is_shown_beside_its_field(build, make_client, small_school):
    client, _ = _signed_in(build, make_client, "staff", small_school)
    page = client.get(f"/schools/{small_school.id}/planner?repair_equipment=3&add_lab_computers=abc")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'data-testid="error-add_lab_computers">[^<]*số nguyên', html)
    assert re.search(r'data-testid="error-repair_equipment">Không thể sửa 3 thiết bị', html)
    assert 'data-testid="total-cost"' not in html


def test_the_cheapest_path_fills_the_form_and_reaches_its_level(app, build, make_client, small_school):
    client, _ = _signed_in(build, make_client, "principal", small_school)
    html = client.get(f"/schools/{small_school.id}/planner").get_data(as_text=True)
    link = re.search(r'data-testid="use-path-1-2"\s+href="([^"]+)"', html).group(1).replace("&amp;", "&")
    filled = client.get(link).get_data(as_text=True)
    points = re.search(r'data-testid="projected-1-points">([^<]+)<', filled).group(1)
    with app.test_request_context():
        path = services.next_level(db.session.get(School, small_school.id), "1")
    assert path["to_level"] == 2
    assert points == str(next(group for group in path["projected"]["groups"] if group["code"] == "1")["points"])
    assert re.search(r'data-testid="total-cost">([^<]+)<', filled).group(1).replace(".", "").startswith(
        str(path["cost_vnd"]))


def test_a_group_at_the_top_level_says_so(build, make_client):
    school = build.school()
    build.records("software", school, [{"name": "SMAS", "category": "management", "capabilities": [
        "student_records", "e_gradebook", "e_transcript", "staff_records", "facility_management", "school_health",
        "accounting", "sector_database_sync", "parent_connection", "online_admission", "cashless_payment"]}])
    client, _ = _signed_in(build, make_client, "reviewer", school)
    html = client.get(f"/schools/{school.id}/planner").get_data(as_text=True)
    assert 'data-testid="path-2-top"' in html and "Mức 3" in html


# --- unit prices ----------------------------------------------------------------------

def test_a_district_price_costs_that_districts_schools_only(app, build, small_school):
    elsewhere = build.school(district="Cư Jút", largest_class_size=30)
    build.records("equipment", elsewhere, [{"kind": "tv", "name": "TV", "status": "broken"}])
    officer = build.token(build.user("district", district=small_school.district))
    admin = build.token(build.user("admin"))
    client = app.test_client()
    repair = [{"kind": "repair_equipment", "count": 1}]
    assert _whatif(app, small_school, repair)["cost_vnd"] == 2_000_000
    answer = client.put("/api/v1/unit-prices", headers=bearer(officer), json={"prices": {"repair": 2_500_000}})
    assert answer.status_code == 200, answer.json
    assert (answer.json["repair"], answer.json["set_by"]["repair"]) == (2_500_000, "district")
    assert _whatif(app, small_school, repair)["cost_vnd"] == 2_500_000
    assert _whatif(app, elsewhere, repair)["cost_vnd"] == 2_000_000
    # The admin's portal-wide price applies elsewhere; the district's own still wins at home.
    assert client.put("/api/v1/unit-prices", headers=bearer(admin),
                      json={"prices": {"repair": 1_800_000}}).status_code == 200
    assert _whatif(app, elsewhere, repair)["cost_vnd"] == 1_800_000
    assert _whatif(app, small_school, repair)["cost_vnd"] == 2_500_000
    # Back to the inherited price.
    client.put("/api/v1/unit-prices", headers=bearer(officer), json={"prices": {"repair": None}})
    assert _whatif(app, small_school, repair)["cost_vnd"] == 1_800_000
    with app.test_request_context():
        entries = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "unit_prices.changed")
                                     .order_by(AuditEvent.id)).all()
        assert [entry.details["changes"]["repair"] for entry in entries] == [
            [None, 2_500_000], [None, 1_800_000], [2_500_000, None]]


def test_the_next_level_is_ranked_with_the_schools_prices(app, build, small_school):
    officer = build.token(build.user("district", district=small_school.district))
    app.test_client().put("/api/v1/unit-prices", headers=bearer(officer), json={"prices": {"projector": 0,
                                                                                         "classroom_internet": 0}})
    with app.test_request_context():
        path = services.next_level(db.session.get(School, small_school.id), "1")
    assert all(action["cost_vnd"] == 0 for action in path["actions"] if "projector" in action.get("priced_as", ()))


@pytest.mark.parametrize("amount", [-1, 10**12 + 1, "1e9", "１２３", "", 1.5, True, "12 000 0"])
def test_bad_amounts_are_refused_naming_the_price(app, build, amount):
    admin = build.token(build.user("admin"))
    answer = app.test_client().put("/api/v1/unit-prices", headers=bearer(admin),
                                   json={"prices": {"projector": amount}})
    assert answer.status_code == 400
    assert list(answer.json["error"]["fields"]) == ["projector"]


def test_the_unit_prices_page_saves_what_changed_and_shows_messages(app, build, make_client, small_school):
    client, officer = _signed_in(build, make_client, "district", district=small_school.district)
    page = client.get("/unit-prices").get_data(as_text=True)
    assert 'name="projector" value="12.000.000"' in page
    form = dict(re.findall(r'name="((?:capability:)?[a-z_]+)" value="([0-9.]+)"', page))
    assert "capability:lms" in form and "csrf_token" not in form
    answer = client.post("/unit-prices", {**form, "projector": "１２３", "repair": ""})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'data-testid="error-projector"' in html and 'data-testid="error-repair"' in html
    assert client.post("/unit-prices", {**form, "projector": "9.500.000"}).status_code == 302
    prices = app.test_client().get("/api/v1/unit-prices", headers=bearer(build.token(officer))).json
    assert prices["projector"] == 9_500_000
    assert {key for key, scope in prices["set_by"].items() if scope == "district"} == {"projector"}
    assert client.post("/unit-prices", {**form, "reset": "projector"}).status_code == 302
    assert app.test_client().get("/api/v1/unit-prices", headers=bearer(build.token(officer))).json["projector"] == \
        12_000_000


def test_a_district_officer_reads_only_their_districts_prices(app, build, small_school):
    officer = build.token(build.user("district", district=small_school.district))
    other = build.school(district="Cư Jút")
    client = app.test_client()
    assert client.get(f"/api/v1/unit-prices?district_id={other.district_id}",
                      headers=bearer(officer)).status_code == 404
    assert client.get(f"/api/v1/unit-prices?district_id={small_school.district_id}",
                      headers=bearer(officer)).status_code == 200


def test_the_database_keeps_one_portal_wide_price_per_key(app):
    """Two admins saving the same new price at once: the second insert is refused by the
    database, not stored twice (a unique constraint lets NULL district ids repeat)."""
    with app.test_request_context():
        db.session.add_all([UnitPrice(district_id=None, key="projector", amount_vnd=9_000_000),
                            UnitPrice(district_id=None, key="projector", amount_vnd=9_500_000)])
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
