"""The upload form suggests the criteria a document most likely proves, from its title and
text and the keywords the index file keeps. Pure: the shipped index, no app objects."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.evidence.suggestions import Suggestion, suggest_criteria
from app.framework.loader import BUILTIN_DIR, load_framework_file, load_framework_text

pytestmark = pytest.mark.database_free

INDEX = load_framework_file(BUILTIN_DIR / "qd4725-2022.yaml")


def first(title: str = "", text: str = "") -> str | None:
    found = suggest_criteria(INDEX, text, title=title)
    return found[0].code if found else None


@pytest.mark.parametrize(("title", "code"), [
    ("Kế hoạch tổ chức dạy học trực tuyến năm học 2022-2023", "1.1"),
    ("Quy chế tổ chức dạy học trực tuyến", "1.2"),
    ("Quyết định thành lập Ban chỉ đạo chuyển đổi số", "2.1"),
    ("Kế hoạch ứng dụng công nghệ thông tin, chuyển đổi số", "2.2"),
    ("Quy chế sử dụng hệ thống quản trị nhà trường", "2.3.a"),
    ("Biên bản kiểm kê thiết bị phòng học năm 2023", "1.7"),
    ("Ảnh chụp màn hình lớp học trên Google Meet", "1.3"),
    ("Danh sách giáo viên hoàn thành bồi dưỡng thường xuyên", "1.6"),
    ("Ảnh chụp nhóm Zalo kết nối gia đình và nhà trường", "2.4"),
])
def test_a_document_titled_like_a_criterion_s_evidence_suggests_it_first(title, code):
    assert first(title=title) == code
    assert first(text=title) == code  # the same words found in the text alone


@pytest.mark.parametrize(("title", "code"), [
    ("ke hoach to chuc day hoc truc tuyen nam hoc 2022-2023", "1.1"),
    ("QUY CHE TO CHUC DAY HOC TRUC TUYEN", "1.2"),
    ("quyet dinh thanh lap ban chi dao chuyen doi so", "2.1"),
    ("Kế hoạch ứng dụng CNTT năm học 2023 - 2024", "2.2"),  # the abbreviation written out
    ("Quy che su dung he thong quan tri nha truong", "2.3.a"),
])
def test_text_without_diacritics_or_with_abbreviations_is_understood(title, code):
    assert first(title=title) == code


def test_what_a_suggestion_holds():
    found = suggest_criteria(INDEX, "", title="Quy chế sử dụng hệ thống quản trị nhà trường")
    assert [suggestion.code for suggestion in found] == ["2.3.a", "2.3"]
    assert found[0] == Suggestion("2.3.a", "Quy chế sử dụng hệ thống quản trị nhà trường", found[0].score,
                                  ("quy chế sử dụng hệ thống quản trị nhà trường",))
    assert found[1].matched == ("hệ thống quản trị nhà trường",)
    assert found[0].score > found[1].score > 0


def test_a_whole_phrase_counts_and_its_words_scattered_do_not():
    assert first(text="Quy chế làm việc của tổ; lịch dạy học; họp trực tuyến hằng tuần.") is None
    assert first(text="Ban hành kèm theo quy chế dạy học trực tuyến.") == "1.2"


def test_the_title_weighs_more_than_the_text():
    text = "Căn cứ Kế hoạch dạy học trực tuyến số 12/KH-CVA của nhà trường."
    assert first(title="Quy chế tổ chức dạy học trực tuyến", text=text) == "1.2"
    assert first(text=text) == "1.1"


def test_what_a_long_document_repeats_counts_but_with_diminishing_weight():
    plan = ("Thực hiện nhiệm vụ ứng dụng công nghệ thông tin và chuyển đổi số năm học 2022 - 2023. "
            + "Sử dụng phần mềm Google Meet để họp. " * 3
            + "Triển khai kế hoạch ứng dụng công nghệ thông tin, chuyển đổi số đến toàn thể giáo viên. " * 40)
    found = suggest_criteria(INDEX, plan, limit=5)
    assert [suggestion.code for suggestion in found] == ["2.2", "1.3"]
    assert found[0].score < 40 * found[1].score


def test_empty_or_unrelated_input_suggests_nothing_and_the_limit_holds():
    assert suggest_criteria(INDEX, "") == []
    assert suggest_criteria(INDEX, " \n\t–/ ", title="  ") == []
    assert suggest_criteria(INDEX, "Thực đơn bữa trưa tuần 3: cơm, canh, trái cây.") == []
    many = "kế hoạch dạy học trực tuyến, quy chế dạy học trực tuyến, máy chiếu, học liệu số, Zalo, sổ điểm điện tử"
    assert len(suggest_criteria(INDEX, many)) == 3
    assert len(suggest_criteria(INDEX, many, limit=5)) == 5
    assert suggest_criteria(INDEX, many, limit=0) == []


def test_ties_keep_the_index_order_and_every_call_gives_the_same_answer():
    text = ("code: tiny\ntitle: Tiny\ndecision: none\nsettings: {}\nlevel_labels: {0: a, 1: b}\n"
            "group_levels:\n  - {level: 1}\ngroups:\n  - code: '1'\n    title: G\n    max: 10\n    criteria:\n"
            "      - code: '1.2'\n        title: B\n        mandatory: true\n        rule: {type: evidence_present}\n"
            "        evidence: {keywords: [máy chiếu]}\n"
            "      - code: '1.1'\n        title: A\n        max: 10\n        levels: [{level: 1}]\n"
            "        rule: {type: room_present, fact: studio_rooms}\n        evidence: {keywords: [Máy chiếu]}\n")
    tiny = load_framework_text(text)
    answers = {tuple(suggest_criteria(tiny, "Biên bản bàn giao máy chiếu")) for _ in range(3)}
    assert len(answers) == 1
    assert [suggestion.code for suggestion in answers.pop()] == ["1.2", "1.1"]


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=300), st.text(max_size=80))
def test_any_text_gives_a_ranked_list_never_an_error(text, title):
    found = suggest_criteria(INDEX, text, title=title)
    assert len(found) <= 3
    assert [suggestion.score for suggestion in found] == sorted((suggestion.score for suggestion in found),
                                                                reverse=True)
    assert all(suggestion.score > 0 and suggestion.matched for suggestion in found)
