"""The upload form is pre-filled from the document's header: number, date, issuer and kind,
read from text laid out as extraction and OCR give it (Nghị định 30/2020 layout)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.evidence import header as header_module
from app.evidence.header import Header, read_header

pytestmark = pytest.mark.database_free

# A Word document: the two header columns one after the other.
DECISION = """UBND HUYỆN ĐẮK SONG
TRƯỜNG TIỂU HỌC CHU VĂN AN
Số: 11/QĐ-CVA
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Đắk Song, ngày 15 tháng 02 năm 2023
QUYẾT ĐỊNH
Về việc ban hành Quy chế sử dụng hệ thống quản trị nhà trường
HIỆU TRƯỞNG TRƯỜNG TIỂU HỌC CHU VĂN AN
Căn cứ Thông tư số 28/2020/TT-BGDĐT ngày 4 tháng 9 năm 2020 của Bộ trưởng Bộ GD&ĐT;"""

# A PDF's text layer: the columns side by side on one line.
PLAN_PDF = """UBND HUYỆN ĐẮK SONG CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
TRƯỜNG TIỂU HỌC CHU VĂN AN Độc lập - Tự do - Hạnh phúc
Số: 18/KH-THCVA Đắk Song, ngày 16 tháng 02 năm 2023
KẾ HOẠCH
Thực hiện nhiệm vụ ứng dụng công nghệ thông tin và chuyển đổi số năm học 2022 - 2023"""

# OCR of a stamped scan: accents and letters misread, a rule under the name, spaces around / and -.
DECISION_OCR = """UBND HUYỆN ĐẮK SONG CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM
TRƯỜNG TIÊU HỌC CHU VĂN AN Độc lập — Tự do — Hạnh phúc
——————
S6: 11 / QD - CVA Đắk Song, ngảy l6 thảng O2 nãm 2O23
QUYÉT ĐỊNH
Vê việc thành lập Ban chỉ đạo chuyển đổi số"""

# Typed without diacritics.
DECISION_PLAIN = """UBND HUYEN DAK SONG
TRUONG TIEU HOC CHU VAN AN
So 11/QD-CVA
CONG HOA XA HOI CHU NGHIA VIET NAM
Doc lap - Tu do - Hanh phuc
Dak Song, ngay 5 thang 9 nam 2022
QUYET DINH"""

# A draft whose number and date are left blank (a real school plan, tab-separated columns).
DRAFT = """ \tUBND QUẬN LONG BIÊN
TRƯỜNG THCS THƯỢNG THANH
Số:         /KH-THCSTT
\tCỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc

       Long Biên, ngày        tháng      năm 2024


KẾ HOẠCH
Triển khai đánh giá mức độ chuyển đổi số trong nhà trường
Năm học 2023-2024
Thực hiện Kế hoạch số 434/KH-SGDĐT ngày 22/02/2023 của Sở Giáo dục và Đào tạo Hà Nội"""


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param(DECISION, Header("11/QĐ-CVA", date(2023, 2, 15), "TRƯỜNG TIỂU HỌC CHU VĂN AN", "decision"),
                 id="word document"),
    pytest.param(PLAN_PDF, Header("18/KH-THCVA", date(2023, 2, 16), "TRƯỜNG TIỂU HỌC CHU VĂN AN", "plan"),
                 id="pdf text layer, columns on one line"),
    pytest.param(DECISION_OCR, Header("11/QĐ-CVA", date(2023, 2, 16), "TRƯỜNG TIÊU HỌC CHU VĂN AN", "decision"),
                 id="ocr noise"),
    pytest.param(DECISION_PLAIN, Header("11/QĐ-CVA", date(2022, 9, 5), "TRUONG TIEU HOC CHU VAN AN", "decision"),
                 id="no diacritics"),
    pytest.param(DRAFT, Header(None, None, "TRƯỜNG THCS THƯỢNG THANH", "plan"), id="draft with blanks"),
])
def test_the_header_of_real_layouts_is_read(text, expected):
    assert read_header(text) == expected


def test_a_school_plan_whose_text_starts_at_the_number():
    text = "\n\nSố: 18/KH-THCVA\n\nĐức An , ngày 16 tháng 02 năm 2023\n\nKẾ HOẠCH\n\nThực hiện nhiệm vụ ..."
    assert read_header(text) == Header("18/KH-THCVA", date(2023, 2, 16), None, "plan")


@pytest.mark.parametrize(("top", "issuer"), [
    ("ỦY BAN NHÂN DÂN\nHUYỆN ĐẮK SONG\nPHÒNG GIÁO DỤC VÀ ĐÀO TẠO", "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO"),
    ("UBND TỈNH ĐẮK NÔNG\nSỞ GIÁO DỤC VÀ ĐÀO TẠO", "SỞ GIÁO DỤC VÀ ĐÀO TẠO"),
    ("SỞ GD&ĐT ĐẮK NÔNG\nTRƯỜNG THPT ĐẮK SONG\n-------", "TRƯỜNG THPT ĐẮK SONG"),
    ("BỘ GIÁO DỤC VÀ ĐÀO TẠO\n_______", "BỘ GIÁO DỤC VÀ ĐÀO TẠO"),
    ("PHÒNG GD&ĐT LONG BIÊN\nTRƯỜNG TIỂU HỌC\nBỒ ĐỀ", "TRƯỜNG TIỂU HỌC BỒ ĐỀ"),  # a name on two lines
    ("UBND QUẬN LONG BIÊN\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nTRƯỜNG MẦM NON HOA SỮA\nĐộc lập - Tự do - Hạnh phúc",
     "TRƯỜNG MẦM NON HOA SỮA"),  # the columns interleaved line by line
])
def test_the_issuer_is_the_body_under_its_parent(top, issuer):
    assert read_header(f"{top}\nSố: 05/BC-PGDĐT\nĐắk Song, ngày 1 tháng 3 năm 2023\nBÁO CÁO").issuer == issuer


@pytest.mark.parametrize(("line", "number"), [
    ("Số: 11/QĐ-CVA", "11/QĐ-CVA"),
    ("Số 11/QĐ-CVA", "11/QĐ-CVA"),
    ("SỐ:11 /QĐ-CVA", "11/QĐ-CVA"),
    ("Sô: 11/ QÐ-CVA", "11/QĐ-CVA"),  # OCR: ô for ố, Ð (eth) for Đ
    ("S0: 11/QD-CVA.", "11/QĐ-CVA"),
    ("Số: 30/2020/NĐ-CP", "30/2020/NĐ-CP"),
    ("Số: 74/PGDĐT", "74/PGDĐT"),
    ("Số: 05/TTr-UBND", "05/TTr-UBND"),
])
def test_numbers_as_written_and_as_ocr_reads_them(line, number):
    assert read_header(f"TRƯỜNG TIỂU HỌC CHU VĂN AN\n{line}\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").number == number


def test_a_number_in_a_sentence_is_not_the_header_number():
    assert read_header("Căn cứ Thông tư số 28/2020/TT-BGDĐT của Bộ GD&ĐT;\nTRƯỜNG TIỂU HỌC").number is None


@pytest.mark.parametrize(("line", "issued_on"), [
    ("Đắk Song, ngày 16 tháng 02 năm 2023", date(2023, 2, 16)),
    ("Hà Nội, ngày 5 tháng 9 năm 2022", date(2022, 9, 5)),
    ("Ha Noi, ngay 30 thang 12 nam 2022", date(2022, 12, 30)),
    ("Long Biên, ngày 02/3/2023", date(2023, 3, 2)),
    ("Đắk Song, ngảy l6 thảng O2 nãm 2O23", date(2023, 2, 16)),
    ("Đắk Song, ngày 31 tháng 02 năm 2023", None),  # no such day
    ("Đắk Song, ngày 16 tháng 13 năm 2023", None),
    ("Đắk Song, ngày    tháng    năm 2023", None),  # left blank to fill in by hand
])
def test_dates_of_the_place_and_date_line(line, issued_on):
    assert read_header(f"TRƯỜNG TIỂU HỌC CHU VĂN AN\nSố: 11/QĐ-CVA\n{line}\nQUYẾT ĐỊNH").issued_on == issued_on


def test_a_date_cited_in_the_body_is_not_the_issue_date():
    text = "QUYẾT ĐỊNH\nVề việc thành lập Ban chỉ đạo\nCăn cứ Quyết định số 4725/QĐ-BGDĐT, ngày 30 tháng 12 năm 2022"
    assert read_header(text).issued_on is None


@pytest.mark.parametrize(("text", "doc_type"), [
    ("Số: 11/QĐ-CVA\nQUYẾT ĐỊNH", "decision"),
    ("Số: 02/QC-CVA\nQUY CHẾ\nTổ chức dạy học trực tuyến", "regulation"),
    ("Số: 12/BC-CVA\nBÁO CÁO", "report"),
    ("Số: 03/BB-CVA\nBIÊN BẢN\nKiểm kê tài sản", "minutes"),
    ("Số: 07/HĐ-CVA\nHỢP ĐỒNG\nCung cấp phần mềm", "contract"),
    ("Số: 18/KH-THCVA\nKẾ HOẠCH", "plan"),
    ("Số: 18/KH-THCVA\nvăn bản không rõ tiêu đề", "plan"),  # from the number's letters
    ("Số: 11/QD-CVA\n...", "decision"),
    ("Số: 09/HD-PGDĐT\nHƯỚNG DẪN", None),  # guidance is not a kind the portal has
    ("Kế hoạch phải cụ thể hóa được nhiệm vụ trọng tâm", None),  # a sentence, not a title
])
def test_the_kind_of_document_from_its_title_or_number(text, doc_type):
    assert read_header(text).doc_type == doc_type


def test_nothing_found_is_none():
    assert read_header("") == Header(None, None, None, None)
    assert read_header("Biên bản họp tổ chuyên môn\nNội dung: ...") == Header(None, None, None, None)


HEADER_PIECES = st.sampled_from([
    "UBND HUYỆN ĐẮK SONG", "TRƯỜNG TIỂU HỌC CHU VĂN AN", "Số: 11/QĐ-CVA", "S6: / QD -", "Số:", "ngày 31 tháng",
    "Đắk Song, ngày 16 tháng 02 năm 2023", "ngày 99 tháng 99 năm 9999", "QUYẾT ĐỊNH", "CỘNG HÒA", "Độc lập",
    "\t", " ", "/", "-", "Ð", "\u0301", "\u200b", "ǅ", "İ", "ﬁ", "\x00", "\r",
])


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(HEADER_PIECES | st.text(max_size=40), max_size=30).map("\n".join) | st.text())
def test_reading_a_header_never_fails_on_any_text(text):
    found = header_module._read(text)  # the reading itself, not the guard around it
    assert read_header(text) == found
    assert found.number is None or (isinstance(found.number, str) and found.number)
    assert found.issued_on is None or isinstance(found.issued_on, date)
    assert found.issuer is None or 0 < len(found.issuer) <= header_module.MAX_ISSUER_CHARS
    assert found.doc_type in (None, "decision", "plan", "regulation", "report", "minutes", "contract")


def test_a_long_text_is_read_from_its_start_only():
    text = PLAN_PDF + "\n" + ("Nội dung kế hoạch rất dài. " * 40 + "\n") * 5000 + "x" * 1_000_000
    assert read_header(text).number == "18/KH-THCVA"
