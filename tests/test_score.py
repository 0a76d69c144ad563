"""The live score: facts counted from the inventory in the database, the score API and
page, the demo school's figures, and the framework command."""

from __future__ import annotations

import html
import os
import re

import pytest
from sqlalchemy import select

from app import demo
from app.accounts.models import Role
from app.extensions import db
from app.framework.services import framework
from app.inventory.facts import school_facts
from app.inventory.models import Equipment, Room
from app.schools.models import School
from app.schools.years import calendar_school_year
from tests.builders import bearer


def facts_of(read, school):
    return read(lambda: school_facts(db.session.get(School, school.id), framework()))


def test_equipped_classrooms_need_internet_and_working_projection(build, read):
    school = build.school()
    rooms = build.records("rooms", school, [
        {"name": "1A", "kind": "classroom", "internet": True},   # working TV: equipped
        {"name": "1B", "kind": "classroom", "internet": True},   # broken projector only: not equipped
        {"name": "1C", "kind": "classroom", "internet": False},  # TV but no Internet: not equipped
        {"name": "1D", "kind": "classroom", "internet": True},   # nothing: not equipped
        {"name": "Hội trường", "kind": "multipurpose", "internet": True},  # not a classroom
    ])
    room = {r.name: r.id for r in rooms}
    build.records("equipment", school, [
        {"kind": "tv", "name": "TV", "room_id": room["1A"]},
        {"kind": "tv", "name": "TV 2", "room_id": room["1A"]},
        {"kind": "projector", "name": "MC", "room_id": room["1B"], "status": "broken"},
        {"kind": "tv", "name": "TV", "room_id": room["1C"]},
        {"kind": "interactive_board", "name": "BTM", "room_id": room["Hội trường"]},
    ])
    counts = facts_of(read, school).counts
    assert (counts["classrooms"], counts["equipped_classrooms"]) == (4, 1)


def test_lab_computers_count_only_working_computers_in_a_computer_lab(build, read):
    school = build.school()
    lab, office, studio = build.records("rooms", school, [
        {"name": "Phòng Tin học", "kind": "computer_lab"}, {"name": "Văn phòng", "kind": "office"},
        {"name": "Studio", "kind": "studio"}])
    build.records("equipment", school, [
        *[{"kind": "desktop", "name": "PC", "room_id": lab.id}] * 3,
        {"kind": "laptop", "name": "LT", "room_id": lab.id},
        {"kind": "desktop", "name": "PC", "room_id": lab.id, "status": "broken"},
        {"kind": "desktop", "name": "PC", "room_id": lab.id, "status": "in_repair"},
        {"kind": "tablet", "name": "Tablet", "room_id": lab.id},
        {"kind": "desktop", "name": "PC", "room_id": office.id},
        {"kind": "desktop", "name": "PC"},
        {"kind": "camera", "name": "Camera", "room_id": studio.id},
    ])
    counts = facts_of(read, school).counts
    assert counts["lab_working_computers"] == 4
    assert counts["studio_rooms"] == 0  # a studio needs a working computer
    build.record("equipment", school, kind="laptop", name="LT", room_id=studio.id)
    assert facts_of(read, school).counts["studio_rooms"] == 1


def test_teacher_shares_and_approved_materials_are_counted(build, read):
    school = build.school(largest_class_size=38)
    build.records("staff", school, [
        {"full_name": "A", "position": "teacher", "training_account": True, "uses_teaching_software": True},
        {"full_name": "B", "position": "teacher", "builds_digital_materials": True},
        {"full_name": "C", "position": "teacher"},
        {"full_name": "D", "position": "manager", "training_account": True},
    ])
    build.records("materials", school, [
        {"title": "1", "approved_by_department": True, "approved_by_principal": True},
        {"title": "2", "approved_by_department": True},
        {"title": "3", "approved_by_principal": True},
    ])
    counts = facts_of(read, school).counts
    assert {key: counts[key] for key in ("teachers", "teachers_training_account", "teachers_using_software",
                                         "teachers_building_materials", "approved_materials",
                                         "largest_class_size")} == {
        "teachers": 3, "teachers_training_account": 1, "teachers_using_software": 1,
        "teachers_building_materials": 1, "approved_materials": 1, "largest_class_size": 38}


def test_software_counts_only_when_in_use_and_lms_functions_only_on_an_lms(build, read):
    school = build.school()
    build.records("software", school, [
        {"name": "Google Meet", "category": "teaching", "capabilities": ["online_teaching"]},
        {"name": "Zoom", "category": "teaching", "capabilities": ["online_teaching"], "status": "retired"},
        {"name": "Zalo", "category": "communication", "capabilities": ["lms_answer_questions"]},
        {"name": "K12Online", "category": "teaching", "capabilities": ["lms", "lms_assign_self_study"]},
        {"name": "Phần mềm thi", "category": "teaching", "capabilities": ["computer_based_testing"],
         "status": "planned"},
    ])
    facts = facts_of(read, school)
    assert facts.software[("online_teaching", None)] == ["Google Meet"]
    assert facts.software[("lms_assign_self_study", "lms")] == ["K12Online"]
    assert facts.software[("lms_answer_questions", "lms")] == []
    assert facts.software[("computer_based_testing", None)] == []


@pytest.fixture()
def demo_school(app, read):
    """The demo data set (Trường Tiểu học Chu Văn An and its inventory)."""
    with app.test_request_context():
        demo.load()
    return read(lambda: db.session.scalar(db.select(School).where(School.code == "THCVA")))


def test_demo_school_scores_as_its_plan_with_its_evidence(app, build, demo_school):
    token = build.token(build.user(Role.REVIEWER, school=demo_school))
    body = app.test_client().get(f"/api/v1/schools/{demo_school.id}/score", headers=bearer(token)).get_json()
    assert body["framework"] == "qd4725-2022" and body["year"] == calendar_school_year()
    groups = {group["code"]: group for group in body["groups"]}
    criteria = {criterion["code"]: criterion for criterion in body["criteria"]}
    assert (groups["1"]["points"], groups["1"]["max"], groups["1"]["level"]) == (32, 100, 1)
    assert groups["1"]["mandatory_met"] is True and groups["2"]["mandatory_met"] is True
    assert {code: (criteria[code]["points"], criteria[code]["level"])
            for code in ("1.3", "1.4", "1.5", "1.6", "1.7", "2.3", "2.4")} == {
        "1.3": (6, 1), "1.4": (0, 0), "1.5": (0, 0), "1.6": (16, 3), "1.7": (10, 2),
        "2.3": (50, 2), "2.4": (8, 1)}  # 2.3.a: the regulation's decision, linked, awaiting review
    assert (groups["2"]["points"], groups["2"]["level"]) == (58, 2)
    assert criteria["2.3"]["evidenced_points"] == 0 and criteria["1.3"]["evidenced_points"] == 0
    items = {item["code"]: item for item in criteria["1.7"]["items"]}
    assert items["1.7.a"]["points"] == 5 and "8/15" in items["1.7.a"]["basis"]
    assert items["1.7.b"]["points"] == 5 and "21" in items["1.7.b"]["basis"]
    assert criteria["1.1"] == {**criteria["1.1"], "mandatory": True, "met": True}
    assert "Google Meet" in {item["code"]: item for item in criteria["1.3"]["items"]}["1.3.a"]["basis"]


def test_score_of_another_year_is_not_found_until_sealed_and_bad_years_are_refused(app, build):
    school = build.school()
    token = build.token(build.user(Role.STAFF, school=school))
    http = app.test_client()
    assert http.get(f"/api/v1/schools/{school.id}/score?year=2019-2020", headers=bearer(token)).status_code == 404
    bad = http.get(f"/api/v1/schools/{school.id}/score?year=2022", headers=bearer(token))
    assert bad.status_code == 400 and "year" in bad.get_json()["error"]["fields"]
    current = http.get(f"/api/v1/schools/{school.id}/score?year={calendar_school_year()}", headers=bearer(token))
    assert current.status_code == 200


def test_saving_a_room_and_a_projector_changes_the_score_on_the_next_page(client, build, read):
    school = build.school()
    build.records("rooms", school, [{"name": f"Phòng học {n}", "kind": "classroom"} for n in range(1, 5)])
    client.login(build.user(Role.STAFF, school=school).email)
    page = client.get(f"/schools/{school.id}/rooms").get_data(as_text=True)
    assert 'data-testid="criterion-1.7-points">0<' in page

    response = client.post(f"/schools/{school.id}/rooms/new", {
        "name": "Phòng học 5", "kind": "classroom", "internet": "y"}, follow_redirects=True)
    said = flashed(response)
    # A connected classroom without a projector scores nothing yet: the page says so, and what would.
    assert said.startswith("Đã lưu. Điểm không thay đổi. Bước tiếp theo: 1.7.") and said.endswith(" điểm)"), said
    room_id = read(lambda: db.session.scalar(select(Room.id).where(Room.name == "Phòng học 5")))
    response = client.post(f"/schools/{school.id}/equipment/new", {
        "kind": "projector", "name": "Máy chiếu", "status": "in_use", "room_id": str(room_id)},
        follow_redirects=True)
    page = response.get_data(as_text=True)
    # 1 of 5 classrooms equipped (20%) → 5 points for 1.7.a
    assert 'data-testid="criterion-1.7-points">5<' in page
    assert 'data-testid="group-1-points"><strong>5</strong>' in page
    assert flashed(response) == "Đã lưu. Điểm: 1.7: 0 → 5 (+5) · Nhóm 1: 0 → 5 (+5)"
    response = client.post(f"/schools/{school.id}/equipment/bulk", {
        "ids": read(lambda: str(db.session.scalar(select(Equipment.id)))), "status": "broken"}, follow_redirects=True)
    assert flashed(response) == "Đã cập nhật 1 thiết bị. Điểm: 1.7: 5 → 0 (−5) · Nhóm 1: 5 → 0 (−5)"


def flashed(response) -> str:
    """The text of the message a page shows after a save."""
    found = re.search(r'<div class="alert alert-success[^>]*>(.*?)<button', response.get_data(as_text=True), re.S)
    return " ".join(html.unescape(found.group(1)).split()) if found else ""


def test_scorecard_page_shows_every_criterion_with_its_basis_and_next_level(client, build, demo_school):
    client.login(build.user(Role.PRINCIPAL, school=demo_school).email)
    page = client.get(f"/schools/{demo_school.id}/score").get_data(as_text=True)
    for code in ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1", "2.2", "2.3", "2.4"):
        assert f'data-testid="criterion-{code}"' in page
    assert "8/15" in page and "Google Meet" in page
    standing = page.split('data-testid="group-1-status">', 1)[1].split("</div>", 1)[0]
    assert "Mức 1 · chưa đáp ứng" in standing
    assert "còn thiếu" not in standing  # the demo's evidence meets 1.1 and 1.2


def test_district_officer_sees_the_score_of_a_school_of_their_district_only(client, build):
    mine, other = build.school(district="Đắk Song"), build.school(district="Krông Nô")
    client.login(build.user(Role.DISTRICT, district=mine.district).email)
    assert client.get(f"/schools/{mine.id}/score").status_code == 200
    assert client.get(f"/schools/{other.id}/score").status_code == 404


def test_framework_command_checks_lists_and_loads_index_files(app, tmp_path):
    from app.framework.loader import BUILTIN_DIR

    runner = app.test_cli_runner()
    shipped = next(BUILTIN_DIR.glob("*.yaml"))
    checked = runner.invoke(args=["framework", "check", str(shipped)])
    assert checked.exit_code == 0 and "qd4725-2022" in checked.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(shipped.read_text(encoding="utf-8").replace("max: 30", "max: 31", 1), encoding="utf-8")
    refused = runner.invoke(args=["framework", "check", str(broken)])
    assert refused.exit_code != 0 and "line" in refused.output
    listed = runner.invoke(args=["framework", "list"])
    assert listed.exit_code == 0 and "* qd4725-2022" in listed.output and "built in" in listed.output


def test_a_loaded_index_file_replaces_the_built_in_one(app, build, read, tmp_path):
    from app.framework.loader import BUILTIN_DIR

    school = build.school()
    token = build.token(build.user(Role.STAFF, school=school))
    http = app.test_client()
    before = http.get(f"/api/v1/schools/{school.id}/score", headers=bearer(token)).get_json()
    assert before["groups"][0]["mandatory_met"] is False

    province_copy = tmp_path / "qd4725-tinh.yaml"
    text = next(BUILTIN_DIR.glob("*.yaml")).read_text(encoding="utf-8")
    province_copy.write_text(text.replace("value: withhold_level", "value: ignore", 1), encoding="utf-8")
    loaded = app.test_cli_runner().invoke(args=["framework", "load", str(province_copy)])
    assert loaded.exit_code == 0, loaded.output
    listed = app.test_cli_runner().invoke(args=["framework", "list"])
    assert "loaded" in listed.output
    after = http.get(f"/api/v1/schools/{school.id}/score", headers=bearer(token)).get_json()
    assert after["groups"][0]["status_label"] != before["groups"][0]["status_label"]


def test_a_built_in_index_file_replaced_in_place_scores_again(app, build, tmp_path, monkeypatch):
    """A release that swaps the index file without restarting: no score of the old file
    is handed out (nor sealed) with the new one."""
    from app.framework import services
    from app.framework.loader import BUILTIN_DIR

    shipped = next(BUILTIN_DIR.glob("*.yaml"))
    copy = tmp_path / shipped.name
    copy.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(services, "BUILTIN_DIR", tmp_path)
    school = build.school()
    token = build.token(build.user(Role.STAFF, school=school))
    http = app.test_client()
    before = http.get(f"/api/v1/schools/{school.id}/score", headers=bearer(token)).get_json()

    copy.write_text(copy.read_text(encoding="utf-8").replace("value: withhold_level", "value: ignore", 1),
                    encoding="utf-8")
    os.utime(copy, (copy.stat().st_atime, copy.stat().st_mtime + 60))
    after = http.get(f"/api/v1/schools/{school.id}/score", headers=bearer(token)).get_json()

    assert after["groups"][0]["status_label"] != before["groups"][0]["status_label"]


def test_the_score_follows_every_change_it_reads(app, build):
    """Scores are reused between requests; each of these changes must still show at once."""
    school = build.school(largest_class_size=30)
    token = build.token(build.user(Role.PRINCIPAL, school=school))
    http = app.test_client()

    def item(code: str) -> int:
        body = http.get(f"/api/v1/schools/{school.id}/score", headers=bearer(token)).get_json()
        criterion = next(c for c in body["criteria"] if c["code"] == code[:3])
        return next(i for i in criterion["items"] if i["code"] == code)["points"]

    base = f"/api/v1/schools/{school.id}"
    lab = http.post(f"{base}/rooms", headers=bearer(token), json={"name": "Phòng Tin học", "kind": "computer_lab"})
    computers = http.post(f"{base}/equipment", headers=bearer(token),
                          json=[{"kind": "desktop", "name": "PC", "room_id": lab.get_json()["id"]}] * 10).get_json()
    assert item("1.7.b") == 5  # 30 pupils / 10 working computers = 3 per computer → Mức 2
    http.patch(base, headers=bearer(token), json={"largest_class_size": 10})
    assert item("1.7.b") == 7  # 1 pupil per computer → Mức 3
    http.patch(f"{base}/equipment/{computers[0]['id']}", headers=bearer(token), json={"status": "broken"})
    assert item("1.7.b") == 5  # 10 / 9 → Mức 2
    meet = http.post(f"{base}/software", headers=bearer(token), json={"name": "Meet", "category": "teaching"})
    assert item("1.3.a") == 0
    http.patch(f"{base}/software/{meet.get_json()['id']}", headers=bearer(token),
               json={"capabilities": ["online_teaching"]})
    assert item("1.3.a") == 6
    http.delete(f"{base}/software/{meet.get_json()['id']}", headers=bearer(token))
    assert item("1.3.a") == 0


@pytest.mark.real_commits
def test_the_embedded_database_serves_the_score_while_a_long_write_holds_it(live_portal):
    """On SQLite, a page or API read must not wait for a writer (an import, say) to finish."""
    import json
    import sqlite3
    import urllib.request

    from app.accounts import services as accounts

    with live_portal.app.test_request_context():
        school = db.session.scalar(select(School).where(School.code == demo.SCHOOLS[0]["code"]))
        user = accounts.create_user(None, email="doc@chuvanan.edu.vn", full_name="Người Đọc",
                                    password="chi-doc-diem-so", role=Role.REVIEWER, school=school)
        token = accounts.issue_token(user, "read")[1]
        school_id = school.id
    request = urllib.request.Request(f"{live_portal.url}/api/v1/schools/{school_id}/score",
                                     headers={"Authorization": f"Bearer {token}"})
    before = json.load(urllib.request.urlopen(request, timeout=30))  # also records the token's first use

    writer = sqlite3.connect(live_portal.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    writer.isolation_level = None
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE schools SET name = name || ' (đang nhập)' WHERE id = ?", (school_id,))
    try:
        during = json.load(urllib.request.urlopen(request, timeout=30))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert during["groups"] == before["groups"]
