"""The criteria a document most likely proves, from its title and text, for the upload
form to offer (the user confirms them).

The phrases come from the index file (``evidence.keywords`` of each criterion or
sub-item). Both sides are compared without case, diacritics or punctuation, word by word
(app.search.fold), with the usual abbreviations written out ("CNTT" is "công nghệ thông
tin"). A phrase of n words found counts 2n - 1, so "quy chế dạy học trực tuyến" (6
words) outweighs its parts; a phrase in the title counts TITLE_WEIGHT times, and
repeats in the text add less and less. Pure: no Flask, no database.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from app.framework.loader import Criterion, Framework, Item
from app.search import fold

TITLE_WEIGHT = 3
MAX_REPEATS = 5  # repeats in the text beyond this add nothing
MAX_TEXT_CHARS = 200_000  # the start of a long text says what it is about
ABBREVIATIONS = {
    "cntt": "cong nghe thong tin",
    "cds": "chuyen doi so",
    "dhtt": "day hoc truc tuyen",
    "csdl": "co so du lieu",
    "qtnt": "quan tri nha truong",
}


@dataclass(frozen=True)
class Suggestion:
    """Criterion or sub-item ``code`` with its ``title``, how strongly the document points
    to it (``score``, comparable within one call) and the keywords ``matched``, strongest
    first."""

    code: str
    title: str
    score: float
    matched: tuple[str, ...]


def suggest_criteria(framework: Framework, text: str, limit: int = 3, *, title: str = "") -> list[Suggestion]:
    """At most ``limit`` criteria or sub-items of ``framework`` whose keywords the
    document's ``title`` and ``text`` contain, the strongest first (ties in the index's
    order). Nothing for a document that contains none, or for empty input."""
    if limit <= 0:
        return []
    in_title, in_text = _words(title), _words(text[:MAX_TEXT_CHARS])
    if in_title == " " and in_text == " ":
        return []
    found: list[tuple[float, int, Suggestion]] = []
    for order, target in enumerate(_targets(framework)):
        scored: list[tuple[float, str]] = []
        for keyword in target.evidence_keywords:
            phrase = _words(keyword)
            if phrase == " ":
                continue
            weight = 2 * phrase.count(" ") - 3  # 2n - 1 for n words (the phrase has n + 1 spaces)
            repeats = min(in_text.count(phrase), MAX_REPEATS)
            score = weight * (TITLE_WEIGHT * in_title.count(phrase) + (1 + math.log(repeats) if repeats else 0))
            if score:
                scored.append((score, keyword))
        if scored:
            scored.sort(key=lambda pair: -pair[0])
            total = float(round(sum(score for score, _ in scored), 2))
            found.append((total, order, Suggestion(target.code, target.title, total,
                                                   tuple(keyword for _, keyword in scored))))
    found.sort(key=lambda entry: (-entry[0], entry[1]))
    return [suggestion for _, _, suggestion in found[:limit]]


def _targets(framework: Framework) -> list[Criterion | Item]:
    """The criteria and sub-items that have keywords, in the index's order."""
    targets: list[Criterion | Item] = []
    for criterion in framework.criteria:
        if criterion.evidence_keywords:
            targets.append(criterion)
        targets.extend(item for item in criterion.items if item.evidence_keywords)
    return targets


_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> str:
    """``text`` folded into its words, abbreviations written out, each word between
    single spaces (" ke hoach day hoc "), so that a phrase is found as whole words."""
    words = [ABBREVIATIONS.get(word, word) for word in _WORD.findall(fold(text))]
    return f" {' '.join(words)} " if words else " "
