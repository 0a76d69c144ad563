"""The district's side: each school's score is stored as it changes, and the district's
schools are listed side by side from what is stored (sealed, evaluated or live), within
the officer's district only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.accounts.models import Role, User
from app.assessments import services as assessments
from app.assessments.models import AssessmentStatus
from app.districts import services as districts
from app.extensions import db
from app.framework.models import SchoolScore, group_figures
from app.framework.scores import live_scorecard
from app.schools.models import School, SchoolLevel
from tests.builders import bearer


def _stored(read, school):
    return read(lambda: db.session.get(SchoolScore, school.id))


def test_every_change_the_score_reads_stores_the_schools_score_in_the_same_transaction(app, build, read):
    school = build.school()
    room = build.record("rooms", school, name="6A", kind="classroom", internet=True)
    build.record("equipment", school, kind="tv", name="TV 6A", status="in_use", room_id=room.id)
    stored = _stored(read, school)
    live = read(lambda: live_scorecard(db.session.get(School, school.id)).to_dict())
    assert stored.score == live and stored.school_year == school.school_year
    assert stored.groups == group_figures(live) and stored.groups[0]["code"] == "1"
    assert stored.stamp == read(lambda: db.session.get(School, school.id).score_stamp)
    criterion = next(c for c in stored.score["criteria"] if c["code"] == "1.7")
    assert criterion["points"] == 8

    with app.test_request_context(method="POST"):  # a change rolled back stores nothing
        from app.inventory.models import Equipment

        db.session.execute(select(Equipment)).scalars().first().status = "broken"
        db.session.flush()
        db.session.rollback()
    assert _stored(read, school).score == live


def test_a_new_school_has_its_stored_score_before_any_record(build, read):
    """The district sees a school that just joined with its (empty) figures, not as a
    school with no figures at all."""
    school = build.school()
    stored = _stored(read, school)
    assert stored is not None and stored.school_year == school.school_year
    assert [group["points"] for group in stored.groups] == [0, 0]


def test_scores_refresh_fills_what_is_missing_or_out_of_date(app, build, read):
    school = build.school()
    build.record("rooms", school, name="6A", kind="classroom", internet=True)
    with app.test_request_context():
        db.session.execute(db.delete(SchoolScore).where(SchoolScore.school_id == school.id))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["scores", "refresh"])
    assert result.exit_code == 0, result.output
    assert _stored(read, school) is not None
    again = app.test_cli_runner().invoke(args=["scores", "refresh"])
    assert again.output.startswith("0 ")  # nothing out of date


def test_the_district_sees_its_schools_side_by_side_and_never_another_district(app, build, read):
    first = build.school(name="Trường A", district="Krông Nô")
    second = build.school(name="Trường B", district="Krông Nô")
    elsewhere = build.school(name="Trường C", district="Cư Jút")
    room = build.record("rooms", first, name="6A", kind="classroom", internet=True)
    build.record("equipment", first, kind="tv", name="TV", status="in_use", room_id=room.id)
    officer = build.token(build.user(Role.DISTRICT, district=first.district))
    http = app.test_client()

    districts = http.get("/api/v1/districts", headers=bearer(officer)).get_json()
    assert [item["id"] for item in districts["items"]] == [first.district_id]
    answer = http.get(f"/api/v1/districts/{first.district_id}/scores", headers=bearer(officer)).get_json()
    by_name = {item["school"]["name"]: item for item in answer["items"]}
    assert set(by_name) == {"Trường A", "Trường B"} and answer["total"] == 2
    assert by_name["Trường A"]["status"] == "draft" and by_name["Trường A"]["source"] == "live"
    assert next(c for c in by_name["Trường A"]["criteria"] if c["code"] == "1.7")["points"] == 8
    assert http.get(f"/api/v1/districts/{elsewhere.district_id}/scores", headers=bearer(officer)).status_code == 404
    school_json = http.get(f"/api/v1/schools/{second.id}", headers=bearer(officer)).get_json()
    assert school_json["district_id"] == first.district_id
    # Trường B approves its year: the district sees the sealed result, whatever changes later.
    principal = build.token(build.user(Role.PRINCIPAL, school=second))
    base = f"/api/v1/schools/{second.id}/assessments/{second.school_year}"
    http.post(f"{base}/start-review", headers=bearer(principal), json={})
    assert http.post(f"{base}/approve", headers=bearer(principal), json={}).status_code == 200
    build.record("rooms", second, name="7A", kind="classroom", internet=True)
    sealed = {item["school"]["name"]: item for item in http.get(
        f"/api/v1/districts/{first.district_id}/scores", headers=bearer(officer)).get_json()["items"]}["Trường B"]
    assert (sealed["status"], sealed["source"]) == ("approved", "sealed")
    assert [group["points"] for group in sealed["groups"]] == [0, 0]
    staff = build.token(build.user(Role.STAFF, school=first))
    assert http.get(f"/api/v1/districts/{first.district_id}/scores", headers=bearer(staff)).status_code == 404


def test_starting_the_next_year_stores_the_new_years_live_score(app, build, read):
    from app.schools.services import start_next_year

    school = build.school()
    with app.test_request_context():
        db.session.get(School, school.id).school_year = "2025-2026"
        db.session.commit()
    build.record("rooms", school, name="6A", kind="classroom", internet=True)
    assert _stored(read, school).school_year == "2025-2026"
    principal = build.user(Role.PRINCIPAL, school=school)
    with app.test_request_context():
        start_next_year(db.session.get(User, principal.id), db.session.get(School, school.id))
    stored = _stored(read, school)
    assert stored.school_year == "2026-2027"
    assert stored.stamp == read(lambda: db.session.get(School, school.id).score_stamp)


def test_the_province_summary_counts_what_each_schools_result_counts(app, build, read):
    """The province summary is counted by the database; it must agree with the district
    page's count of each school's result (evaluated, else sealed, else live, else none),
    late or not, for every filter."""
    province = "Tỉnh Đối Chiếu"
    made = {name: build.school(name=f"Trường {name}", district=district, province=province, **fields)
            for name, district, fields in (
                ("live", "Huyện Một", {}), ("empty", "Huyện Một", {}), ("sealed", "Huyện Một", {}),
                ("evaluated", "Huyện Một", {}), ("recognised", "Huyện Hai", {"level": "thcs"}),
                ("in review", "Huyện Hai", {}), ("no figures", "Huyện Hai", {"level": "thcs"}))}
    for name in ("live", "sealed", "evaluated", "recognised"):
        room = build.record("rooms", made[name], name="6A", kind="classroom", internet=True)
        build.record("equipment", made[name], kind="projector", name="Máy chiếu", status="in_use", room_id=room.id)
    officers = {district: build.user(Role.DISTRICT, district=made[name].district)
                for district, name in (("Huyện Một", "live"), ("Huyện Hai", "recognised"))}
    principals = {name: build.user(Role.PRINCIPAL, school=made[name])
                  for name in ("sealed", "evaluated", "recognised", "in review")}
    year = made["live"].school_year
    with app.test_request_context():
        def school(name):
            return db.session.get(School, made[name].id)
        for name in ("sealed", "evaluated", "recognised", "in review"):
            principal = db.session.get(User, principals[name].id)
            assessments.transition(principal, school(name), year, "start_review")
            if name != "in review":
                assessments.transition(principal, school(name), year, "approve")
        for name, district in (("evaluated", "Huyện Một"), ("recognised", "Huyện Hai")):
            officer = db.session.get(User, officers[district].id)
            assessments.evaluate(officer, school(name), year, [])
        assessments.transition(db.session.get(User, officers["Huyện Hai"].id), school("recognised"), year,
                               "recognise")
        db.session.execute(db.delete(SchoolScore).where(SchoolScore.school_id == made["no figures"].id))
        db.session.commit()

    def by_school(district, filters, due):
        found = districts.results(districts.schools_of([district.id], year, filters), year, groups_only=True)
        return districts.standing(found, due, group_codes=("1", "2"))

    today = clock.today()
    for due in (None, today - timedelta(days=1), today, today + timedelta(days=1)):
        deadline = {"submit_to_district": due.strftime("%m-%d")} if due else {"submit_to_district": "13-01"}
        saved = app.config["DEADLINES"]
        app.config["DEADLINES"] = {**saved, **deadline} if due else saved
        try:
            for filters in (districts.Filters(), districts.Filters(level=SchoolLevel("thcs")),
                            districts.Filters(status=AssessmentStatus.APPROVED),
                            districts.Filters(status=AssessmentStatus.DRAFT)):
                with app.test_request_context():
                    asked_due = districts.submission_due(province, year)
                    rows, whole = districts.province_summary(province, year, ("1", "2"), filters)
                    assert [row.district.name for row in rows] == ["Huyện Hai", "Huyện Một"]
                    expected = [by_school(row.district, filters, asked_due) for row in rows]
                    assert [row.standing for row in rows] == expected, (due, filters)
                    assert whole.schools == sum(found.schools for found in expected)
                    assert whole.late == sum(found.late for found in expected)
        finally:
            app.config["DEADLINES"] = saved
    with app.test_request_context():
        rows, whole = districts.province_summary(province, year, ("1", "2"))
    assert whole.schools == 7 and whole.sealed == 3 and whole.evaluated == 2 and whole.recognised == 1
    assert whole.levels["1"]["none"] == 1  # the school with no stored figures
    assert sum(whole.levels["1"].values()) == 7
