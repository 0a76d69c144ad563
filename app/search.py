"""Diacritics-insensitive search: "may chieu" finds "Máy chiếu".

Records keep a folded copy of their searchable text (lower case, no diacritics, đ as d);
a search folds the typed words the same way and asks for all of them."""

from __future__ import annotations

import unicodedata

from sqlalchemy import ColumnElement, and_, true

MAX_WORDS = 8


def fold(text: str) -> str:
    """``text`` in lower case without diacritics and with single spaces."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.lower().split())


def matches(column, typed: str) -> ColumnElement[bool]:
    """A condition on a folded ``column``: it holds every word of ``typed`` (at most
    MAX_WORDS words are used)."""
    words = fold(typed).split()[:MAX_WORDS]
    if not words:
        return true()
    return and_(*(column.contains(word, autoescape=True) for word in words))
