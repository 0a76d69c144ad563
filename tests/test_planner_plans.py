"""Saved plans: saved, listed, opened (projected again from today's facts), changed,
compared, exported and deleted by the school's staff and principal; read by reviewers
and the school's district; another school's plan is not found."""

from __future__ import annotations

import io
import re

import openpyxl
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.inventory.models import Equipment, EquipmentStatus
from app.planner import services
from app.planner.models import Plan
from app.schools.models import School
from tests.builders import bearer

CHANGES = [{"kind": "repair_equipment", "count": 1}, {"kind": "equip_classrooms", "count": 1},
           {"kind": "add_evidence", "criterion": "1.1"}]


def test_a_plan_is_saved_opened_changed_and_deleted_through_the_api(app, build, small_school):
    token = build.token(build.user("principal", school=small_school))
    client = app.test_client()
    base = f"/api/v1/schools/{small_school.id}/planner/plans"
    created = client.post(base, headers=bearer(token), json={"name": " Trang bị 1B ", "changes": CHANGES})
    assert created.status_code == 201, created.json
    plan = created.json
    assert (plan["name"], plan["school_year"], plan["changes"]) == ("Trang bị 1B", small_school.school_year, CHANGES)
    assert client.get(base, headers=bearer(token)).json["total"] == 1
    opened = client.get(f"{base}/{plan['id']}", headers=bearer(token)).json
    assert opened["projection"]["cost_vnd"] == 15_500_000 and "computed_at" in opened["projection"]
    changed = client.put(f"{base}/{plan['id']}", headers=bearer(token),
                         json={"name": "Chỉ sửa TV", "changes": CHANGES[:1]})
    assert changed.status_code == 200 and changed.json["changes"] == CHANGES[:1]
    assert client.get(f"{base}/{plan['id']}", headers=bearer(token)).json["projection"]["cost_vnd"] == 2_000_000
    assert client.delete(f"{base}/{plan['id']}", headers=bearer(token)).status_code == 204
    assert client.get(f"{base}/{plan['id']}", headers=bearer(token)).status_code == 404
    with app.test_request_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("plan.%"))
                                     .order_by(AuditEvent.id)).all()
    assert actions == ["plan.created", "plan.updated", "plan.deleted"]


def test_an_impossible_or_unnamed_plan_is_refused(app, build, small_school):
    token = build.token(build.user("staff", school=small_school))
    base = f"/api/v1/schools/{small_school.id}/planner/plans"
    answer = app.test_client().post(base, headers=bearer(token), json={"name": "", "changes": [
        {"kind": "repair_equipment", "count": 5}]})
    assert answer.status_code == 400
    assert set(answer.json["error"]["fields"]) == {"name", "changes.0"}


def test_plans_are_scoped_to_their_school_and_district(app, build, small_school):
    other = build.school(district="Cư Jút")
    own_token = build.token(build.user("principal", school=small_school))
    other_token = build.token(build.user("principal", school=other))
    client = app.test_client()
    own = client.post(f"/api/v1/schools/{small_school.id}/planner/plans", headers=bearer(own_token),
                      json={"name": "A", "changes": CHANGES[:1]}).json
    theirs = client.post(f"/api/v1/schools/{other.id}/planner/plans", headers=bearer(other_token),
                         json={"name": "B", "changes": [{"kind": "build_studio"}]}).json
    # Another school's plan under this school's URL: not found, for reading and for deleting.
    assert client.get(f"/api/v1/schools/{small_school.id}/planner/plans/{theirs['id']}",
                      headers=bearer(own_token)).status_code == 404
    assert client.delete(f"/api/v1/schools/{small_school.id}/planner/plans/{theirs['id']}",
                         headers=bearer(own_token)).status_code == 404
    reviewer = build.token(build.user("reviewer", school=small_school))
    assert client.get(f"/api/v1/schools/{small_school.id}/planner/plans/{own['id']}",
                      headers=bearer(reviewer)).status_code == 200
    assert client.post(f"/api/v1/schools/{small_school.id}/planner/plans", headers=bearer(reviewer),
                       json={"name": "C", "changes": CHANGES[:1]}).status_code == 403
    officer = build.token(build.user("district", district=small_school.district))
    url = f"/api/v1/schools/{small_school.id}/planner/plans/{own['id']}"
    assert client.get(url, headers=bearer(officer)).status_code == 200
    assert client.put(url, headers=bearer(officer), json={"name": "D", "changes": CHANGES[:1]}).status_code == 403
    assert client.get(f"/api/v1/schools/{other.id}/planner/plans/{theirs['id']}",
                      headers=bearer(officer)).status_code == 404


def _signed_in(build, make_client, role, school):
    person = build.user(role, school=school)
    client = make_client()
    client.login(person.email)
    return client


def test_the_page_saves_a_plan_lists_compares_and_deletes_it(app, build, make_client, small_school):
    client = _signed_in(build, make_client, "principal", small_school)
    saved = client.post(f"/schools/{small_school.id}/planner/plans", {
        "name": "Trang bị phòng 1B", "repair_equipment": "1", "equip_classrooms": "1", "evidence": "1.1"})
    assert saved.status_code == 302
    with app.test_request_context():
        first = db.session.scalar(select(Plan).where(Plan.school_id == small_school.id))
        assert first.changes == CHANGES
        first_id = first.id
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="computed-today"' in page and "15.500.000 ₫" in page
    client.post(f"/schools/{small_school.id}/planner/plans", {"name": "Chỉ sửa TV", "repair_equipment": "1"})
    listing = client.get(f"/schools/{small_school.id}/planner/plans").get_data(as_text=True)
    ids = re.findall(r'name="plan" value="(\d+)"', listing)
    assert len(ids) == 2
    compared = client.get(f"/schools/{small_school.id}/planner/compare?plan={ids[0]}&plan={ids[1]}")
    html = compared.get_data(as_text=True)
    assert compared.status_code == 200
    assert "15.500.000 ₫" in html and "2.000.000 ₫" in html
    assert client.post(f"/schools/{small_school.id}/planner/plans/{first_id}/delete").status_code == 302
    with app.test_request_context():
        assert db.session.get(Plan, first_id) is None


def test_a_reviewer_sees_no_save_form_and_cannot_save(build, make_client, small_school):
    client = _signed_in(build, make_client, "reviewer", small_school)
    page = client.get(f"/schools/{small_school.id}/planner?repair_equipment=1").get_data(as_text=True)
    assert 'data-testid="save-plan"' not in page
    assert client.post(f"/schools/{small_school.id}/planner/plans",
                       {"name": "X", "repair_equipment": "1"}).status_code == 403


def test_the_export_lists_every_action_with_its_cost_and_the_total(app, build, make_client, small_school):
    token = build.token(build.user("principal", school=small_school))
    plan = app.test_client().post(f"/api/v1/schools/{small_school.id}/planner/plans", headers=bearer(token),
                                  json={"name": "Trang bị", "changes": CHANGES}).json
    client = _signed_in(build, make_client, "reviewer", small_school)
    answer = client.get(f"/schools/{small_school.id}/planner/plans/{plan['id']}/export.xlsx")
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).worksheets[0]
    rows = [row for row in sheet.iter_rows(min_row=4, values_only=True)]
    with app.test_request_context():
        expected = services.whatif(db.session.get(School, small_school.id), CHANGES)
    assert [row[2] for row in rows[:-1]] == [action["cost_vnd"] for action in expected["actions"]]
    assert all(row[1] for row in rows[:-1])
    assert rows[-1][2] == expected["cost_vnd"] == 15_500_000
    assert sheet.cell(4, 3).number_format.endswith('"₫"')


def test_a_plan_no_longer_possible_says_why(app, build, make_client, small_school):
    token = build.token(build.user("principal", school=small_school))
    plan = app.test_client().post(f"/api/v1/schools/{small_school.id}/planner/plans", headers=bearer(token),
                                  json={"name": "Sửa TV", "changes": CHANGES[:1]}).json
    with app.test_request_context():
        tv = db.session.scalar(select(Equipment).where(Equipment.school_id == small_school.id))
        tv.status = EquipmentStatus.IN_USE  # repaired meanwhile: nothing is broken any more
        db.session.commit()
    client = _signed_in(build, make_client, "principal", small_school)
    page = client.get(f"/schools/{small_school.id}/planner/plans/{plan['id']}").get_data(as_text=True)
    assert 'data-testid="plan-errors"' in page
