"""The index file and its loader: the shipped QĐ 4725 file loads, and a file that does not
add up is refused with its line and the reason. Pure tests: no app objects, no database."""

from __future__ import annotations

import pytest

from app.framework.loader import (
    BUILTIN_DIR,
    CapabilityRule,
    Criterion,
    FrameworkError,
    Item,
    Requirement,
    builtin_frameworks,
    load_framework_file,
    load_framework_text,
)

SHIPPED_PATH = BUILTIN_DIR / "qd4725-2022.yaml"
SHIPPED = SHIPPED_PATH.read_text(encoding="utf-8")


def shipped_with(old: str, new: str) -> str:
    """The shipped file with its one occurrence of ``old`` replaced by ``new``."""
    assert SHIPPED.count(old) == 1, old
    return SHIPPED.replace(old, new)


def refusal(text: str) -> FrameworkError:
    with pytest.raises(FrameworkError) as refused:
        load_framework_text(text, name="qd.yaml")
    return refused.value


# --- the shipped file -------------------------------------------------------------------

def test_the_shipped_index_loads_with_both_groups_out_of_100():
    framework = load_framework_file(SHIPPED_PATH)
    assert framework.code == "qd4725-2022"
    assert framework.title.startswith("Bộ chỉ số đánh giá mức độ chuyển đổi số")
    assert [(group.code, group.max) for group in framework.groups] == [("1", 100), ("2", 100)]
    assert [criterion.code for criterion in framework.criteria] == [
        "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1", "2.2", "2.3", "2.4"]
    assert [criterion.code for criterion in framework.criteria if criterion.mandatory] == ["1.1", "1.2", "2.1", "2.2"]
    assert framework.level_labels == ("Không đạt", "chưa đáp ứng", "đáp ứng cơ bản", "đáp ứng tốt")
    assert (framework.settings.mandatory_policy, framework.settings.overall_level) == ("withhold_level", "none")


def test_every_sub_item_of_the_decision_is_there_with_its_points():
    framework = load_framework_file(SHIPPED_PATH)
    points = {item.code: item.max for item in framework.scored_items}
    assert points == {
        "1.3.a": 6, "1.3.b": 6, "1.3.c": 6, "1.3.d": 6, "1.3.e": 6, "1.4": 10, "1.5.a": 15, "1.5.b": 5,
        "1.6.a": 7, "1.6.b": 7, "1.6.c": 6, "1.7.a": 8, "1.7.b": 7, "1.7.c": 5,
        "2.3.a": 6, "2.3.b": 6, "2.3.c": 20, "2.3.d": 6, "2.3.e": 10, "2.3.f": 10, "2.3.g": 6, "2.3.h": 6,
        "2.4.a": 8, "2.4.b": 12, "2.4.c": 10,
    }


def test_each_interpretation_is_data_the_portal_can_show():
    framework = load_framework_file(SHIPPED_PATH)
    for code in ("1.3", "1.4", "1.7.b", "2.3.c"):
        assert framework.find(code).interpretation, code
    assert framework.settings.mandatory_policy_interpretation
    assert framework.settings.overall_level_interpretation


def test_find_and_capability_needs():
    framework = load_framework_file(SHIPPED_PATH)
    assert isinstance(framework.find("1.4"), Criterion)
    assert isinstance(framework.find("2.3.c"), Item)
    assert framework.find("9.9") is None
    assert framework.find("1.5.a").rule == CapabilityRule("computer_based_testing",
                                                          requires=Requirement("lab_working_computers", 1))
    needs = framework.capability_needs()
    assert ("lms_assign_self_study", "lms") in needs and ("online_teaching", None) in needs
    assert ("e_gradebook", None) in needs and ("e_transcript", None) in needs
    assert len(needs) == 18


def test_builtin_frameworks_are_found_by_code():
    assert list(builtin_frameworks()) == ["qd4725-2022"]


@pytest.mark.parametrize(("policy", "overall"), [("cap_level_1", "lowest_of_groups"), ("ignore", "none")])
def test_settings_are_values_in_the_file(policy, overall):
    text = shipped_with("value: withhold_level", f"value: {policy}").replace("value: none", f"value: {overall}")
    settings = load_framework_text(text).settings
    assert (settings.mandatory_policy, settings.overall_level) == (policy, overall)


# --- refusals: each names the line and the reason ---------------------------------------

LEVELS_1_3 = "levels: [{level: 1}, {level: 2, from: 10}, {level: 3, over: 20}]"
BANDS_1_4 = "{from: 20, points: 6}, {from: 40"
BANDS_1_7_A = "{from: 20, points: 5}, {over: 60, points: 8}"
MANDATORY_2_2 = '        rule: {type: evidence_present}\n\n      - code: "2.3"'

# (shipped text, replaced by, where the refusal points in the changed file, reason)
REFUSALS = [
    pytest.param('    max: 100\n    criteria:\n      - code: "1.1"', '    max: 90\n    criteria:\n      - code: "1.1"',
                 "max: 90", "group 1: criterion points add up to 100, but max is 90.",
                 id="group max is not the sum of its criteria"),
    pytest.param("max: 6\n            rule: {type: capability, capability: online_teaching}",
                 "max: 4\n            rule: {type: capability, capability: online_teaching}",
                 f"max: 30\n        {LEVELS_1_3}", "criterion 1.3: sub-item points add up to 28, but max is 30.",
                 id="criterion max is not the sum of its sub-items"),
    pytest.param("- title: Học bạ điện tử\n                max: 10", "- title: Học bạ điện tử\n                max: 8",
                 "max: 20\n            interpretation:", "sub-item 2.3.c: part points add up to 18, but max is 20.",
                 id="sub-item max is not the sum of its parts"),
    pytest.param(f"max: 30\n        {LEVELS_1_3}", f"max: 30\n        weight: 2\n        {LEVELS_1_3}",
                 "weight: 2", "criterion 1.3: unknown key 'weight' (allowed: ", id="unknown key"),
    pytest.param("{type: room_present, fact: studio_rooms}", "{type: room_exists, fact: studio_rooms}",
                 "room_exists", "sub-item 1.7.c: unknown rule type 'room_exists'", id="unknown rule type"),
    pytest.param("{type: room_present, fact: studio_rooms}", "{type: room_present, fact: studios}",
                 "fact: studios", "sub-item 1.7.c: fact: unknown count fact 'studios'", id="unknown fact"),
    pytest.param("capability: school_health}", "capability: health}", "capability: health}",
                 "sub-item 2.3.f: unknown capability 'health'", id="unknown capability"),
    pytest.param("capability: lms_answer_questions, with: lms}", "capability: lms_answer_questions, with: lmss}",
                 "with: lmss", "sub-item 1.3.c: unknown capability 'lmss'", id="unknown with capability"),
    pytest.param("- code: 2.3.h", "- code: 2.3.g", "- code: 2.3.g\n            title: Kết nối",
                 "code 2.3.g is already used on line", id="duplicate code"),
    pytest.param("- code: 1.3.e", "- code: 1.4.e", "code: 1.4.e",
                 "code 1.4.e must start with 1.3.", id="sub-item listed under another criterion"),
    pytest.param(BANDS_1_4, "{from: 1, points: 6}, {from: 40", "{from: 1, points: 6}",
                 "criterion 1.4: band boundaries must increase: from 1 comes after from 1.", id="bands not increasing"),
    pytest.param(BANDS_1_7_A, "{over: 0, points: 5}, {over: 60, points: 8}", "{over: 0, points: 5}",
                 "sub-item 1.7.a: band boundaries must increase: over 0 comes after over 0.",
                 id="the same boundary twice"),
    pytest.param(BANDS_1_4, "{from: 20, points: 2}, {from: 40", "{from: 20, points: 2}",
                 "criterion 1.4: band points must increase: 2 comes after 3.", id="band points not increasing"),
    pytest.param(BANDS_1_7_A, "{from: 20, points: 5}, {over: 60, points: 9}", "{over: 60, points: 9}",
                 "sub-item 1.7.a: the best band gives 9 points, but max is 8.", id="band points above max"),
    pytest.param(BANDS_1_7_A, "{from: 20, points: 5}, {over: 160, points: 8}", "{over: 160",
                 "sub-item 1.7.a: a percentage boundary must be at most 100, not 160.", id="percentage above 100"),
    pytest.param(LEVELS_1_3, "levels: [{level: 1}, {level: 2, from: 10}, {level: 3, over: 5}]", "{level: 3, over: 5}",
                 "criterion 1.3: level boundaries must increase: level 3 over 5 comes after level 2 from 10.",
                 id="criterion level thresholds not increasing"),
    pytest.param(LEVELS_1_3, "levels: [{level: 1}, {level: 2, from: 10}, {level: 3, over: 30}]", "{level: 3, over: 30}",
                 "criterion 1.3: level 3 can never be reached: over 30 with max 30.", id="unreachable level"),
    pytest.param("- {level: 3, over: 75}", "- {level: 3, over: 45}", "{level: 3, over: 45}",
                 "group_levels: level boundaries must increase: level 3 over 45 comes after level 2 from 50.",
                 id="group level thresholds not increasing"),
    pytest.param("{max_ratio: 3, level: 2, points: 5}", "{max_ratio: 0.5, level: 2, points: 5}", "max_ratio: 0.5",
                 "sub-item 1.7.b: level thresholds must increase: max_ratio 0.5 comes after 1.",
                 id="ratio thresholds not increasing"),
    pytest.param("{max_ratio: 1, level: 3, points: 7}", "{level: 3, points: 7}", "{level: 3, points: 7}",
                 "sub-item 1.7.b: only the last level may leave out max_ratio.", id="catch-all ratio level not last"),
    pytest.param("title: Có ban hành quy chế tổ chức dạy học trực tuyến\n        mandatory: true\n",
                 "title: Có ban hành quy chế tổ chức dạy học trực tuyến\n        mandatory: true\n        max: 5\n",
                 "max: 5\n        rule: {type: evidence_present}",
                 "criterion 1.2: a mandatory criterion has no max; it is met, not scored.",
                 id="mandatory criterion with points"),
    pytest.param(MANDATORY_2_2, MANDATORY_2_2.replace("evidence_present", "room_present, fact: studio_rooms"),
                 MANDATORY_2_2.replace("evidence_present", "room_present, fact: studio_rooms"),
                 "criterion 2.2: a mandatory criterion is met by evidence: use type evidence_present.",
                 id="mandatory criterion met by something else"),
    pytest.param("value: withhold_level", "value: withhold", "value: withhold\n",
                 "settings: mandatory_policy: unknown mandatory_policy 'withhold' "
                 "(known: withhold_level, cap_level_1, ignore).", id="unknown mandatory policy"),
    pytest.param("value: none", "value: highest", "value: highest", "unknown overall_level 'highest'",
                 id="unknown overall level setting"),
    pytest.param(f"max: 30\n        {LEVELS_1_3}", f"max: thirty\n        {LEVELS_1_3}", "max: thirty",
                 "criterion 1.3: max must be a whole number, not 'thirty'.", id="max not a number"),
    pytest.param(f"max: 30\n        {LEVELS_1_3}", f"max: 30\n        max: 31\n        {LEVELS_1_3}", "max: 31",
                 "criterion 1.3: key 'max' appears twice.", id="duplicate key"),
    pytest.param("max: 10\n        levels: [{level: 1}, {level: 2, from: 4}",
                 "max: 10\n        items: []\n        levels: [{level: 1}, {level: 2, from: 4}",
                 'code: "1.4"', "criterion 1.4: give either one rule or a list of items.", id="both rule and items"),
]


@pytest.mark.parametrize(("old", "new", "where", "reason"), REFUSALS)
def test_a_bad_index_is_refused_with_its_line_and_reason(old, new, where, reason):
    changed = shipped_with(old, new)
    assert changed.count(where) == 1, where
    line = changed[:changed.index(where)].count("\n") + 1
    refused = refusal(changed)
    assert (refused.line, str(refused)[:str(refused).index(": ") + 2]) == (line, f"qd.yaml line {line}: ")
    assert reason in str(refused)


def test_the_line_points_at_the_offending_key_in_a_small_file():
    text = "code: tiny\ntitle: Tiny\ndecision: none\nsettings: {}\nlevel_labels: {0: a, 1: b}\n" \
           "group_levels:\n  - {level: 1}\ngroups:\n  - code: '1'\n    title: G\n    max: 10\n    criteria:\n" \
           "      - code: '1.1'\n        title: C\n        max: 10\n        levels: [{level: 1}]\n" \
           "        rule: {type: count_bands, fact: approved_materials, bands: [{points: 10}]}\n"
    refused = refusal(text)
    assert str(refused) == "qd.yaml line 17: criterion 1.1: missing from (>=) or over (>)."


@pytest.mark.parametrize(("text", "reason"), [
    ("code: x\ntitle: [unclosed\n", "qd.yaml line 3: invalid YAML"),
    ("", "qd.yaml: the file is empty."),
    ("- just\n- a list\n", "qd.yaml line 1: the file: expected a mapping of keys to values."),
    ("code: x\n",
     "qd.yaml line 1: the file: missing keys decision, group_levels, groups, level_labels, settings, title."),
])
def test_what_is_not_an_index_at_all(text, reason):
    assert str(refusal(text)).startswith(reason)


def test_a_missing_file_is_refused_by_name(tmp_path):
    with pytest.raises(FrameworkError, match="absent.yaml: cannot be read"):
        load_framework_file(tmp_path / "absent.yaml")
