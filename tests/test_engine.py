"""The scoring engine against QĐ 4725: facts in, points, levels and explanations out.
Pure tests: no app objects, no database."""

from __future__ import annotations

import dataclasses
import json

import pytest

from app.framework.engine import (
    NOT_MET_LABEL,
    Adjustment,
    AdjustmentError,
    Facts,
    FactsError,
    GroupScore,
    score,
)
from app.framework.loader import BUILTIN_DIR, COUNT_FACTS, Settings, load_framework_file, load_framework_text

pytestmark = pytest.mark.database_free

QD_4725 = load_framework_file(BUILTIN_DIR / "qd4725-2022.yaml")
SHIPPED_TEXT = (BUILTIN_DIR / "qd4725-2022.yaml").read_text(encoding="utf-8")

EVERY_CAPABILITY = {capability for capability, _with in QD_4725.capability_needs()} | {"lms"}
MANDATORY = ("1.1", "1.2", "2.1", "2.2")


def school(software=(), evidence=None, **counts) -> Facts:
    """Facts of a school with ``counts`` (the others 0) and ``software`` as (name,
    capabilities) pairs in use, reported the way the database gatherer does: for each
    (capability, with) the framework asks about, the software having both."""
    providers = {}
    for capability, with_capability in QD_4725.capability_needs():
        providers[(capability, with_capability)] = sorted(
            name for name, capabilities in software
            if capability in capabilities and (with_capability is None or with_capability in capabilities))
    return Facts(counts={**dict.fromkeys(COUNT_FACTS, 0), **counts}, software=providers, evidence=evidence or {})


def item(scorecard, code):
    return next(entry for criterion in scorecard.criteria for entry in criterion.items if entry.code == code)


def with_settings(**settings):
    return dataclasses.replace(QD_4725, settings=Settings(**settings))


# --- Trường Tiểu học Chu Văn An, 2022–2023 (framework-4725.md) --------------------------

MANAGEMENT_SYSTEM = ("Phần mềm quản lý trường học", {"student_records", "staff_records", "facility_management",
                                                     "school_health", "accounting", "sector_database_sync"})
CHU_VAN_AN_SOFTWARE = [("Google Meet", {"online_teaching"}), MANAGEMENT_SYSTEM, ("Zalo", {"parent_connection"})]
CHU_VAN_AN_COUNTS = dict(classrooms=15, equipped_classrooms=8, lab_working_computers=21, largest_class_size=35,
                         studio_rooms=0, approved_materials=0, teachers=20, teachers_training_account=20,
                         teachers_using_software=20, teachers_building_materials=2)
CHU_VAN_AN_EVIDENCE = dict.fromkeys(["1.1", "1.2", "2.1", "2.2", "2.3.a"], "accepted")


def chu_van_an(evidence=CHU_VAN_AN_EVIDENCE) -> Facts:
    return school(CHU_VAN_AN_SOFTWARE, evidence, **CHU_VAN_AN_COUNTS)


@pytest.mark.parametrize(("code", "points", "level", "label"), [
    ("1.3", 6, 1, "chưa đáp ứng"),
    ("1.4", 0, 0, "Không đạt"),
    ("1.5", 0, 0, "Không đạt"),
    ("1.6", 16, 3, "đáp ứng tốt"),
    ("1.7", 10, 2, "đáp ứng cơ bản"),
    ("2.3", 50, 2, "đáp ứng cơ bản"),
    ("2.4", 8, 1, "chưa đáp ứng"),
])
def test_chu_van_an_criteria_match_the_schools_own_table(code, points, level, label):
    criterion = score(QD_4725, chu_van_an()).criterion(code)
    assert (criterion.points, criterion.level, criterion.level_label) == (points, level, label)


def test_chu_van_an_groups_match_the_schools_own_table():
    scorecard = score(QD_4725, chu_van_an())
    teaching, administration = scorecard.group("1"), scorecard.group("2")
    assert (teaching.points, teaching.level, teaching.status_label) == (32, 1, "Mức 1 – chưa đáp ứng")
    assert (administration.points, administration.level) == (58, 2)
    assert administration.status_label == "Mức 2 – đáp ứng cơ bản"
    assert teaching.mandatory_met and administration.mandatory_met
    assert [criterion.met for criterion in map(scorecard.criterion, MANDATORY)] == [True] * 4
    assert scorecard.overall_level is None


def test_chu_van_an_sub_items_explain_themselves():
    scorecard = score(QD_4725, chu_van_an())
    assert item(scorecard, "1.3.a").basis == "Google Meet (đang sử dụng) → 6 điểm"
    assert item(scorecard, "1.6.c").basis == ("2/20 giáo viên xây dựng được học liệu số, bài giảng điện tử (10%) "
                                               "→ 2 điểm")
    assert item(scorecard, "1.7.a").basis == "8/15 phòng học có thiết bị trình chiếu và Internet (53%) → 5 điểm"
    assert item(scorecard, "1.7.b").basis == ("35 học sinh (lớp đông nhất) / 21 máy tính hoạt động trong phòng máy "
                                               "= 1,7 học sinh/máy → Mức 2 → 5 điểm")
    assert item(scorecard, "2.3.c").basis == (
        "Sổ điểm điện tử: Chưa có phần mềm đang dùng có chức năng sổ điểm điện tử → 0 điểm; "
        "Học bạ điện tử: Chưa có phần mềm đang dùng có chức năng học bạ điện tử → 0 điểm")
    assert item(scorecard, "1.7.a").hint == ("Cần thêm 2 phòng học có thiết bị trình chiếu và Internet "
                                              "để vượt 60% (10/15) (+3 điểm)")
    assert item(scorecard, "1.6.a").hint is None


def test_chu_van_an_without_evidence_keeps_its_points_but_no_recognised_level():
    scorecard = score(QD_4725, chu_van_an(evidence={}))
    teaching, administration = scorecard.group("1"), scorecard.group("2")
    assert (teaching.points, teaching.level, teaching.mandatory_met) == (32, 1, False)
    assert (teaching.recognised_level, teaching.status_label) == (None, NOT_MET_LABEL)
    assert teaching.missing_mandatory == ("1.1", "1.2")
    assert administration.points == 52  # 2.3.a, the regulation, needs its evidence too
    assert scorecard.criterion("1.1").basis == "Chưa có minh chứng được liên kết"


# --- every band edge --------------------------------------------------------------------

@pytest.mark.parametrize(("materials", "points", "level"), [
    (0, 0, 0), (1, 3, 1), (19, 3, 1), (20, 6, 2), (39, 6, 2), (40, 10, 3), (41, 10, 3),
])
def test_1_4_digital_materials_count_bands(materials, points, level):
    criterion = score(QD_4725, school(approved_materials=materials)).criterion("1.4")
    assert (criterion.points, criterion.level) == (points, level)
    assert [entry.code for entry in criterion.items] == ["1.4"]


def test_1_4_reading_of_forty_is_data_a_province_can_change():
    province = load_framework_text(SHIPPED_TEXT.replace("{from: 40, points: 10}", "{over: 40, points: 10}"))
    assert score(province, school(approved_materials=40)).criterion("1.4").points == 6
    assert score(province, school(approved_materials=41)).criterion("1.4").points == 10


@pytest.mark.parametrize(("with_account", "points", "shown"), [
    (0, 0, "0%"), (1, 2, "0,1%"), (299, 2, "29,9%"), (300, 4, "30%"), (600, 4, "60%"), (601, 7, "60,1%"),
    (1000, 7, "100%"),
])
def test_1_6_teacher_share_bands_are_decided_on_exact_shares(with_account, points, shown):
    entry = item(score(QD_4725, school(teachers=1000, teachers_training_account=with_account)), "1.6.a")
    assert entry.points == points
    assert entry.basis == f"{with_account}/1000 giáo viên có tài khoản bồi dưỡng trực tuyến ({shown}) → {points} điểm"


def test_1_6_c_tops_out_at_6():
    assert item(score(QD_4725, school(teachers=10, teachers_building_materials=7)), "1.6.c").points == 6


@pytest.mark.parametrize(("equipped", "points"), [(0, 0), (1, 2), (19, 2), (20, 5), (60, 5), (61, 8), (100, 8)])
def test_1_7_a_equipped_classroom_share(equipped, points):
    assert item(score(QD_4725, school(classrooms=100, equipped_classrooms=equipped)), "1.7.a").points == points


def test_a_share_of_nothing_scores_0_and_says_why():
    entry = item(score(QD_4725, school(classrooms=0)), "1.7.a")
    assert (entry.points, entry.basis) == (0, "Chưa có phòng học để tính tỉ lệ → 0 điểm")


@pytest.mark.parametrize(("pupils", "computers", "points", "ratio_shown"), [
    (35, 35, 7, "1"), (101, 100, 5, "1,01"), (30, 10, 5, "3"), (301, 100, 2, "3,01"), (90, 10, 2, "9"),
])
def test_1_7_b_pupils_per_working_lab_computer(pupils, computers, points, ratio_shown):
    entry = item(score(QD_4725, school(largest_class_size=pupils, lab_working_computers=computers)), "1.7.b")
    assert entry.points == points
    assert f"= {ratio_shown} học sinh/máy" in entry.basis


def test_1_7_b_without_a_working_lab_scores_0():
    entry = item(score(QD_4725, school(largest_class_size=35)), "1.7.b")
    assert (entry.points, entry.basis) == (0, "Chưa có máy tính hoạt động trong phòng máy → 0 điểm")
    assert entry.hint == "Cần thêm 1 máy tính hoạt động trong phòng máy → Mức 1 (+2 điểm)"


def test_1_7_b_without_a_class_size_scores_0_rather_than_guessing():
    entry = item(score(QD_4725, school(lab_working_computers=20)), "1.7.b")
    assert (entry.points, entry.hint) == (0, "Cần khai báo số học sinh (lớp đông nhất)")


@pytest.mark.parametrize(("studios", "points"), [(0, 0), (1, 5), (2, 5)])
def test_1_7_c_a_studio_room(studios, points):
    assert item(score(QD_4725, school(studio_rooms=studios)), "1.7.c").points == points


# --- software capabilities --------------------------------------------------------------

def test_a_capability_names_the_software_and_says_how_many_more():
    facts = Facts(counts=dict.fromkeys(COUNT_FACTS, 0),
                  software={("online_teaching", None): ["Google Meet", "MS Teams", "Zoom"]},
                  software_count={("online_teaching", None): 5})
    entry = item(score(QD_4725, facts), "1.3.a")
    assert (entry.points, entry.basis) == (6, "Google Meet, MS Teams, Zoom và 2 phần mềm khác (đang sử dụng) → 6 điểm")


def test_lms_functions_count_only_on_software_that_is_an_lms():
    outside_lms = school([("Zalo", {"lms_answer_questions", "parent_connection"}),
                          ("Google Forms", {"lms_regular_assessment"}), ("Moodle", {"lms"})])
    assert score(QD_4725, outside_lms).criterion("1.3").points == 0
    entry = item(score(QD_4725, outside_lms), "1.3.c")
    assert entry.basis == ("Chưa có hệ thống quản lý học tập (LMS/LCMS) đang dùng có chức năng "
                           "trả lời câu hỏi của học sinh → 0 điểm")
    lms = school([("Moodle", {"lms", "lms_assign_self_study", "lms_answer_questions"})])
    assert [entry.points for entry in score(QD_4725, lms).criterion("1.3").items] == [0, 6, 6, 0, 0]


def test_lms_functions_are_looked_up_under_their_with_key():
    answered_outside_lms = Facts(counts=dict.fromkeys(COUNT_FACTS, 0),
                                 software={("lms_answer_questions", None): ["Zalo"]})
    assert item(score(QD_4725, answered_outside_lms), "1.3.c").points == 0
    answered_in_lms = Facts(counts=dict.fromkeys(COUNT_FACTS, 0),
                            software={("lms_answer_questions", "lms"): ["Moodle"]})
    assert item(score(QD_4725, answered_in_lms), "1.3.c").points == 6


@pytest.mark.parametrize(("computers", "points"), [(0, 0), (1, 15)])
def test_1_5_a_computer_based_testing_needs_a_working_lab_computer(computers, points):
    testing = [("Phần mềm thi trắc nghiệm", {"computer_based_testing"})]
    entry = item(score(QD_4725, school(testing, lab_working_computers=computers)), "1.5.a")
    assert entry.points == points
    if not points:
        assert "cần ít nhất 1" in entry.basis
        assert entry.hint == "Cần ít nhất 1 máy tính hoạt động trong phòng máy (+15 điểm)"


def test_2_3_c_gradebook_and_transcript_are_10_each():
    gradebook_only = school([("SMAS", {"e_gradebook"})])
    assert item(score(QD_4725, gradebook_only), "2.3.c").points == 10
    assert item(score(QD_4725, school([("SMAS", {"e_gradebook", "e_transcript"})])), "2.3.c").points == 20


# --- evidence ---------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "met", "evidenced"), [(None, False, False), ("linked", True, False),
                                                         ("accepted", True, True)])
def test_a_mandatory_criterion_is_met_by_linked_evidence_and_evidenced_once_accepted(state, met, evidenced):
    criterion = score(QD_4725, school(evidence={"2.1": state} if state else {})).criterion("2.1")
    assert (criterion.mandatory, criterion.met, criterion.evidenced, criterion.points) == (True, met, evidenced, None)


@pytest.mark.parametrize(("state", "points", "evidenced_points"), [(None, 0, 0), ("linked", 6, 0), ("accepted", 6, 6)])
def test_2_3_a_the_regulation_scores_from_its_own_evidence(state, points, evidenced_points):
    entry = item(score(QD_4725, school(evidence={"2.3.a": state} if state else {})), "2.3.a")
    assert (entry.points, entry.evidenced_points) == (points, evidenced_points)


def test_evidenced_points_count_what_accepted_evidence_supports():
    facts = school(CHU_VAN_AN_SOFTWARE, {"1.7": "accepted", "1.3.a": "accepted", "1.6.a": "linked"},
                   **CHU_VAN_AN_COUNTS)
    scorecard = score(QD_4725, facts)
    assert scorecard.criterion("1.7").evidenced_points == 10  # evidence on a criterion supports its items
    assert scorecard.criterion("1.7").evidenced
    assert scorecard.criterion("1.3").evidenced_points == 6
    assert scorecard.criterion("1.6").evidenced_points == 0  # not yet accepted
    assert scorecard.group("1").evidenced_points == 16


# --- criterion and group levels --------------------------------------------------------

LMS_WITH_ALL_FUNCTIONS = ("Moodle", {"lms", "lms_assign_self_study", "lms_answer_questions",
                                     "lms_regular_assessment", "lms_parent_participation"})


@pytest.mark.parametrize(("points", "level"), [(0, 0), (1, 1), (9, 1), (10, 2), (20, 2), (21, 3), (30, 3)])
def test_1_3_levels(points, level):
    full = school([LMS_WITH_ALL_FUNCTIONS, ("Zoom", {"online_teaching"})])
    lowered = {}
    for code in ("1.3.a", "1.3.b", "1.3.c", "1.3.d", "1.3.e"):
        kept = min(6, points - sum(adjustment.points for adjustment in lowered.values()))
        lowered[code] = Adjustment(kept, "Kiểm tra thực tế")
    criterion = score(QD_4725, full, lowered).criterion("1.3")
    assert (criterion.points, criterion.level) == (points, level)


def group_2_with(points: int) -> GroupScore:
    """Group 2 of a school with every function and evidence, lowered by a reviewer to ``points``."""
    everything = school([("Hệ thống quản trị", EVERY_CAPABILITY)], dict.fromkeys(MANDATORY + ("2.3.a",), "accepted"))
    to_remove, lowered = 100 - points, {}
    for entry in QD_4725.find("2.3").items + QD_4725.find("2.4").items:
        cut = min(entry.max, to_remove)
        if cut:
            lowered[entry.code] = Adjustment(entry.max - cut, "Đánh giá ngoài")
            to_remove -= cut
    return score(QD_4725, everything, lowered).group("2")


@pytest.mark.parametrize(("points", "level", "status"), [
    (0, 1, "Mức 1 – chưa đáp ứng"), (49, 1, "Mức 1 – chưa đáp ứng"), (50, 2, "Mức 2 – đáp ứng cơ bản"),
    (75, 2, "Mức 2 – đáp ứng cơ bản"), (76, 3, "Mức 3 – đáp ứng tốt"), (100, 3, "Mức 3 – đáp ứng tốt"),
])
def test_group_levels(points, level, status):
    group = group_2_with(points)
    assert (group.points, group.level, group.recognised_level, group.status_label) == (points, level, level, status)


@pytest.mark.parametrize(("points", "next_level", "needed"), [(0, 2, 50), (49, 2, 1), (50, 3, 26), (75, 3, 1)])
def test_a_group_says_how_many_points_reach_the_next_level(points, next_level, needed):
    upcoming = group_2_with(points).next_level
    assert (upcoming.level, upcoming.points_needed) == (next_level, needed)


def test_a_group_at_the_top_level_has_no_next_level():
    assert group_2_with(76).next_level is None


def test_next_level_suggests_the_largest_gains_first():
    upcoming = score(QD_4725, chu_van_an()).group("1").next_level
    assert (upcoming.level, upcoming.label, upcoming.points_needed) == (2, "đáp ứng cơ bản", 18)
    assert upcoming.suggestions[0].startswith("1.5.a: ")
    assert "15 điểm" in upcoming.suggestions[0]
    assert len(upcoming.suggestions) == 3


def test_a_criterion_with_nothing_needs_one_point_for_level_1():
    upcoming = score(QD_4725, chu_van_an()).criterion("1.4").next_level
    assert (upcoming.level, upcoming.points_needed) == (1, 1)
    assert upcoming.suggestions == ("1.4: Cần thêm 1 học liệu số được tổ chuyên môn thông qua và hiệu trưởng "
                                    "phê duyệt (+3 điểm)",)


# --- mandatory policy and overall level (framework settings) ----------------------------

@pytest.mark.parametrize(("policy", "recognised", "status"), [
    ("withhold_level", None, "Chưa đạt điều kiện bắt buộc"),
    ("cap_level_1", 1, "Mức 1 – chưa đáp ứng (chưa đạt điều kiện bắt buộc)"),
    ("ignore", 2, "Mức 2 – đáp ứng cơ bản"),
])
def test_mandatory_policy_decides_what_an_unmet_condition_does(policy, recognised, status):
    missing_plan = dict.fromkeys(["1.1", "1.2", "2.1", "2.3.a"], "accepted")  # 2.2, the IT plan, is missing
    group = score(with_settings(mandatory_policy=policy), chu_van_an(missing_plan)).group("2")
    assert (group.points, group.level, group.mandatory_met) == (58, 2, False)
    assert (group.recognised_level, group.status_label, group.missing_mandatory) == (recognised, status, ("2.2",))


@pytest.mark.parametrize(("setting", "evidence", "overall"), [
    ("none", CHU_VAN_AN_EVIDENCE, None),
    ("lowest_of_groups", CHU_VAN_AN_EVIDENCE, 1),
    ("lowest_of_groups", {}, None),  # a withheld group level leaves no overall level
])
def test_overall_level_is_the_lower_group_only_when_the_setting_asks(setting, evidence, overall):
    assert score(with_settings(overall_level=setting), chu_van_an(evidence)).overall_level == overall


# --- adjustments ------------------------------------------------------------------------

def test_a_reviewer_lowers_a_sub_item_with_a_reason():
    scorecard = score(QD_4725, chu_van_an(), {"2.4.a": Adjustment(4, "Nhóm Zalo chưa có đủ phụ huynh")})
    entry = item(scorecard, "2.4.a")
    assert (entry.points, entry.ceiling, entry.adjustment.reason) == (4, 8, "Nhóm Zalo chưa có đủ phụ huynh")
    assert entry.basis == "Zalo (đang sử dụng) → 8 điểm; điều chỉnh xuống 4 điểm: Nhóm Zalo chưa có đủ phụ huynh"
    assert scorecard.criterion("2.4").points == 4
    assert scorecard.group("2").points == 54


def test_confirming_the_ceiling_keeps_the_points_and_the_reason():
    entry = item(score(QD_4725, chu_van_an(), {"2.4.a": Adjustment(8, "Đã kiểm tra nhóm Zalo")}), "2.4.a")
    assert (entry.points, entry.basis) == (8, "Zalo (đang sử dụng) → 8 điểm; giữ nguyên 8 điểm: Đã kiểm tra nhóm Zalo")


def test_a_fractional_adjustment_is_kept_and_shown_with_a_decimal_comma():
    scorecard = score(QD_4725, chu_van_an(), {"1.4": Adjustment(0, "Không có học liệu"),
                                              "1.3.a": Adjustment(2.5, "Chỉ dùng một học kỳ")})
    assert scorecard.criterion("1.3").points == 2.5
    assert item(scorecard, "1.3.a").basis.endswith("; điều chỉnh xuống 2,5 điểm: Chỉ dùng một học kỳ")
    assert scorecard.group("1").points == 28.5


@pytest.mark.parametrize(("code", "adjustment", "refusal"), [
    ("1.3.a", Adjustment(7, "Tốt"), "lên 7 điểm"),
    ("1.3.b", Adjustment(1, "Có LMS"), "lên 1 điểm"),  # the rule gives 0: nothing to raise
    ("1.3.a", Adjustment(-1, "Sai"), "không được âm"),
    ("1.3.a", Adjustment(3, "   "), "lý do"),
    ("1.3.z", Adjustment(3, "Sai mã"), "không phải là mục được chấm điểm"),
    ("1.1", Adjustment(0, "Chưa có kế hoạch"), "không phải là mục được chấm điểm"),
    ("1.3", Adjustment(3, "Cả tiêu chí"), "không phải là mục được chấm điểm"),
])
def test_adjustments_that_are_refused(code, adjustment, refusal):
    with pytest.raises(AdjustmentError, match=refusal) as refused:
        score(QD_4725, chu_van_an(), {code: adjustment})
    assert refused.value.code == code


# --- shape and inputs -------------------------------------------------------------------

def test_the_scorecard_serialises_in_the_api_shape():
    document = json.loads(json.dumps(score(QD_4725, chu_van_an()).to_dict(), ensure_ascii=False))
    assert document["framework"] == "qd4725-2022"
    assert document["groups"][0] | {"code": "1", "points": 32, "evidenced_points": 0, "max": 100, "level": 1,
                                    "mandatory_met": True} == document["groups"][0]
    by_code = {criterion["code"]: criterion for criterion in document["criteria"]}
    assert by_code["1.1"] | {"mandatory": True, "met": True} == by_code["1.1"]
    assert by_code["1.3"]["items"][0] | {"code": "1.3.a", "points": 6, "max": 6,
                                         "basis": "Google Meet (đang sử dụng) → 6 điểm"} == by_code["1.3"]["items"][0]
    assert list(by_code) == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1", "2.2", "2.3", "2.4"]


def test_facts_missing_a_count_are_refused():
    with pytest.raises(FactsError, match="teachers"):
        Facts(counts={name: 0 for name in COUNT_FACTS if name != "teachers"}, software={})


def test_unknown_evidence_states_are_refused():
    with pytest.raises(FactsError, match="rejected"):
        school(evidence={"1.1": "rejected"})


def test_looking_up_an_unknown_code_is_a_key_error():
    with pytest.raises(KeyError):
        score(QD_4725, school()).criterion("3.1")
