"""Passwords: Argon2id hashing with the parameters from the configuration, and the
strength a new password needs, estimated by zxcvbn with Vietnamese passwords and the
person's own details added to its dictionaries."""

from __future__ import annotations

import enum
import math
import re
import threading
import unicodedata
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import matching as zxcvbn_matching
from zxcvbn import zxcvbn

from app.search import fold

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# zxcvbn scores 0..4; 3 means about 10^8 guesses or more ("safely unguessable" with a
# slow hash such as Argon2, and far beyond what the sign-in throttle lets through).
MIN_SCORE = 3

# Passwords and words that Vietnamese passwords are built from, roughly most used first
# (zxcvbn counts a word's place in its list as the guesses it takes). Its own lists are
# English; these go to it as extra words, so "matkhau1" or "Hanoi@2024" rate as the few
# guesses they are.
VIETNAMESE_PASSWORDS = (
    "123456a@", "123456a", "a123456", "123456aa", "aa123456", "123456abc", "abc123456", "123456789a",
    "matkhau", "matkhau123", "anhyeuem", "emyeuanh", "yeuem", "yeuanh", "iloveyou", "anhyeuemnhieu",
    "yeuemnhieu", "anhnhoem", "emnhoanh", "tinhyeu", "hanhphuc", "thienthan", "giadinh", "conyeu",
    "vietnam", "vietnam123", "vietnamvodich", "hanoi", "saigon", "hochiminh", "tphcm", "danang",
    "haiphong", "cantho", "nhatrang", "dalat", "daklak", "daknong", "xinchao", "khongbiet", "khongco",
    "truonghoc", "giaovien", "hocsinh", "hieutruong", "hieupho", "thaygiao", "cogiao", "lophoc",
    "dayhoc", "giaoduc", "tieuhoc", "trunghoc", "thcs", "thpt", "mamnon", "daihoc", "phonggiaoduc",
    "sogiaoduc", "quantri", "quantrivien", "chuyendoiso", "minhchung", "kiemdinh", "truong",
    "nguyen", "tran", "pham", "hoang", "huynh", "phan", "dang", "bui", "ngo", "duong",
    "anh", "minh", "linh", "huong", "hoa", "lan", "mai", "hung", "tuan", "dung", "thao", "trang",
    "ngoc", "phuong", "thu", "nam", "long", "quang", "duc", "hieu", "thanh", "hai", "son", "hanh",
    "huyen", "yen", "nhung", "van", "thi",
)
# zxcvbn 4.5.0 knows years up to 2019 only; later ones are as easy to guess.
RECENT_YEARS = tuple(str(year) for year in range(2020, 2040))

# Parts of addresses and school names that say nothing about the person.
_GENERIC_PARTS = frozenset({"edu", "vn", "com", "net", "org", "gov", "www", "gmail", "yahoo", "outlook",
                            "hotmail", "truong", "tieu", "hoc", "trung", "co", "so", "thcs", "thpt",
                            "mam", "non", "pho", "thong", "cap"})

# zxcvbn tries every reading of characters such as 1 (i or l), @, 0, $, 7 as letters; with
# many different ones in a long text that is seconds of work (13 s for 128 characters, a
# known way to tie up a server). Its cost grows with the length squared times those
# readings (plus about 7 for the matching every text gets), so a text too costly to rate
# whole is rated by its start, as long as this budget allows: about 0.1 s. Guessing a
# password means guessing its start too, so a strong start is a strong password; 16
# characters always fit, enough for a random start to rate far above MIN_SCORE.
_WORK_BUDGET = 90_000
_MIN_RATED_LENGTH = 16
# zxcvbn keeps the words of the call in a module-wide table while it runs.
_ZXCVBN_LOCK = threading.Lock()


class Weakness(enum.Enum):
    """Why a password is easy to guess, from what zxcvbn found in it."""
    PERSONAL = "personal"  # the person's name, email, school name or code
    VIETNAMESE = "vietnamese"  # a Vietnamese password or word from VIETNAMESE_PASSWORDS
    COMMON = "common"  # on zxcvbn's list of common passwords
    SUBSTITUTED = "substituted"  # a common password with @ for a, 0 for o…
    KEYBOARD = "keyboard"  # qwerty, zxcvbn, 1qaz…
    REPEATED = "repeated"  # aaa, abcabc
    SEQUENCE = "sequence"  # abcd, 6543
    DATE = "date"  # years and dates
    WORD = "word"  # a dictionary word or a name
    SIMPLE = "simple"  # short with nothing in particular found


def _without_diacritics(password: str) -> str:
    """``password`` without Vietnamese diacritics (ậ → a, đ → d), case and spaces kept."""
    text = password.replace("đ", "d").replace("Đ", "D")
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))


def personal_words(details: Iterable[str | None]) -> list[str]:
    """What zxcvbn should know about a person from ``details`` (email, name, school
    name, school code…): each whole (an email's name and domain too), and every run of
    its consecutive words that says something about them ("chuvanan", "vanan",
    "nguyenthihoa", "thcva"), lowercase and without diacritics; the longest first, as an
    attacker would try them."""
    words: set[str] = set()
    for detail in details:
        text = fold(detail or "")
        if not text:
            continue
        words.update([text, *text.split("@")])  # an email, its name and its domain
        parts = [part for part in re.split(r"[\W_]+", text) if part and part not in _GENERIC_PARTS][:8]
        words.update("".join(parts[start:end]) for start in range(len(parts))
                     for end in range(start + 1, len(parts) + 1))
    return sorted((word for word in words if len(word) >= 3), key=lambda word: (-len(word), word))


def _rated(text: str, user_inputs: list[str]) -> dict:
    """zxcvbn's analysis of ``text``, or of its start when the whole is over the budget."""
    readings = len(zxcvbn_matching.enumerate_l33t_subs(
        zxcvbn_matching.relevant_l33t_subtable(text, zxcvbn_matching.L33T_TABLE)))
    length = min(len(text), max(_MIN_RATED_LENGTH, math.isqrt(_WORK_BUDGET // (readings + 7))))
    with _ZXCVBN_LOCK:
        return zxcvbn(text[:length], user_inputs=user_inputs, max_length=length)


def estimated_guesses_log10(text: str) -> float:
    """log10 of the guesses zxcvbn estimates ``text`` takes (for secrets, not passwords)."""
    return _rated(text, [*RECENT_YEARS, *VIETNAMESE_PASSWORDS])["guesses_log10"]


def weakness(password: str, details: Iterable[str | None] = ()) -> Weakness | None:
    """Why ``password`` is too easy to guess, or None when it is strong enough.

    Strong enough means zxcvbn scores it at least MIN_SCORE (3 on its scale of 0..4),
    with RECENT_YEARS, VIETNAMESE_PASSWORDS and the person's ``details`` (email, full
    name, school name and code…) among the words it knows; and, when the person's own
    details are part of it, it still scores 3 without them ("ChuVanAn@2023" for a
    teacher of Chu Văn An is "@2023" to anyone who knows the school). Diacritics are
    ignored ("Mậtkhẩu" is "Matkhau"). The length limits are the caller's; a text of
    MAX_PASSWORD_LENGTH characters is rated in well under a second whatever it holds."""
    personal = personal_words(details)
    folded = _without_diacritics(password)
    words = [*personal, *RECENT_YEARS, *VIETNAMESE_PASSWORDS]
    analysis = _rated(folded, words)
    own = set(personal)
    own_parts = [match for match in analysis["sequence"] if match["pattern"] == "dictionary"
                 and match["dictionary_name"] == "user_inputs" and match["matched_word"] in own]
    if analysis["score"] >= MIN_SCORE:
        if not own_parts:
            return None
        rest = "".join(char for index, char in enumerate(folded)
                       if not any(part["i"] <= index <= part["j"] for part in own_parts))
        return None if rest and _rated(rest, words)["score"] >= MIN_SCORE else Weakness.PERSONAL
    if own_parts or any(word in folded.lower() for word in personal):  # "Minh@1990" is weak as a date too
        return Weakness.PERSONAL
    found = [match for match in analysis["sequence"] if match["pattern"] != "bruteforce"]
    if not found:
        return Weakness.SIMPLE
    longest = max(found, key=lambda match: len(match["token"]))
    if longest["pattern"] == "dictionary":
        if longest["dictionary_name"] == "user_inputs":
            return Weakness.DATE if longest["matched_word"] in RECENT_YEARS else Weakness.VIETNAMESE
        if longest["dictionary_name"] == "passwords":
            return Weakness.SUBSTITUTED if longest.get("l33t") else Weakness.COMMON
        return Weakness.WORD
    return {"spatial": Weakness.KEYBOARD, "repeat": Weakness.REPEATED, "sequence": Weakness.SEQUENCE,
            "regex": Weakness.DATE, "date": Weakness.DATE}.get(longest["pattern"], Weakness.SIMPLE)


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("argon2")
    if hasher is None:
        config = current_app.config
        hasher = PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"],
                                parallelism=config["ARGON2_PARALLELISM"])
        current_app.extensions["argon2"] = hasher
        current_app.extensions["argon2_dummy"] = hasher.hash("not a password of anyone")
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, spends the same time and says no
    (so the response time does not tell whether an account exists)."""
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or current_app.extensions["argon2_dummy"], password) \
            and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
