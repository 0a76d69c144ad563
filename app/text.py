"""Typed text made comparable: what two people see as the same words is stored and
compared the same way, whatever keyboard, word processor or phone produced it."""

from __future__ import annotations

import re
import unicodedata

# Characters that show nothing: zero-width space, non-joiner, joiner, word joiner, the
# byte-order mark and the soft hyphen. Pasted text often carries them unseen.
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def clean(text: str) -> str:
    """``text`` in composed form (NFC: a Vietnamese letter is one character however it
    was typed), without invisible characters, trimmed, with single spaces."""
    return " ".join(INVISIBLE.sub("", unicodedata.normalize("NFC", text)).split())


def identity_key(text: str) -> str:
    """What two names or codes are compared by: ``clean`` text with compatibility forms
    folded (full-width ＰＣ as PC, superscript ² as 2) and case ignored. Two values
    with the same key are the same room name or the same asset tag."""
    return unicodedata.normalize("NFKC", clean(text)).casefold()
