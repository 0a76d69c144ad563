"""Typed text made comparable: what two people see as the same words is stored and
compared the same way, whatever keyboard, word processor or phone produced it."""

from __future__ import annotations

import re
import unicodedata

# Marks that show nothing but ride along: the variation selectors and the combining
# grapheme joiner. (Format characters, category Cf, show nothing either: zero-width
# spaces and joiners, bidi controls, the soft hyphen, the byte-order mark, tag characters.)
INVISIBLE_MARKS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\u034f]")

# Categories of characters that show nothing: format marks (zero-width), controls, lone surrogates.
HIDDEN = frozenset({"Cf", "Cc", "Cs"})


def clean(text: str) -> str:
    """``text`` in composed form (NFC: a Vietnamese letter is one character however it
    was typed), without characters that show nothing (pasted text often carries them
    unseen, controls included, and they would make two identical-looking names differ),
    trimmed, with single spaces."""
    shown = INVISIBLE_MARKS.sub("", unicodedata.normalize("NFC", text))
    return " ".join("".join(char for char in shown if char.isspace() or unicodedata.category(char) not in HIDDEN)
                    .split())


def identity_key(text: str) -> str:
    """What two names or codes are compared by: ``clean`` text with compatibility forms
    folded (full-width ＰＣ as PC, superscript ² as 2) and case ignored. Two values
    with the same key are the same room name or the same asset tag."""
    return unicodedata.normalize("NFKC", clean(text)).casefold()


# The Vietnamese alphabet (with the Latin letters it lacks in their Latin places), and the
# tones in dictionary order; ``sort_key`` turns text into hex digits ordered like them.
ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
TONES = {"": 0, "\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn: part of the letter (ă, â, ơ…)


def sort_key(text: str) -> str:
    """A key that sorts ``text`` in Vietnamese alphabetical order (a < ă < â < b … d < đ
    < e …, case ignored, tones deciding only between otherwise equal words), made of hex
    digits only, so that any database collation orders keys the same way."""
    letters, tones = [], []
    for char in clean(text).casefold():
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", parts[0] + "".join(mark for mark in parts[1:] if mark in LETTER_MARKS))
        tone = next((TONES[mark] for mark in parts[1:] if mark in TONES), 0)
        if base in ALPHABET:
            letters.append(0x40 + ALPHABET.index(base))
        elif base.isascii() and base.isdigit():
            letters.append(0x10 + int(base))
        else:
            letters.append(0x01 if base == " " else 0x0F)
        tones.append(tone)
    return "".join(f"{code:02x}" for code in letters) + "00" + "".join(str(tone) for tone in tones)
