"""The district's pages: its schools side by side (heat map, level distribution,
filters, late submissions), the table the Phòng sends to the Sở, the cross-checks, and
the admin's view of a province — within the officer's district only."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from app import clock
from app.accounts.models import Role
from app.assessments.models import SealedResult
from app.extensions import db
from app.schools.models import School
from tests import files
from tests.builders import bearer
from tests.test_assessments import Api, _ready

DISTRICT = "Krông Nô"


@pytest.fixture()
def district(build, make_client):
    """Three schools of one district (one THCS), one school elsewhere, and signed-in
    clients for the district's officer, another district's officer and the admin."""
    schools = {
        "A": build.school(code="KNA", name="Trường Tiểu học Đinh Tiên Hoàng", district=DISTRICT),
        "B": build.school(code="KNB", name="Trường Tiểu học Lê Lợi", district=DISTRICT),
        "C": build.school(code="KNC", name="Trường THCS Nguyễn Du", district=DISTRICT, level="thcs"),
        "elsewhere": build.school(code="CJA", name="Trường Tiểu học Cư Jút", district="Cư Jút"),
    }
    room = build.record("rooms", schools["A"], name="6A", kind="classroom", internet=True)
    build.record("equipment", schools["A"], kind="projector", name="Máy chiếu", status="in_use", room_id=room.id)
    clients, tokens = {}, {}
    for name, user in (("officer", build.user(Role.DISTRICT, district=schools["A"].district)),
                       ("other", build.user(Role.DISTRICT, district=schools["elsewhere"].district)),
                       ("admin", build.user(Role.ADMIN)),
                       ("principal", build.user(Role.PRINCIPAL, school=schools["A"]))):
        clients[name] = make_client()
        clients[name].login(user.email)
        tokens[name] = bearer(build.token(user))
    return schools, clients, tokens


def _rows(page: str) -> list[str]:
    return re.findall(r'data-testid="school-row-([A-Z]+)"', page)


def test_the_officer_sees_the_districts_schools_side_by_side_and_no_other(district):
    schools, clients, tokens = district
    url = f"/districts/{schools['A'].district_id}"
    page = clients["officer"].get(url).get_data(as_text=True)
    assert _rows(page) == ["KNC", "KNA", "KNB"]  # in Vietnamese order: THCS …, Tiểu học Đinh …, Tiểu học Lê …
    row = page.split('data-testid="school-row-KNA"')[1].split("</tr>")[0]
    assert re.search(r'criterion-1\.7">\s*8', row)  # the projector in a connected classroom
    assert 'class="heat heat-' in row
    assert 'data-testid="summary-schools">3<' in page
    assert "<svg" in page and "chart-distribution" in page  # the level distribution
    # Another district's officer, a school's principal: not their district.
    assert clients["other"].get(url).status_code == 404
    assert clients["principal"].get(url).status_code == 404  # outside their reach
    assert clients["officer"].get(f"/districts/{schools['elsewhere'].district_id}").status_code == 404
    assert _rows(clients["admin"].get(url).get_data(as_text=True)) == ["KNC", "KNA", "KNB"]


def test_filters_narrow_the_table_by_level_status_and_name_without_diacritics(district):
    schools, clients, tokens = district
    url = f"/districts/{schools['A'].district_id}"
    officer = clients["officer"]
    assert _rows(officer.get(f"{url}?level=thcs").get_data(as_text=True)) == ["KNC"]
    assert _rows(officer.get(f"{url}?q=dinh+tien").get_data(as_text=True)) == ["KNA"]
    assert _rows(officer.get(f"{url}?status=approved").get_data(as_text=True)) == []
    assert len(_rows(officer.get(f"{url}?status=draft").get_data(as_text=True))) == 3
    # Values that are not choices are ignored, never an error.
    for query in ("?level=x", "?status=approvedx", "?year=2026-2099", "?year=２０２６-２０２７", "?page=-5"):
        answer = officer.get(url + query)
        assert answer.status_code == 200, query
        assert len(_rows(answer.get_data(as_text=True))) == 3, query
    long = officer.get(url + "?q=" + "ầ" * 500)
    assert long.status_code == 200 and 'data-testid="district-empty"' in long.get_data(as_text=True)


def test_the_table_shows_the_approved_result_its_day_and_who_is_late(app, district, build):
    schools, clients, tokens = district
    school = schools["B"]
    api = Api(app, school, {role: build.token(build.user(role, school=school))
                            for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)})
    _ready(api)
    api.act(Role.STAFF, "start-review")
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200
    api.add(Role.STAFF, "rooms", name="7A", kind="classroom", internet=True)  # after approval: not counted
    url = f"/districts/{school.district_id}"
    due = clock.today() - timedelta(days=1)
    deadlines = {"submit_to_district": due.strftime("%m-%d"), "sector_database": "05-31"}
    saved = app.config["DEADLINES"]
    app.config["DEADLINES"] = deadlines
    try:
        page = clients["officer"].get(f"{url}?year={school.school_year}").get_data(as_text=True)
    finally:
        app.config["DEADLINES"] = saved
    row = page.split('data-testid="school-row-KNB"')[1].split("</tr>")[0]
    assert "assessment-status-approved" in row and clock.today().strftime("%d/%m/%Y") in row
    late_rows = re.findall(r'data-testid="school-row-([A-Z]+)".*?</tr>', page, re.S)
    assert 'data-testid="summary-sealed">1<' in page
    assert "status=approved" in page.split('data-testid="awaiting-evaluation"')[0].rsplit("<a", 1)[1]
    if due.strftime("%m-%d") >= "08-01" or clock.today().month < 8:  # the due day falls in this school year
        assert 'data-testid="late"' in row  # approved today, due yesterday
        assert 'data-testid="summary-late">' in page and len(late_rows) == 3


def test_the_export_is_the_offices_table_for_the_provincial_department(district):
    schools, clients, tokens = district
    answer = clients["officer"].get(f"/districts/{schools['A'].district_id}/export.xlsx?level=tieu_hoc")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in answer.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(answer.data)).active
    cells = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    text = "\n".join(" | ".join(str(cell) for cell in row if cell is not None) for row in cells)
    assert "UBND HUYỆN KRÔNG NÔ" in text and "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO" in text
    assert "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ" in text and "TRƯỞNG PHÒNG" in text
    school_rows = [row for row in cells if isinstance(row[0], int)]
    assert [row[1] for row in school_rows] == ["Trường Tiểu học Đinh Tiên Hoàng (Tiểu học)",
                                               "Trường Tiểu học Lê Lợi (Tiểu học)"]  # THCS filtered out
    header = next(row for row in cells if "1.7" in row)
    assert school_rows[0][header.index("1.7")] == 8
    assert "Số liệu hiện tại, trường chưa phê duyệt" in school_rows[0][-1]
    assert any(row[1] == "Số trường" and row[2] == 2 for row in cells)
    assert "Mức chung" not in text  # the index defines no overall level of a school
    assert clients["other"].get(f"/districts/{schools['A'].district_id}/export.xlsx").status_code == 404


def test_the_admin_sees_each_province_by_district(district, build):
    schools, clients, tokens = district
    page = clients["admin"].get("/provinces").get_data(as_text=True)
    assert "/provinces/%C4%90%E1%BA%AFk%20N%C3%B4ng" in page
    summary = clients["admin"].get("/provinces/Đắk Nông").get_data(as_text=True)
    card = summary.split(f'data-testid="district-{schools["A"].district_id}"')[1].split("</section>")[0]
    assert "3 trường" in card or "3 schools" in card
    assert clients["admin"].get("/provinces/Nowhere").status_code == 404
    assert clients["officer"].get("/provinces").status_code == 403
    assert clients["officer"].get("/provinces/Đắk Nông").status_code == 403


def test_cross_checks_flag_what_deserves_a_look(app, district, build, read):
    schools, clients, tokens = district
    apis = {}
    for key in ("A", "B"):
        apis[key] = Api(app, schools[key], {role: build.token(build.user(role, school=schools[key]))
                                            for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)})
    photo = files.png()
    shared = [apis[key].upload(Role.STAFF, ["1.3"], name="anh-lop-hoc.png", content=photo, doc_type="photo")
              for key in ("A", "B")]
    decision = files.pdf("qd-phong.pdf")  # the district's own decision, in every school: expected
    sent = [apis[key].upload(Role.STAFF, ["1.1"], name="qd-phong.pdf", content=decision, doc_type="decision")
            for key in ("A", "B")]
    # B: an LMS scored, the year approved, then the LMS retired.
    api = apis["B"]
    _ready(api)
    lms = api.add(Role.STAFF, "software", name="LMS", category="teaching", acquisition="rented", status="in_use",
                  capabilities=["lms", "lms_assign_self_study"])
    later = (clock.today() + timedelta(days=20)).isoformat()
    dated = api.upload(Role.STAFF, ["2.1"], name="bien-ban.pdf", doc_type="minutes", issued_on=later)
    for document, code in ((dated, "2.1"), (shared[1], "1.3"), (sent[1], "1.1")):
        assert api.review(Role.REVIEWER, document["id"], code, "accepted").status_code == 200
    api.act(Role.STAFF, "start-review")
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200
    retired = api.http.patch(f"{api.base}/software/{lms['id']}", headers=bearer(api.tokens[Role.STAFF]),
                             json={"status": "retired", "version": lms["version"]})
    assert retired.status_code == 200, retired.get_json()

    answer = clients["officer"].get(f"/api/v1/districts/{schools['A'].district_id}/flags?year="
                                    f"{schools['B'].school_year}", headers=tokens["officer"])
    assert answer.status_code == 200, answer.get_json()
    found = {}
    for flag in answer.get_json():
        found.setdefault(flag["kind"], []).append(flag)
    [same] = found["same_file"]  # the photo; not the decision
    assert {school["code"] for school in same["schools"]} == {"KNA", "KNB"}
    assert {record["id"] for record in same["records"]} == {document["id"] for document in shared}
    [software] = found["capability_without_software"]
    assert software["schools"][0]["code"] == "KNB"
    assert {record["code"] for record in software["records"]} == {"1.3.b"}
    [after] = found["evidence_after_submission"]
    assert [record["id"] for record in after["records"]] == [dated["id"]]
    page = clients["officer"].get(f"/districts/{schools['A'].district_id}/flags").get_data(as_text=True)
    assert "bien-ban.pdf" in page and 'data-testid="flags-same_file"' in page
    assert clients["other"].get(f"/api/v1/districts/{schools['A'].district_id}/flags",
                                headers=tokens["other"]).status_code == 404


def test_points_up_on_last_years_result_without_an_inventory_change_are_flagged(app, district, build, read):
    schools, clients, tokens = district
    school = schools["C"]
    with app.test_request_context():
        db.session.get(School, school.id).school_year = "2025-2026"
        db.session.commit()
    principal = build.user(Role.PRINCIPAL, school=school)
    people = {role: build.token(build.user(role, school=school)) for role in (Role.STAFF, Role.REVIEWER)}
    people[Role.PRINCIPAL] = build.token(principal)
    people["district"] = build.token(build.user(Role.DISTRICT, district=school.district))
    api = Api(app, school, people)
    api.year = "2025-2026"
    _ready(api)  # a projector in a connected classroom: 1.7.a full points
    api.act(Role.STAFF, "start-review")
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200
    # The district found the projector broken and gave 1.7.a 2 points.
    assert api.act("district", "evaluate", items=[{"code": "1.7.a", "points": 2, "reason": "Máy chiếu hỏng"}]
                   ).status_code == 200
    assert api.act("district", "recognise").status_code == 200
    with app.test_request_context():  # the principal starts 2026-2027, carrying no document
        from app.accounts.models import User
        from app.assessments.services import start_year

        start_year(db.session.get(User, principal.id), db.session.get(School, school.id), [])
    flags_url = f"/api/v1/districts/{school.district_id}/flags?year=2026-2027"

    def rises():
        return [flag for flag in clients["officer"].get(flags_url, headers=tokens["officer"]).get_json()
                if flag["kind"] == "points_without_change"]
    [flag] = rises()  # the new year claims 1.7 in full again with the same inventory
    assert flag["schools"][0]["code"] == "KNC"
    assert {"type": "criterion", "code": "1.7", "before": 2, "after": 8} in flag["records"]
    api.add(Role.STAFF, "equipment", kind="projector", name="Máy chiếu mới", status="in_use")
    assert rises() == []  # the inventory changed: the rise has a reason to look at, not a flag
    seal = read(lambda: db.session.scalar(select(SealedResult).where(SealedResult.school_id == school.id)))
    assert seal.school_year == "2025-2026"


def test_the_officer_drills_down_to_a_schools_assessment_without_links_they_cannot_use(district):
    schools, clients, tokens = district
    school = schools["B"]  # no evidence: its mandatory conditions are unmet
    page = clients["officer"].get(f"/schools/{school.id}/assessments/{school.school_year}").get_data(as_text=True)
    assert "will not be recognised" in page or "không được công nhận" in page
    assert f"/schools/{school.id}/evidence/new" not in page  # an officer cannot upload
    staff_view = clients["principal"].get(f"/schools/{schools['A'].id}/assessments/{school.school_year}")
    assert f"/schools/{schools['A'].id}/evidence/new" in staff_view.get_data(as_text=True)


@pytest.fixture()
def server_on_utc(monkeypatch):
    """This process keeps UTC, as a server in a data centre often does."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_days_are_counted_in_viet_nam_on_a_server_that_keeps_utc(district, server_on_utc, make_client, build):
    """At 01:00 on 1 April in Viet Nam (still 31 March in UTC) the submission due on 31
    March has passed: the district sees its unsealed schools late, in its page and in
    the province summary."""
    schools, clients, tokens = district
    year = schools["A"].school_year
    officer = build.user(Role.DISTRICT, district=schools["A"].district)
    admin = build.user(Role.ADMIN)
    with time_machine.travel(datetime(int(year[5:]), 3, 31, 18, 0, tzinfo=UTC), tick=False):
        assert clock.today().isoformat() == f"{year[5:]}-04-01"
        browser, summary = make_client(), make_client()
        browser.login(officer.email)
        summary.login(admin.email)
        page = browser.get(f"/districts/{schools['A'].district_id}?year={year}").get_data(as_text=True)
        province = summary.get(f"/provinces/Đắk Nông?year={year}").get_data(as_text=True)
    late_rows = re.findall(r'data-testid="school-row-([A-Z]+)"(?:(?!</tr>).)*data-testid="late"', page, re.S)
    assert sorted(late_rows) == ["KNA", "KNB", "KNC"]
    card = province.split(f'data-testid="district-{schools["A"].district_id}"')[1].split("</section>")[0]
    assert "3 trễ hạn" in card or "3 late" in card
