"""The planner: what it projects is what the school gets when it makes the same changes
for real; impossible changes are refused by name; the cheapest path reaches the level it
promises; the planner API."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.evidence import services as evidence
from app.evidence.facts import evidence_states
from app.extensions import db
from app.framework.engine import COUNT_FACTS, SCORING_CAPABILITIES, Facts, score
from app.framework.loader import BUILTIN_DIR, FrameworkError, load_framework_text
from app.framework.scores import live_scorecard
from app.framework.services import framework
from app.inventory import services as inventory
from app.inventory.facts import school_facts
from app.planner.changes import (
    LMS_FUNCTIONS,
    AddEvidence,
    AddLabComputers,
    AdoptSoftware,
    ApproveMaterials,
    BuildStudio,
    ChangeError,
    EquipClassrooms,
    RepairEquipment,
    SchoolState,
    TrainTeachers,
    parse_changes,
    project,
)
from app.planner.cheapest import AtTopLevel, candidates, missing_documents, next_levels
from app.planner.state import school_state
from app.schools import services as schools
from app.schools.models import School
from tests.builders import bearer

_codes = itertools.count(1)
DISPLAYS = ("projector", "tv", "interactive_board")
COMPUTERS = ("desktop", "laptop")
CAPABILITIES = ("online_teaching", "lms", "lms_assign_self_study", "lms_answer_questions", "computer_based_testing",
                "testing_results_to_management", "e_gradebook", "parent_connection")
EVIDENCE_CODES = ("1.1", "1.2", "2.1", "2.2", "2.3.a")


# --- making a school and the changes for real -------------------------------------------

def make_school(spec: dict) -> School:
    """A school with the rooms, devices, staff, materials and software of ``spec``."""
    number = next(_codes)
    school = schools.create_school(None, {
        "code": f"PLAN{number}", "name": f"Trường thử kế hoạch {number}", "level": "tieu_hoc", "district": "Đắk Song",
        "province": "Đắk Nông", "students": 300, "teachers": 20, "classes": 10,
        "largest_class_size": spec["largest_class"]})
    rooms = [{"name": f"Lớp {index}", "kind": "classroom", "internet": internet}
             for index, (internet, _devices) in enumerate(spec["classrooms"])]
    rooms += [{"name": f"Phòng {kind} {index}", "kind": kind, "internet": True}
              for index, (kind, _devices) in enumerate(spec["others"])]
    created = inventory.create_records(None, school, inventory.COLLECTIONS["rooms"], rooms) if rooms else []
    devices = [(room.id, kind, status) for room, (_x, held) in zip(
        created, [*spec["classrooms"], *spec["others"]], strict=True) for kind, status in held]
    devices += [(None, kind, status) for kind, status in spec["loose"]]
    if devices:
        inventory.create_records(None, school, inventory.COLLECTIONS["equipment"], [
            {"kind": kind, "name": f"Thiết bị {index}", "status": status, "room_id": room_id}
            for index, (room_id, kind, status) in enumerate(devices)])
    staff = [{"full_name": f"GV {index}", "position": position, "training_account": a,
              "uses_teaching_software": b, "builds_digital_materials": c}
             for index, (position, a, b, c) in enumerate(spec["staff"])]
    if staff:
        inventory.create_records(None, school, inventory.COLLECTIONS["staff"], staff)
    if spec["materials"]:
        inventory.create_records(None, school, inventory.COLLECTIONS["materials"], [
            {"title": f"Học liệu {index}", "approved_by_department": a, "approved_by_principal": b}
            for index, (a, b) in enumerate(spec["materials"])])
    if spec["software"]:
        inventory.create_records(None, school, inventory.COLLECTIONS["software"], [
            {"name": f"Phần mềm {index}", "category": "teaching", "status": status, "capabilities": list(capabilities)}
            for index, (status, capabilities) in enumerate(spec["software"])])
    return db.session.get(School, school.id)


def apply_actions(school: School, actions: list[dict]) -> None:
    """Make ``actions`` real through the inventory and evidence services."""
    made: dict[str, int] = {}
    for action in actions:
        if action["collection"] == "evidence":
            evidence.create_document(None, school, {"title": f"Văn bản cho {action['criterion']}",
                                                    "doc_type": "decision", "criteria": [action["criterion"]]})
            continue
        collection = inventory.COLLECTIONS[action["collection"]]
        values = {name: made[value[1:]] if isinstance(value, str) and value[1:] in made else value
                  for name, value in action["values"].items()}
        if action["op"] == "create":
            made[action["ref"]] = inventory.create_record(None, school, collection, values).id
        else:
            inventory.update_record(None, db.session.get(collection.model, action["id"]), values)
            db.session.commit()


def live_facts(school: School):
    index = framework()
    return school_facts(school, index, evidence_states(school.id, school.school_year))


def numbers(card) -> dict:
    """Every figure of a scorecard (points, levels, conditions), without the wording."""
    return {"groups": [(group.code, group.points, group.level, group.mandatory_met, group.recognised_level,
                        group.evidenced_points) for group in card.groups],
            "criteria": [(criterion.code, criterion.met, criterion.points, criterion.level, criterion.evidenced_points,
                          [(item.code, item.points) for item in criterion.items]) for criterion in card.criteria]}


# --- random small schools and random change sets --------------------------------------

statuses = st.sampled_from(("in_use", "broken", "broken", "spare"))
devices = st.lists(st.tuples(st.sampled_from((*DISPLAYS, *COMPUTERS, "printer")), statuses), max_size=3)
schools_spec = st.fixed_dictionaries({
    "largest_class": st.integers(1, 45),
    "classrooms": st.lists(st.tuples(st.booleans(), devices), max_size=5),
    "others": st.lists(st.tuples(st.sampled_from(("computer_lab", "studio", "office")),
                                 st.lists(st.tuples(st.sampled_from((*COMPUTERS, "tv")), statuses), max_size=4)),
                       max_size=3),
    "loose": st.lists(st.tuples(st.sampled_from(("projector", "desktop")), st.just("broken")), max_size=2),
    "staff": st.lists(st.tuples(st.sampled_from(("teacher", "teacher", "manager")), st.booleans(), st.booleans(),
                                st.booleans()), max_size=6),
    "materials": st.lists(st.tuples(st.booleans(), st.booleans()), max_size=5),
    "software": st.lists(st.tuples(st.sampled_from(("in_use", "in_use", "planned")),
                                   st.sets(st.sampled_from(CAPABILITIES), max_size=4)), max_size=3),
})
counts = st.integers(1, 4)
one_change = st.one_of(
    st.builds(EquipClassrooms, counts), st.builds(RepairEquipment, counts), st.builds(AddLabComputers, counts),
    st.builds(ApproveMaterials, counts), st.builds(BuildStudio),
    st.builds(TrainTeachers, counts, st.sampled_from(("training_account", "uses_teaching_software",
                                                      "builds_digital_materials"))),
    st.builds(AdoptSoftware, st.lists(st.sampled_from(CAPABILITIES), min_size=1, max_size=3, unique=True).map(tuple)),
    st.builds(AddEvidence, st.sampled_from(EVIDENCE_CODES)),
)


def asks_more_than_there_is_or_nothing_new(change) -> bool:
    """What the planner may refuse: more broken equipment to repair, materials to approve
    or teachers to train than the school has, or LMS functions its LMS already has."""
    return isinstance(change, (RepairEquipment, ApproveMaterials, TrainTeachers)) or (
        isinstance(change, AdoptSoftware) and set(change.capabilities) <= LMS_FUNCTIONS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(spec=schools_spec, changes=st.lists(one_change, max_size=4))
def test_the_projection_is_the_score_the_same_changes_give_for_real(ctx, spec, changes):
    school = make_school(spec)
    index = framework()
    facts = live_facts(school)
    try:
        projected, actions = project(facts, school_state(school), changes)
    except ChangeError as error:  # only a change asking for more than there is, or for nothing new
        assert all(asks_more_than_there_is_or_nothing_new(changes[int(name)]) for name in error.fields)
        event("refused")
        return
    apply_actions(school, actions)
    school = db.session.get(School, school.id)
    real = live_facts(school)
    assert real.counts == projected.counts
    assert real.software_count == projected.software_count
    assert real.evidence == projected.evidence
    assert numbers(live_scorecard(school)) == numbers(score(index, projected))


def test_lms_functions_asked_after_a_new_lms_go_on_that_lms(ctx):
    """A plan that adopts an LMS, then asks for its functions, puts them on the LMS it
    creates (a regression: the search for the school's LMS mixed new and existing ones)."""
    school = make_school({"largest_class": 30, "classrooms": [], "others": [], "loose": [], "staff": [],
                          "materials": [], "software": [("in_use", {"online_teaching"})]})
    facts = live_facts(school)
    projected, actions = project(facts, school_state(school), [AdoptSoftware(("lms",)),
                                                               AdoptSoftware(("lms_assign_self_study",))])
    created = [action for action in actions if action["collection"] == "software"]
    assert len(created) == 1 and created[0]["values"]["capabilities"] == ["lms", "lms_assign_self_study"]
    apply_actions(school, actions)
    school = db.session.get(School, school.id)
    assert numbers(live_scorecard(school)) == numbers(score(framework(), projected))


# --- impossible and malformed changes ---------------------------------------------------

def test_an_impossible_change_is_refused_naming_it(ctx):
    school = make_school({"largest_class": 30, "classrooms": [(True, [("projector", "broken")])], "others": [],
                          "loose": [], "staff": [("teacher", False, False, False)], "materials": [], "software": []})
    facts = live_facts(school)
    with pytest.raises(ChangeError) as refused:
        project(facts, school_state(school), [EquipClassrooms(1), RepairEquipment(2),
                                              TrainTeachers(1, "training_account"), ApproveMaterials(1)])
    assert set(refused.value.fields) == {"1", "3"}
    assert "1 thiết bị hỏng" in refused.value.fields["1"]


def test_malformed_changes_are_refused_per_field():
    with pytest.raises(ChangeError) as refused:
        parse_changes([{"kind": "equip_classrooms", "count": 0}, {"kind": "paint_walls"},
                       {"kind": "train_teachers", "count": 2, "skill": "juggling"},
                       {"kind": "adopt_software", "capabilities": ["lms", "mind_reading"]},
                       {"kind": "add_evidence", "criterion": "1.3"}, {"kind": "build_studio"}], EVIDENCE_CODES)
    assert set(refused.value.fields) == {"0.count", "1.kind", "2.skill", "3.capabilities", "4.criterion"}


# --- the cheapest path ----------------------------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(spec=schools_spec, group=st.sampled_from(("1", "2")))
def test_the_cheapest_path_reaches_its_level_and_no_cheaper_single_change_does(ctx, spec, group):
    school = make_school(spec)
    index = framework()
    facts, state = live_facts(school), school_state(school)
    try:
        paths = next_levels(index, facts, state, group)
    except AtTopLevel:
        assert score(index, facts).group(group).level == 3
        return
    today = score(index, facts).group(group).level
    event(f"{len(paths)} levels ahead")
    assert [path.to_level for path in paths] == list(range(today + 1, today + 1 + len(paths)))
    singles = [option for option in candidates(index, facts, state, group) if len(option.changes) == 1]
    for path in paths:
        projected = path.projected.group(group)
        assert projected.level >= path.to_level and projected.mandatory_met
        assert path.cost_vnd == sum(action["cost_vnd"] for action in path.actions)
        for option in singles:
            if option.cost_vnd < path.cost_vnd:
                alone = project(facts, state, (*missing_documents(index, group, facts), *option.changes))[0]
                assert score(index, alone).group(group).level < path.to_level, option
    if paths:  # the first path, made for real, reaches its level
        apply_actions(school, paths[0].actions)
        reached = live_scorecard(db.session.get(School, school.id)).group(group)
        assert reached.level >= paths[0].to_level and reached.mandatory_met


def test_a_group_at_the_top_level_has_no_next_level(ctx):
    index = framework()
    facts = Facts(counts={name: 0 for name in COUNT_FACTS},
                  software={(capability, None): ["Phần mềm"] for capability in SCORING_CAPABILITIES},
                  evidence=dict.fromkeys(("2.1", "2.2", "2.3.a"), "accepted"))
    assert score(index, facts).group("2").level == 3
    with pytest.raises(AtTopLevel):
        next_levels(index, facts, SchoolState(), "2")


def test_unit_prices_in_an_index_file_are_checked():
    text = (BUILTIN_DIR / "qd4725-2022.yaml").read_text(encoding="utf-8")
    assert load_framework_text(text).unit_prices.of("capability:lms") == 30_000_000
    with pytest.raises(FrameworkError, match="projector must be at least 0"):
        load_framework_text(text.replace("projector: 12000000", "projector: -5"))
    with pytest.raises(FrameworkError, match="unknown key 'mind_reading'"):
        load_framework_text(text.replace("    lms: 30000000", "    mind_reading: 1"))


# --- the API --------------------------------------------------------------------------

def test_whatif_projects_changes_without_making_them(app, build, small_school):
    token = build.token(build.user("principal", school=small_school))
    url = f"/api/v1/schools/{small_school.id}/planner/whatif"
    answer = app.test_client().post(url, headers=bearer(token), json={"changes": [
        {"kind": "repair_equipment", "count": 1}, {"kind": "equip_classrooms", "count": 1},
        {"kind": "add_evidence", "criterion": "1.1"}]})
    assert answer.status_code == 200, answer.json
    body = answer.json
    equipped = next(item for criterion in body["projected"]["criteria"] if criterion["code"] == "1.7"
                    for item in criterion["items"] if item["code"] == "1.7.a")
    assert equipped["points"] == 8  # both classrooms equipped: the TV repaired, 1B connected with a projector
    assert [(action["collection"], action["op"]) for action in body["actions"]] == [
        ("equipment", "update"), ("rooms", "update"), ("equipment", "create"), ("evidence", "link")]
    assert body["cost_vnd"] == 2_000_000 + 1_500_000 + 12_000_000
    again = app.test_client().get(f"/api/v1/schools/{small_school.id}/score", headers=bearer(token)).json
    assert again["groups"] == body["today"]["groups"]  # nothing was changed


def test_an_impossible_whatif_is_a_400_naming_the_change(app, build, small_school):
    token = build.token(build.user("staff", school=small_school))
    answer = app.test_client().post(f"/api/v1/schools/{small_school.id}/planner/whatif", headers=bearer(token),
                                    json={"changes": [{"kind": "build_studio"}, {"kind": "repair_equipment",
                                                                                   "count": 3}]})
    assert answer.status_code == 400
    assert list(answer.json["error"]["fields"]) == ["changes.1"]


def test_next_level_gives_the_cheapest_path_and_409_at_the_top(app, build, small_school):
    token = build.token(build.user("principal", school=small_school))
    client = app.test_client()
    answer = client.get(f"/api/v1/schools/{small_school.id}/planner/next-level?group=1", headers=bearer(token))
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["group"], body["from_level"], body["to_level"]) == ("1", 1, 2)
    projected = next(group for group in body["projected"]["groups"] if group["code"] == "1")
    assert projected["level"] == 2 and projected["mandatory_met"]
    assert body["cost_vnd"] == sum(action["cost_vnd"] for action in body["actions"])
    assert client.get(f"/api/v1/schools/{small_school.id}/planner/next-level?group=9",
                      headers=bearer(token)).status_code == 400
    top = build.school(largest_class_size=30)
    build.records("software", top, [{"name": "SMAS", "category": "management", "capabilities": [
        "student_records", "e_gradebook", "e_transcript", "staff_records", "facility_management", "school_health",
        "accounting", "sector_database_sync", "parent_connection", "online_admission", "cashless_payment"]}])
    admin = build.token(build.user("admin"))
    answer = client.get(f"/api/v1/schools/{top.id}/planner/next-level?group=2", headers=bearer(admin))
    assert answer.status_code == 409


def test_a_district_officer_plans_only_for_their_district(app, build, small_school):
    officer = build.token(build.user("district", district=small_school.district))
    elsewhere = build.token(build.user("district", district=build.school(district="Cư Jút").district))
    url = f"/api/v1/schools/{small_school.id}/planner/next-level?group=2"
    assert app.test_client().get(url, headers=bearer(officer)).status_code == 200
    assert app.test_client().get(url, headers=bearer(elsewhere)).status_code == 404


def test_unit_prices_are_those_of_the_index_file(app, build):
    token = build.token(build.user("staff", school=build.school()))
    body = app.test_client().get("/api/v1/unit-prices", headers=bearer(token)).json
    assert (body["currency"], body["projector"], body["capabilities"]["lms"]) == ("VND", 12_000_000, 30_000_000)
