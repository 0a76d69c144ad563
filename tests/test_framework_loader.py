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

pytestmark = pytest.mark.database_free

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
MANDATORY_1_2 = '        mandatory: true\n        rule: {type: evidence_present}\n\n      - code: "1.3"'
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
    pytest.param(MANDATORY_1_2, MANDATORY_1_2.replace("mandatory: true\n", "mandatory: true\n        max: 5\n"),
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


# --- what each criterion needs as evidence, and the words that suggest it ----------------

def test_every_criterion_says_what_evidence_it_needs_and_how_documents_word_it():
    framework = load_framework_file(SHIPPED_PATH)
    for target in (*framework.criteria, framework.find("2.3.a")):
        assert target.evidence_needed.startswith("cần "), target.code
        assert target.evidence_keywords and all(keyword.strip() for keyword in target.evidence_keywords), target.code
    assert "kế hoạch tổ chức dạy học trực tuyến" in framework.find("1.1").evidence_needed
    assert "quy chế dạy học trực tuyến" in framework.find("1.2").evidence_keywords
    assert "biên bản kiểm kê" in framework.find("1.7").evidence_needed
    assert "quy chế sử dụng hệ thống quản trị nhà trường" in framework.find("2.3.a").evidence_keywords
    assert framework.find("2.3.b").evidence_needed is None and framework.find("2.3.b").evidence_keywords == ()


def test_evidence_is_optional_and_either_part_may_come_alone():
    text = ("code: tiny\ntitle: Tiny\ndecision: none\nsettings: {}\nlevel_labels: {0: a, 1: b}\n"
            "group_levels:\n  - {level: 1}\ngroups:\n  - code: '1'\n    title: G\n    max: 10\n    criteria:\n"
            "      - code: '1.1'\n        title: C\n        mandatory: true\n        rule: {type: evidence_present}\n"
            "        evidence: {needed: \"cần   kế hoạch\n  đã ban hành\"}\n"
            "      - code: '1.2'\n        title: D\n        mandatory: true\n        rule: {type: evidence_present}\n"
            "      - code: '1.3'\n        title: E\n        max: 10\n        levels: [{level: 1}]\n"
            "        items:\n          - code: 1.3.a\n            title: F\n            max: 10\n"
            "            rule: {type: evidence_present}\n            evidence: {keywords: [Quy chế, 2023]}\n")
    framework = load_framework_text(text)
    assert (framework.find("1.1").evidence_needed, framework.find("1.1").evidence_keywords) == (
        "cần kế hoạch đã ban hành", ())
    assert (framework.find("1.2").evidence_needed, framework.find("1.2").evidence_keywords) == (None, ())
    assert (framework.find("1.3.a").evidence_needed, framework.find("1.3.a").evidence_keywords) == (
        None, ("Quy chế", "2023"))


KEYWORDS_1_2 = "            - quy chế dạy học trực tuyến\n"
NEEDED_2_3_A = ("              needed: >-\n"
                "                cần quy chế sử dụng hệ thống quản trị nhà trường, ban hành kèm theo quyết định của\n"
                "                hiệu trưởng\n")
RULE_2_3_B = "            rule: {type: capability, capability: student_records}\n"

EVIDENCE_REFUSALS = [
    pytest.param(KEYWORDS_1_2, KEYWORDS_1_2 + "            - Quy Chế Dạy Học  Trực Tuyến\n", "- Quy Chế Dạy Học",
                 "criterion 1.2: evidence: keyword 'Quy Chế Dạy Học Trực Tuyến' repeats 'quy chế dạy học trực tuyến'.",
                 id="the same keyword twice, in other case"),
    pytest.param(KEYWORDS_1_2, KEYWORDS_1_2 + "            - quy che day hoc truc tuyen\n", "- quy che day",
                 "criterion 1.2: evidence: keyword 'quy che day hoc truc tuyen' repeats",
                 id="the same keyword unaccented"),
    pytest.param(KEYWORDS_1_2, KEYWORDS_1_2 + "            - ''\n", "- ''",
                 "criterion 1.2: evidence: a keyword must be non-empty text.", id="an empty keyword"),
    pytest.param(KEYWORDS_1_2, KEYWORDS_1_2 + "            - [kế hoạch]\n", "- [kế hoạch]",
                 "criterion 1.2: evidence: a keyword must be non-empty text.", id="a keyword that is a list"),
    pytest.param(KEYWORDS_1_2, KEYWORDS_1_2 + "            - '– / –'\n", "- '– / –'",
                 "criterion 1.2: evidence: keyword '– / –' has no letters or digits.", id="a keyword without words"),
    pytest.param(KEYWORDS_1_2, KEYWORDS_1_2 + f"            - {'dạy học ' * 20}\n", "- dạy học dạy học",
                 "criterion 1.2: evidence: a keyword has at most 120 characters.", id="a keyword too long"),
    pytest.param(NEEDED_2_3_A, "              needed: ''\n", "needed: ''",
                 "sub-item 2.3.a: evidence: needed must be non-empty text.", id="empty needed text"),
    pytest.param(NEEDED_2_3_A, "              needed: [a, b]\n", "needed: [a, b]",
                 "sub-item 2.3.a: evidence: needed must be non-empty text.", id="needed text that is a list"),
    pytest.param(NEEDED_2_3_A, NEEDED_2_3_A + "              example: hợp đồng\n", "example: hợp đồng",
                 "sub-item 2.3.a: evidence: unknown key 'example' (allowed: keywords, needed).",
                 id="unknown key in evidence"),
    pytest.param(RULE_2_3_B, RULE_2_3_B + "            evidence: {keywords: học sinh}\n", "evidence: {keywords",
                 "sub-item 2.3.b: evidence: keywords must be a non-empty list.", id="keywords not a list"),
    pytest.param(RULE_2_3_B, RULE_2_3_B + "            evidence: {keywords: []}\n", "evidence: {keywords",
                 "sub-item 2.3.b: evidence: keywords must be a non-empty list.", id="no keywords"),
    pytest.param(RULE_2_3_B, RULE_2_3_B + "            evidence: {}\n", "evidence: {}",
                 "sub-item 2.3.b: evidence: give needed, keywords or both.", id="empty evidence"),
    pytest.param(RULE_2_3_B, RULE_2_3_B + "            evidence: cần ảnh chụp\n", "evidence: cần ảnh chụp",
                 "sub-item 2.3.b: evidence: expected a mapping of keys to values.", id="evidence that is text"),
]


@pytest.mark.parametrize(("old", "new", "where", "reason"), EVIDENCE_REFUSALS)
def test_bad_evidence_keys_are_refused_with_their_line_and_reason(old, new, where, reason):
    test_a_bad_index_is_refused_with_its_line_and_reason(old, new, where, reason)
