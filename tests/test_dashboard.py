"""The school's dashboard as its people read it: the groups and criteria, what blocks
approval and what waits for each person, evidence coverage, broken equipment by room,
the year's deadlines, the groups year on year; in a fixed number of queries; and the
district's and the administrator's home left as it was."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import event

from app import clock, create_app
from app.accounts.models import Role
from app.assessments import services as assessments
from app.config import ConfigError
from app.dashboard import charts
from app.dashboard.services import school_dashboard
from app.evidence import services as evidence
from app.evidence.models import EvidenceDocument
from app.extensions import db
from app.framework.scores import live_scorecard
from app.schools.deadlines import deadlines_of, due_day
from app.schools.models import School
from app.schools.years import calendar_school_year


@pytest.fixture()
def school(signed_in_school):
    """A school with its staff member, reviewer and principal, each signed in."""
    school, people, clients, _tokens = signed_in_school
    return school, people, clients


def _document(read, person, school, title, criteria):
    return read(lambda: evidence.create_document(person, db.session.get(School, school.id), {
        "title": title, "doc_type": "plan", "criteria": criteria}))


def _review(read, person, document, code, decision, comment=""):
    read(lambda: evidence.review_link(person, db.session.get(EvidenceDocument, document.id), code,
                                      {"decision": decision, "comment": comment}))


def _home(client) -> str:
    answer = client.get("/")
    assert answer.status_code == 200
    return unescape(answer.get_data(as_text=True))


def _part(page: str, testid: str) -> str:
    """The element with ``data-testid=testid``, roughly: from it to the next section."""
    start = page.index(f'data-testid="{testid}"')
    end = page.find("</section>", start)
    return page[start:end if end > 0 else None]


def test_a_rejected_evidence_is_listed_for_its_uploader_with_the_comment(school, read):
    school, people, clients = school
    plan = _document(read, people[Role.STAFF], school, "Kế hoạch dạy học trực tuyến", ["1.3.a"])
    _review(read, people[Role.REVIEWER], plan, "1.3.a", "rejected", "Thiếu chữ ký của hiệu trưởng")

    mine = _part(_home(clients[Role.STAFF]), "waiting-for-me")
    assert "H1-1.3-01" in mine and "Kế hoạch dạy học trực tuyến" in mine
    assert "Thiếu chữ ký của hiệu trưởng" in mine and "Trần Thị Mai" in mine
    assert f'href="/schools/{school.id}/evidence/{plan.id}"' in mine
    # It is the uploader's to fix: the principal's own list stays empty.
    assert "Thiếu chữ ký" not in _part(_home(clients[Role.PRINCIPAL]), "waiting-for-me")
    # Accepted after a fix, it leaves the list.
    _review(read, people[Role.PRINCIPAL], plan, "1.3.a", "accepted")
    assert "Thiếu chữ ký" not in _part(_home(clients[Role.STAFF]), "waiting-for-me")


def test_what_blocks_approval_and_the_review_queue_are_counted(school, read):
    school, people, clients = school
    first = _document(read, people[Role.STAFF], school, "Quy chế", ["2.1"])
    _document(read, people[Role.STAFF], school, "Kế hoạch", ["2.2"])
    _review(read, people[Role.REVIEWER], first, "2.1", "rejected", "Sai năm học")

    blockers = _part(_home(clients[Role.PRINCIPAL]), "year-panel")
    assert re.search(r'data-testid="blockers-pending">1<', blockers)
    assert re.search(r'data-testid="blockers-rejected">1<', blockers)
    waiting = _part(_home(clients[Role.REVIEWER]), "waiting-for-me")
    assert "Liên kết minh chứng cần thẩm định: 1" in waiting
    assert 'data-testid="waiting-count">1<' in _home(clients[Role.PRINCIPAL])


def test_the_groups_and_criteria_show_the_live_points_evidenced_points_and_levels(school, build, read):
    school, people, clients = school
    room = build.record("rooms", school, name="Phòng học 6A", kind="classroom", internet=True)
    build.record("equipment", school, kind="tv", name="Tivi 6A", asset_tag="TV-01", status="in_use", room_id=room.id)
    document = _document(read, people[Role.STAFF], school, "Biên bản bàn giao tivi", ["1.7"])
    _review(read, people[Role.REVIEWER], document, "1.7", "accepted")
    card = read(lambda: live_scorecard(db.session.get(School, school.id)))
    group = card.group("1")
    assert group.points > 0 and group.evidenced_points == card.criterion("1.7").points > 0

    page = _home(clients[Role.STAFF])
    panel = _part(page, "dashboard-group-1")
    assert re.search(rf'data-testid="group-1-points">{group.points}<', panel)
    assert re.search(rf'data-testid="group-1-evidenced">{group.evidenced_points}<', panel)
    assert f"Mức {group.level}" in panel
    chart = _part(page, "criteria-chart")
    assert '<svg class="chart chart-criteria"' in chart and 'role="img"' in chart
    criterion = card.criterion("1.7")
    assert f"1.7: {criterion.points} trên {criterion.max} điểm, {criterion.evidenced_points} có minh chứng" in chart


def test_evidence_coverage_counts_each_criterions_sub_items(school, read):
    school, people, clients = school
    whole = _document(read, people[Role.STAFF], school, "Kế hoạch ứng dụng CNTT", ["1.3"])
    _review(read, people[Role.REVIEWER], whole, "1.3", "accepted")
    _document(read, people[Role.STAFF], school, "Ảnh phòng máy", ["1.5.a"])

    coverage = _part(_home(clients[Role.STAFF]), "coverage")

    def cell(code, column):
        return re.search(rf'data-testid="coverage-{re.escape(code)}-{column}">(.*?)</td>', coverage, re.S).group(1)

    assert (cell("1.3", "accepted"), cell("1.3", "pending")) == ("5", "0")  # linked to the criterion: all five
    assert (cell("1.5", "accepted"), cell("1.5", "pending")) == ("0", "1")
    assert "1.5.b" in cell("1.5", "missing") and "1.5.a" not in cell("1.5", "missing")
    assert "(2.1)" in cell("2.1", "missing")  # a mandatory criterion counts as one


def test_broken_equipment_is_counted_by_room_and_links_to_the_filtered_list(school, build):
    school, _people, clients = school
    lab = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab", internet=True)
    hall = build.record("rooms", school, name="Hội trường", kind="multipurpose")
    build.records("equipment", school, [
        {"kind": "desktop", "name": f"Máy tính {n}", "asset_tag": f"PC-{n}", "status": status, "room_id": lab.id}
        for n, status in enumerate(("broken", "broken", "in_repair", "in_use"))])
    build.records("equipment", school, [
        {"kind": "projector", "name": "Máy chiếu hội trường", "asset_tag": "MC-1", "status": "broken",
         "room_id": hall.id},
        {"kind": "laptop", "name": "Laptop kho", "asset_tag": "LT-1", "status": "broken"}])

    panel = _part(_home(clients[Role.STAFF]), "out-of-order")
    rows = re.findall(r'data-testid="out-of-order-room">(.*?)</tr>', panel, re.S)
    counted = [tuple(re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
               for row in rows]
    assert counted == [("Hội trường", "1", "0"), ("Phòng Tin học", "2", "1"), ("— Không ở phòng nào —", "1", "0")]
    link = re.search(rf'href="(/schools/{school.id}/equipment\?[^"]*room_id={lab.id}[^"]*)"', panel).group(1)
    assert "status=broken" in link
    listed = clients[Role.STAFF].get(unescape(link)).get_data(as_text=True)
    assert "PC-0" in listed and "PC-1" in listed
    assert "PC-2" not in listed and "PC-3" not in listed and "MC-1" not in listed


def test_the_deadlines_count_days_from_the_given_day(app, school, read, monkeypatch):
    school, people, _clients = school
    year = school.school_year
    first = int(year[:4])
    assert due_day("03-31", year) == date(first + 1, 3, 31) and due_day("09-05", year) == date(first, 9, 5)

    board = read(lambda: school_dashboard(people[Role.STAFF], db.session.get(School, school.id),
                                          today=date(first + 1, 3, 1)))
    assert [(deadline.key, deadline.due, deadline.days_left) for deadline in board.deadlines] == [
        ("submit_to_district", date(first + 1, 3, 31), 30), ("sector_database", date(first + 1, 5, 31), 91)]
    assert board.submitted is False

    monkeypatch.setitem(app.config, "DEADLINES_BY_PROVINCE", {"HÀ NỘI": {"submit_to_district": "04-15"}})
    with app.app_context():
        hanoi = deadlines_of("Hà Nội", year, today=date(first + 1, 4, 20))
        elsewhere = deadlines_of("Đắk Nông", year, today=date(first + 1, 4, 20))
    assert [(deadline.key, deadline.days_left) for deadline in hanoi] == [
        ("submit_to_district", -5), ("sector_database", 41)]
    assert elsewhere[0].due == date(first + 1, 3, 31)


def test_the_page_shows_the_days_left_to_each_deadline(app, school):
    school, _people, clients = school
    panel = _part(_home(clients[Role.STAFF]), "deadlines")
    for key, month_day in app.config["DEADLINES"].items():
        due = due_day(month_day, school.school_year)
        left = (due - clock.today()).days
        shown = re.search(rf'data-testid="deadline-{key}">(.*?)</li>', panel, re.S).group(1)
        assert f"{due:%d/%m/%Y}" in shown
        assert (f"còn {left} ngày" if left > 0 else "hôm nay" if left == 0 else f"quá hạn {-left} ngày") in shown


def test_once_the_year_is_approved_the_submission_deadline_reads_done(school, read):
    school, people, clients = school

    def approve():
        here = db.session.get(School, school.id)
        assessments.transition(people[Role.PRINCIPAL], here, here.school_year, "start_review")
        assessments.transition(people[Role.PRINCIPAL], here, here.school_year, "approve")
    read(approve)
    page = _home(clients[Role.STAFF])
    shown = re.search(r'data-testid="deadline-submit_to_district">(.*?)</li>', page, re.S).group(1)
    assert "đã xong: hồ sơ tự đánh giá đã được phê duyệt" in shown
    assert 'data-testid="dashboard-blockers"' not in page  # nothing blocks a sealed year


@pytest.mark.parametrize("deadlines", [{"submit_to_district": "02-30"}, {"submit_to_district": "3-31"},
                                       {"sector_database": "02-29"}, {"submission": "03-31"}, "03-31"])
def test_a_bad_deadline_stops_the_portal_from_starting(tmp_path, deadlines):
    with pytest.raises(ConfigError, match="DEADLINES"):
        create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://", "DEADLINES": deadlines})
    with pytest.raises(ConfigError, match="DEADLINES_BY_PROVINCE"):
        create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://",
                    "DEADLINES_BY_PROVINCE": {"Hà Nội": deadlines}})


def test_a_province_may_move_one_deadline_and_keep_the_other(tmp_path):
    portal = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://",
                         "DEADLINES": {"sector_database": "06-15"}})
    assert portal.config["DEADLINES"] == {"submit_to_district": "03-31", "sector_database": "06-15"}


def _seal_and_start_next(read, principal, school_id):
    def run():
        school = db.session.get(School, school_id)
        year = school.school_year
        assessments.transition(principal, school, year, "start_review")
        assessments.transition(principal, school, year, "approve")
        return assessments.start_year(principal, school, [])[0]
    return read(run)


def test_the_year_chart_has_a_column_per_sealed_year_and_this_year_live(school, read):
    school, people, clients = school
    start = int(calendar_school_year()[:4]) - 2
    first = f"{start}-{start + 1}"

    def two_years_back():
        db.session.get(School, school.id).school_year = first
        db.session.commit()
    read(two_years_back)
    second = _seal_and_start_next(read, people[Role.PRINCIPAL], school.id)
    third = _seal_and_start_next(read, people[Role.PRINCIPAL], school.id)

    chart = _part(_home(clients[Role.STAFF]), "years-chart")
    bars = re.findall(r"<rect [^>]*><title>([^<]+)</title></rect>", chart)
    assert [bar.split(" · ")[0] for bar in bars] == [first, first, second, second, third, third]
    assert [bar.split(" · ")[1].split(":")[0] for bar in bars[:2]] == ["N1", "N2"]
    assert chart.count(">hiện tại</text>") == 1 and chart.index(">hiện tại</text>") > chart.rindex(second)
    # The live year is drawn lighter with a dashed edge; sealed years solid.
    live = re.findall(r'<rect [^>]*stroke-dasharray="3 2"[^>]*>', chart)
    assert len(live) == 2


def test_a_chart_escapes_its_text_and_describes_itself():
    svg = charts.year_on_year(
        [charts.YearColumn("<b>2025</b>", (charts.GroupValue('G"1', 40, 100, 1),), note="<i>now</i>", live=True)],
        [(50, "Level <2>")], "Points & levels", "Group <1>: 40")
    assert "<b>" not in svg and "<i>" not in svg and "&lt;b&gt;2025&lt;/b&gt;" in svg and "G&#34;1" in svg
    assert 'role="img"' in svg and 'aria-label="Points &amp; levels"' in svg and 'viewBox="0 0 ' in svg
    assert "<title>Points &amp; levels</title>" in svg and "<desc " in svg and "Group &lt;1&gt;: 40" in svg
    assert 'width="100%"' in svg and ' style="' not in svg  # no inline styles under the CSP
    bars = charts.criterion_bars([charts.CriterionBar("1.3", 12, 6, 30, 2, "12/30")], "<t>", "<d>")
    assert "&lt;t&gt;" in bars and "<t>" not in bars and charts.LEVEL_COLOURS[2] in bars


def test_the_page_costs_the_same_queries_for_a_large_school_as_for_a_small_one(app, build, make_client, read):
    def school_of(size):
        school = build.school()
        staff, reviewer = build.user(Role.STAFF, school=school), build.user(Role.REVIEWER, school=school)
        codes = ["1.3.a", "1.3.b", "1.5.a", "1.6", "1.7", "2.1", "2.2", "2.3.a", "2.4"]
        for number in range(size):
            document = _document(read, staff, school, f"Minh chứng {number}", [codes[number % len(codes)]])
            if number % 3 == 0:
                _review(read, reviewer, document, codes[number % len(codes)], "rejected", f"Lý do {number}")
            elif number % 3 == 1:
                _review(read, reviewer, document, codes[number % len(codes)], "accepted")
        rooms = [build.record("rooms", school, name=f"Phòng {n}", kind="classroom") for n in range(max(1, size // 5))]
        build.records("equipment", school, [
            {"kind": "tv", "name": f"Tivi {n}", "asset_tag": f"TV-{n}", "status": "broken",
             "room_id": rooms[n % len(rooms)].id} for n in range(size)])
        clients = {}
        for person in (staff, reviewer):
            clients[person.role] = make_client()
            clients[person.role].login(person.email)
        return clients

    def statements(client) -> int:
        client.get("/")  # the scorecard is computed once, then reused
        seen = []
        with app.app_context():
            engine = db.engine

        def count(*_args):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    small, large = school_of(3), school_of(40)
    for role in (Role.STAFF, Role.REVIEWER):
        few, many = statements(small[role]), statements(large[role])
        assert few == many and many <= 25, (role, few, many)


def test_the_administrator_keeps_the_list_of_schools_and_the_officer_comes_home_to_their_district(client, build):
    school = build.school(name="Trường Tiểu học Lê Lợi")
    client.login(build.user(Role.ADMIN).email)
    page = _home(client)
    assert 'data-testid="school-count">' in page and "Trường Tiểu học Lê Lợi" in page
    assert 'data-testid="year-panel"' not in page and 'class="chart' not in page
    client.logout()
    client.login(build.user(Role.DISTRICT, district=school.district).email)
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith(f"/districts/{school.district_id}")
    district_page = unescape(client.get(home.headers["Location"]).get_data(as_text=True))
    assert "Trường Tiểu học Lê Lợi" in district_page and 'data-testid="heat-map"' in district_page
