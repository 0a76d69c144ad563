"""The header of a Vietnamese administrative document, read from its text to pre-fill the
upload form (the user confirms every value).

Documents follow the layout of Nghị định 30/2020/NĐ-CP: at the top left the issuing body
under its parent ("UBND HUYỆN ĐẮK SONG" / "TRƯỜNG TIỂU HỌC CHU VĂN AN") and the number
("Số: 11/QĐ-CVA"); at the top right the national motto ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT
NAM" / "Độc lập - Tự do - Hạnh phúc") and the place and date ("Đắk Song, ngày 16 tháng 02
năm 2023"); then the title ("QUYẾT ĐỊNH", "KẾ HOẠCH"). Extracted text brings the two
columns one after the other, side by side on one line, or split by tabs, and OCR adds
noise ("S6:", "QD", "ngảy", "l6"); matching is done on a copy without diacritics, and
everything found is taken from the original text.

``read_header(text)`` never raises: what it cannot find is None.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# Only the start of the text is the header: these many lines, each cut to this length.
HEADER_LINES = 60
LINE_CHARS = 300
# Without a title line, the header is taken to end after these many lines.
HEADER_LINES_WITHOUT_TITLE = 20

DOC_TYPE_TITLES = (  # folded title words → doc_type, longest first
    ("quyet dinh", "decision"),
    ("ke hoach", "plan"),
    ("quy che", "regulation"),
    ("quy dinh", "regulation"),
    ("bao cao", "report"),
    ("bien ban", "minutes"),
    ("hop dong", "contract"),
)
# The letters of a number's type part ("11/QĐ-CVA" → QĐ); "HD" stays unknown: it is
# hướng dẫn (guidance) as often as a hợp đồng whose Đ OCR lost.
DOC_TYPE_LETTERS = {"QĐ": "decision", "QD": "decision", "KH": "plan", "QC": "regulation", "BC": "report",
                    "BB": "minutes", "HĐ": "contract"}
# How the lines of the top-left block start, folded: a parent body ("UBND HUYỆN ĐẮK SONG",
# "ỦY BAN NHÂN DÂN" / "HUYỆN ĐẮK SONG"), then the issuing body ("TRƯỜNG ...", "PHÒNG ...").
PARENT_WORDS = ("ubnd", "uy ban", "so", "phong", "bo", "tinh", "huyen", "quan", "thanh pho", "thi xa", "xa", "phuong")
ISSUER_WORDS = ("truong", "phong", "so", "bo", "ban", "hoi dong", "trung tam", "cong ty", "hoc vien", "vien")
MAX_ISSUER_CHARS = 200


@dataclass(frozen=True)
class Header:
    """What the header says, each value None when it could not be read: ``number`` as
    written ("11/QĐ-CVA"), ``issued_on`` from the place and date line, ``issuer`` the
    issuing body at the top left ("TRƯỜNG TIỂU HỌC CHU VĂN AN"), ``doc_type`` one of
    "decision", "plan", "regulation", "report", "minutes", "contract" (the API's
    doc_type values) from the title or the number's letters."""

    number: str | None = None
    issued_on: date | None = None
    issuer: str | None = None
    doc_type: str | None = None


def read_header(text: str) -> Header:
    """The header found at the start of ``text`` (extracted or OCR text, lines separated
    by newlines). Never raises."""
    try:
        return _read(text)
    except Exception:  # noqa: BLE001 - a pre-fill that fails must never stop an upload
        return Header()


def _read(text: str) -> Header:
    lines = [_Line(line[:LINE_CHARS]) for line in text.split("\n", HEADER_LINES)[:HEADER_LINES]]
    lines = [line for line in lines if line.folded.strip()]
    title_at, title_type = _title(lines)
    zone = lines[:title_at] if title_at is not None else lines[:HEADER_LINES_WITHOUT_TITLE]
    number_at, number, letters = _number(zone)
    return Header(number=number, issued_on=_issued_on(zone, lines), issuer=_issuer(zone, number_at),
                  doc_type=title_type or DOC_TYPE_LETTERS.get(letters or ""))


class _Line:
    """A line of text and its folded copy, character for character: lower case, no
    diacritics, đ as d, so a match in ``folded`` is the same span of ``text``."""

    def __init__(self, text: str):
        self.text = text
        self.folded = "".join(_fold_char(char) for char in text)


def _fold_char(char: str) -> str:
    if char in "đĐðÐɖƉ":
        return "d"
    base = "".join(part for part in unicodedata.normalize("NFD", char) if not unicodedata.combining(part)).lower()
    if len(base) != 1:
        base = char.lower()
    return base if len(base) == 1 else "?"


# The title: "QUYẾT ĐỊNH", "KẾ HOẠCH ..." in capitals at the start of a line.

def _title(lines: list[_Line]) -> tuple[int | None, str | None]:
    for index, line in enumerate(lines):
        start = len(line.folded) - len(line.folded.lstrip())
        for words, doc_type in DOC_TYPE_TITLES:
            match = re.compile(r"\s*".join(words.split()) + r"\b").match(line.folded, start)
            if match and _capitals(line.text[match.start():match.end()]):
                return index, doc_type
    return None, None


def _capitals(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return bool(letters) and sum(char.isupper() for char in letters) * 4 >= len(letters) * 3


# The number: "Số: 11/QĐ-CVA", "Số 11/QĐ-CVA", "S6: 11 / QD - CVA", "Số: 123/2023/QĐ-UBND";
# "Số:   /KH-THCSTT" (not numbered yet) gives its letters only.

_NUMBER = re.compile(
    r"(?<![a-z0-9])s\s?[o06]\s*(?:[:;.,]\s*)?"
    r"(?P<serial>\d{1,6})?\s*(?:/\s*(?P<year>\d{4})\s*)?/\s*"
    r"(?P<letters>[a-z][a-z0-9&]{0,11})(?P<rest>(?:\s*[-–—]\s*[a-z0-9&][a-z0-9&.]{0,20}){0,4})")


def _number(zone: list[_Line]) -> tuple[tuple[int, int] | None, str | None, str | None]:
    """((line index, where the number starts), number or None, the type letters in
    capitals) of the first header number."""
    for index, line in enumerate(zone):
        for match in _NUMBER.finditer(line.folded):
            if not (line.text[match.start()] == "S" or ":" in match.group(0)):
                continue  # "số" in a sentence, not the header's "Số:"
            letters = _letters(line.text[match.start("letters"):match.end("letters")])
            found = (index, match.start())
            if not match.group("serial"):
                return found, None, letters.upper()
            written = line.text[match.start("serial"):match.start("letters")] + letters + \
                line.text[match.start("rest"):match.end("rest")]
            number = re.sub(r"\s*[-–—]\s*", "-", re.sub(r"\s*/\s*", "/", written)).rstrip(".-")
            return found, unicodedata.normalize("NFC", number), letters.upper()
    return None, None, None


def _letters(written: str) -> str:
    """A number's type letters: OCR's Ð (eth) as Đ, and QD (no such type) as QĐ."""
    letters = written.replace("Ð", "Đ").replace("ð", "đ")
    return "QĐ" if letters.upper() == "QD" else letters


# The date: "Đắk Song, ngày 16 tháng 02 năm 2023", "ngày 5 tháng 9 năm 2022", "ngày 16/02/2023";
# OCR may read 0 as o and 1 as l, i or |.

_DIGIT = r"[0-9oil|]"
_DATE = re.compile(
    rf"(?<![a-z])ng[a-z]?[yv]\s*(?P<day>{_DIGIT}{{1,2}})\s*(?:th[a-z]?ng|[/.-])\s*(?P<month>{_DIGIT}{{1,2}})"
    rf"\s*(?:n[a-z]?m|[/.-])\s*(?P<year>{_DIGIT}{{4}})(?![0-9])")
_OCR_DIGITS = str.maketrans("oil|", "0111")


def _issued_on(zone: list[_Line], lines: list[_Line]) -> date | None:
    """The first valid date in the header, else the first written after a place and a
    comma ("..., ngày ...") near the start."""
    for line in zone:
        match = _DATE.search(line.folded)
        if match:
            return _date(match)
    for line in lines:
        for match in _DATE.finditer(line.folded):
            if re.search(r",\s*$", line.folded[:match.start()]) and not line.folded.lstrip().startswith("can cu"):
                return _date(match)
    return None


def _date(match: re.Match) -> date | None:
    day, month, year = (int(match.group(key).translate(_OCR_DIGITS)) for key in ("day", "month", "year"))
    if not 1900 <= year <= 2100:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


# The issuer: the capitals above the number at the top left, after its parent body.

_RIGHT_COLUMN = re.compile(r"c\s?o\s?n\s?g\s*h\s?o\s?a\b|d\s?o\s?c\s*l\s?a\s?p\b|\bng[a-z]?[yv]\s*[0-9oil|]{1,2}\b"
                           r"|,\s*ng[a-z]?[yv]\b|\bs\s?[o06]\s*[:;]")


def _issuer(zone: list[_Line], number_at: tuple[int, int] | None) -> str | None:
    """The top-left block above the number (or in the first lines), without the right
    column's motto and date, and without the parent body's lines."""
    if number_at is None:
        above = zone[:8]
    else:
        line, start = number_at
        above = zone[:line] + [_Line(zone[line].text[:start])]  # columns run together: "TRƯỜNG ... Số: ..."
    block: list[str] = []
    for line in above:
        cut = _RIGHT_COLUMN.search(line.folded)
        rest = line.text[:cut.start()] if cut else line.text
        name = _leading_capitals(rest)
        if name:
            block.append(name)
        elif any(char.isalpha() for char in rest):
            block = []  # a line of ordinary text: the block is below it
    block = block[-4:]
    starts = [_Line(name).folded for name in block]
    first = 0
    for index in range(1, len(block)):
        if _starts_with(starts[index], ISSUER_WORDS) and all(_starts_with(start, PARENT_WORDS)
                                                            for start in starts[:index]):
            first = index
    issuer = " ".join(block[first:])[:MAX_ISSUER_CHARS]
    return issuer or None


def _starts_with(folded: str, words: tuple[str, ...]) -> bool:
    return any(re.match(re.escape(word) + r"\b", folded) for word in words)


def _leading_capitals(text: str) -> str:
    """The words in capitals at the start of ``text`` (words without letters, such as
    "&" or a number, go along), without trailing punctuation."""
    kept: list[str] = []
    for word in text.split():
        letters = [char for char in word if char.isalpha()]
        if letters and not _capitals(word):
            break
        kept.append(word)
    name = " ".join(kept).strip(" -–—_=.,:;*~|")
    return name if sum(char.isalpha() for char in name) >= 3 else ""
