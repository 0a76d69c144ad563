"""Each record says what it counts towards, and each sub-item which records it is counted
from: the same facts as the score, seen both ways, on the record's page and in the API."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from app.accounts.models import Role
from app.extensions import db
from app.framework.services import framework
from app.framework.supports import TEAM_CRITERION, records_behind, supports
from app.inventory import services
from app.inventory.facts import school_facts
from app.inventory.models import INVENTORY_MODELS, Equipment, Room, Software
from app.schools.models import School
from tests.builders import bearer

# The count fact each sub-item of QĐ 4725 is counted from, and how the records behind it add up to it.
FACT_OF = {"1.7.a": "equipped_classrooms", "1.7.b": "lab_working_computers", "1.7.c": "studio_rooms",
           "1.4": "approved_materials", "1.6.a": "teachers_training_account",
           "1.6.b": "teachers_using_software", "1.6.c": "teachers_building_materials"}
DEVICES_LISTED = {"1.7.a", "1.7.c"}  # whose rooms come with the devices that make them count
SOFTWARE_NEED_OF = {"1.3.a": ("online_teaching", None), "1.3.b": ("lms_assign_self_study", "lms"),
                    "1.3.c": ("lms_answer_questions", "lms")}

CAPABILITIES = ["online_teaching", "lms", "lms_assign_self_study", "lms_answer_questions", "computer_based_testing",
                "e_gradebook", "e_transcript", "timetable"]
DEVICES = st.lists(st.tuples(st.sampled_from(["projector", "tv", "interactive_board", "desktop", "laptop", "printer"]),
                             st.sampled_from(["in_use", "in_use", "broken", "spare"])), max_size=4)
INVENTORIES = st.fixed_dictionaries({
    "rooms": st.lists(st.tuples(st.sampled_from(["classroom", "computer_lab", "studio", "office"]),
                                st.booleans(), DEVICES), max_size=5),
    "loose_equipment": DEVICES,  # in no room
    "software": st.lists(st.tuples(st.sampled_from(["in_use", "in_use", "planned"]),
                                   st.sets(st.sampled_from(CAPABILITIES), max_size=4)), max_size=4),
    "materials": st.lists(st.tuples(st.booleans(), st.booleans()), max_size=5),
    "staff": st.lists(st.tuples(st.sampled_from(["teacher", "teacher", "manager"]), st.booleans(), st.booleans(),
                                st.booleans(), st.sampled_from([None, "Thành viên"])), max_size=6),
})


def build_inventory(build, inventory) -> School:
    """A school holding ``inventory`` (as INVENTORIES draws it)."""
    school = build.school()
    rooms = build.records("rooms", school, [{"name": f"P{number}", "kind": kind, "internet": internet}
                                            for number, (kind, internet, _devices) in enumerate(inventory["rooms"])]
                          ) if inventory["rooms"] else []
    equipment = [{"kind": kind, "name": kind.title(), "status": status, "room_id": room.id}
                 for room, (_kind, _internet, devices) in zip(rooms, inventory["rooms"], strict=True)
                 for kind, status in devices]
    equipment += [{"kind": kind, "name": kind.title(), "status": status}
                  for kind, status in inventory["loose_equipment"]]
    if equipment:
        build.records("equipment", school, equipment)
    if inventory["software"]:
        build.records("software", school, [{"name": f"PM{number}", "category": "teaching", "status": status,
                                            "capabilities": sorted(capabilities)}
                                           for number, (status, capabilities) in enumerate(inventory["software"])])
    if inventory["materials"]:
        build.records("materials", school, [
            {"title": f"HL{number}", "approved_by_department": department, "approved_by_principal": principal}
            for number, (department, principal) in enumerate(inventory["materials"])])
    if inventory["staff"]:
        build.records("staff", school, [
            {"full_name": f"Người {number}", "position": position, "training_account": training,
             "uses_teaching_software": software, "builds_digital_materials": materials, "dt_team_role": role}
            for number, (position, training, software, materials, role) in enumerate(inventory["staff"])])
    return school


def codes_of(index) -> list[str]:
    return [item.code for item in index.scored_items] + [TEAM_CRITERION]


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(inventory=INVENTORIES)
def test_the_records_behind_each_sub_item_are_what_the_score_counts_and_each_says_so(build, read, inventory):
    school = build_inventory(build, inventory)

    def check():
        index = framework()
        here = db.session.get(School, school.id)
        facts = school_facts(here, index)
        behind = {code: records_behind(here, index, code) for code in codes_of(index)}
        for code, fact in FACT_OF.items():
            assert sum(ref.count for ref in behind[code]) == facts.counts[fact], code
        for code, need in SOFTWARE_NEED_OF.items():
            assert len(behind[code]) == facts.providers(need)[1], code
        gradebooks = {software.id for software in db.session.scalars(select(Software).where(
            Software.school_id == school.id, Software.status == "in_use"))
            if {"e_gradebook", "e_transcript"} & set(software.capabilities)}
        assert {ref.id for ref in behind["2.3.c"]} == gradebooks

        counted: dict[str, set] = {code: set() for code in behind}
        for model in INVENTORY_MODELS:
            for record in db.session.scalars(select(model).where(model.school_id == school.id)):
                for support in supports(record, index):
                    assert support.reason.startswith(f"{record}: "), support
                    assert support.code in behind, support
                    refs = {(ref.collection, ref.id): ref for ref in behind[support.code]}
                    if isinstance(record, Equipment):  # counted through its room
                        assert ("rooms", record.room_id) in refs or not support.counts, support
                        if support.code in DEVICES_LISTED:
                            devices = {device.id for ref in refs.values() for device in ref.within}
                            assert (record.id in devices) == support.counts, support
                    else:
                        key = (services.COLLECTION_OF[type(record)].name, record.id)
                        assert (key in refs) == support.counts, support
                        if support.counts:
                            counted[support.code].add(key)
        for code, refs in behind.items():  # and nothing is behind a sub-item that its record does not name
            assert {(ref.collection, ref.id) for ref in refs} == counted[code], code
    read(check)


def test_a_classroom_says_it_counts_once_it_has_internet_and_a_working_display(build, read):
    school = build.school()
    room = build.record("rooms", school, name="6A", kind="classroom", internet=False)
    projector = build.record("equipment", school, kind="projector", name="Máy chiếu Epson", room_id=room.id,
                             status="broken")

    def said(record_class, record_id):
        return read(lambda: [(support.code, support.counts, support.reason)
                             for support in supports(db.session.get(record_class, record_id), framework())])

    assert said(Room, room.id) == [("1.7.a", False, "6A: chưa tính vào 1.7.a: chưa có Internet; chưa có máy "
                                                    "chiếu, ti vi hoặc bảng tương tác đang dùng")]
    assert said(Equipment, projector.id) == [
        ("1.7.a", False, f"{projector}: chưa tính vào 1.7.a: thiết bị đang hỏng; 6A chưa có Internet")]
    read(lambda: _update("rooms", room.id, internet=True))
    read(lambda: _update("equipment", projector.id, status="in_use"))
    assert said(Room, room.id) == [("1.7.a", True, "6A: phòng học có Internet và máy chiếu đang dùng → 1.7.a")]
    assert said(Equipment, projector.id) == [
        ("1.7.a", True, f"{projector}: máy chiếu đang dùng ở 6A (phòng học có Internet) → 1.7.a")]
    refs = read(lambda: records_behind(db.session.get(School, school.id), framework(), "1.7.a"))
    assert [(ref.collection, ref.label) for ref in refs] == [("rooms", "6A")]
    assert [(device.collection, device.id) for device in refs[0].within] == [("equipment", projector.id)]


def _update(collection: str, record_id: int, **changes):
    record = db.session.get(services.COLLECTIONS[collection].model, record_id)
    services.update_record(None, record, changes)


def test_lms_functions_count_only_on_an_lms_and_testing_only_with_a_working_lab(build, read):
    school = build.school()
    forum = build.record("software", school, name="Diễn đàn", category="teaching",
                         capabilities=["lms_assign_self_study", "computer_based_testing"])
    lms = build.record("software", school, name="Moodle", category="teaching",
                       capabilities=["lms", "lms_assign_self_study"])

    def said(software):
        return read(lambda: {support.code: (support.counts, support.reason) for support in supports(
            db.session.get(type(software), software.id), framework())})

    on_forum, on_lms = said(forum), said(lms)
    assert on_forum["1.3.b"][0] is False and "chưa được khai báo là hệ thống quản lý học tập" in on_forum["1.3.b"][1]
    assert on_forum["1.5.a"] == (False, "Diễn đàn: chưa tính vào 1.5.a: cần ít nhất 1 máy tính hoạt động trong "
                                        "phòng máy, hiện có 0")
    assert on_lms["1.3.b"] == (True, "Moodle: hệ thống quản lý học tập (LMS/LCMS) đang dùng có chức năng giao bài "
                                     "cho học sinh tự học → 1.3.b")
    assert on_lms["1.3.c"][0] is False  # an LMS without the function: what it lacks
    lab = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab")
    build.record("equipment", school, kind="desktop", name="PC", room_id=lab.id)
    assert said(forum)["1.5.a"][0] is True
    lab_says = read(lambda: {support.code: support.reason for support in supports(
        db.session.get(Room, lab.id), framework())})
    assert lab_says == {
        "1.5.a": "Phòng Tin học: phòng máy có 1 máy tính hoạt động, cùng Diễn đàn (phần mềm đang dùng có chức năng "
                 "thi, kiểm tra trên máy tính) → 1.5.a",
        "1.7.b": "Phòng Tin học: phòng máy có 1 máy tính hoạt động → 1.7.b"}


def test_a_teachers_skills_and_team_role_name_their_sub_items(build, read):
    school = build.school()
    teacher = build.record("staff", school, full_name="Đặng Thị Đào", training_account=True,
                           dt_team_role="Tổ trưởng")
    manager = build.record("staff", school, full_name="Lê Văn Bình", position="manager",
                           builds_digital_materials=True)
    found = read(lambda: {person.full_name: [(support.code, support.counts) for support in supports(
        db.session.get(type(person), person.id), framework())] for person in (teacher, manager)})
    assert found == {"Đặng Thị Đào": [("1.6.a", True), ("1.6.b", False), ("1.6.c", False), ("2.1", True)],
                     "Lê Văn Bình": [("1.6.c", False)]}


def test_the_records_behind_a_sub_item_take_the_same_queries_however_many_there_are(build, read, app):
    small, large = build.school(), build.school()
    for school, size in ((small, 2), (large, 40)):
        rooms = build.records("rooms", school, [{"name": f"{kind}{n}", "kind": kind, "internet": True}
                                                for kind in ("classroom", "computer_lab", "studio")
                                                for n in range(size)])
        build.records("equipment", school, [{"kind": kind, "name": kind, "room_id": room.id}
                                            for room in rooms for kind in ("tv", "desktop")])
        build.records("staff", school, [{"full_name": f"GV {n}", "training_account": True, "dt_team_role": "Thành viên"}
                                        for n in range(size)])
        build.records("materials", school, [{"title": f"HL {n}", "approved_by_department": True,
                                             "approved_by_principal": True} for n in range(size)])
        build.records("software", school, [{"name": f"PM {n}", "category": "teaching",
                                            "capabilities": ["lms", "lms_assign_self_study"]} for n in range(size)])

    def statements(school) -> dict[str, tuple[int, int]]:
        """Code → (statements run, records found) of records_behind."""
        index, here = framework(), db.session.get(School, school.id)
        seen = []

        def count(*_args):
            seen.append(1)

        found = {}
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            for code in codes_of(index):
                before = len(seen)
                records = records_behind(here, index, code)
                found[code] = (len(seen) - before, len(records))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return found

    few, many = read(lambda: statements(small)), read(lambda: statements(large))
    assert {code: ran for code, (ran, _n) in few.items()} == {code: ran for code, (ran, _n) in many.items()}
    assert {code: many[code][1] for code in ("1.7.a", "1.7.b", "1.7.c", "1.4", "1.6.a", "1.3.b", "2.1")} == {
        "1.7.a": 40, "1.7.b": 40, "1.7.c": 40, "1.4": 40, "1.6.a": 40, "1.3.b": 40, "2.1": 40}


def test_unknown_codes_are_refused_and_evidence_only_items_have_no_records(build, read):
    school = build.school()
    with pytest.raises(KeyError):
        read(lambda: records_behind(db.session.get(School, school.id), framework(), "9.9"))
    assert read(lambda: records_behind(db.session.get(School, school.id), framework(), "2.3.a")) == []
    assert read(lambda: records_behind(db.session.get(School, school.id), framework(), "1.1")) == []


def test_one_records_api_answers_say_what_it_counts_towards_and_lists_do_not(app, build):
    school = build.school()
    token = build.token(build.user(Role.STAFF, school=school))
    http = app.test_client()
    base = f"/api/v1/schools/{school.id}"
    created = http.post(f"{base}/rooms", headers=bearer(token), json={"name": "6A", "kind": "classroom",
                                                                      "internet": True})
    assert created.status_code == 201
    room = created.get_json()
    assert room["supports"] == [{"code": "1.7.a", "counts": False, "reason": (
        "6A: chưa tính vào 1.7.a: chưa có máy chiếu, ti vi hoặc bảng tương tác đang dùng")}]
    tv = http.post(f"{base}/equipment", headers=bearer(token), json={"kind": "tv", "name": "TV Samsung",
                                                                     "room_id": room["id"]}).get_json()
    assert tv["supports"] == [{"code": "1.7.a", "counts": True,
                               "reason": f"TV Samsung ({tv['asset_tag']}): ti vi đang dùng ở 6A (phòng học có "
                                         "Internet) → 1.7.a"}]
    read_back = http.get(f"{base}/rooms/{room['id']}", headers=bearer(token)).get_json()
    assert read_back["supports"] == [{"code": "1.7.a", "counts": True,
                                      "reason": "6A: phòng học có Internet và ti vi đang dùng → 1.7.a"}]
    changed = http.patch(f"{base}/equipment/{tv['id']}", headers=bearer(token), json={"status": "broken"})
    assert changed.get_json()["supports"][0]["counts"] is False
    line = http.post(f"{base}/network-lines", headers=bearer(token), json={"provider": "VNPT"}).get_json()
    assert line["supports"] == []
    listed = http.get(f"{base}/rooms", headers=bearer(token)).get_json()
    assert "supports" not in listed["items"][0]
    document = http.get("/api/v1/openapi.json").get_json()
    assert "supports" in document["components"]["schemas"]["RoomDetail"]["properties"]


def test_the_record_page_shows_what_it_counts_towards_linked_to_the_scorecard(client, build):
    school = build.school()
    client.login(build.user(Role.STAFF, school=school).email)
    room = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab")
    build.record("equipment", school, kind="laptop", name="Laptop Dell", room_id=room.id)
    page = client.get(f"/schools/{school.id}/rooms/{room.id}").get_data(as_text=True)
    panel = re.search(r'<section[^>]*data-testid="supports".*?</section>', page, re.S).group(0)
    assert "Tính vào tiêu chí" in panel
    assert "Phòng Tin học: phòng máy có 1 máy tính hoạt động → 1.7.b" in panel
    assert f'href="/schools/{school.id}/score#criterion-1.7"' in panel
    scorecard = client.get(f"/schools/{school.id}/score").get_data(as_text=True)
    assert 'id="criterion-1.7"' in scorecard
    line = build.record("network-lines", school, provider="VNPT")
    page = client.get(f"/schools/{school.id}/network-lines/{line.id}").get_data(as_text=True)
    assert "Bản ghi này không tính vào tiêu chí nào của bộ chỉ số." in page


def test_evidence_names_its_criteria_and_codes_on_its_page_and_in_the_api(app, client, build):
    school = build.school()
    staff = build.user(Role.STAFF, school=school)
    http = app.test_client()
    created = http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(build.token(staff)), json={
        "title": "Ảnh phòng học 6A", "doc_type": "link", "url": "https://truong.example.edu.vn/6a",
        "criteria": ["1.7.a", "1.1"]})
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert sorted(link["criterion"] for link in answer["links"]) == ["1.1", "1.7.a"]
    assert sorted(answer["codes"]) == sorted(link["code"] for link in answer["links"])
    client.login(staff.email)
    page = client.get(f"/schools/{school.id}/evidence/{answer['id']}").get_data(as_text=True)
    index = framework_for(app)
    for link in answer["links"]:
        item = re.search(rf'data-testid="link-{re.escape(link["criterion"])}".*?</li>', page, re.S).group(0)
        assert link["code"] in item and index.find(link["criterion"]).title.split()[0] in item


def framework_for(app):
    with app.test_request_context():
        return framework()
