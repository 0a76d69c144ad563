"""What software can do, as capability keys: the ones the index scores (defined with
the scoring engine) and other common ones a school may record. Any other key is refused."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.framework.engine import SCORING_CAPABILITIES

OTHER_CAPABILITIES = {
    "e_library": _l("Digital library"),
    "timetable": _l("Timetable"),
    "school_website": _l("School website"),
    "document_management": _l("Document management"),
    "email": _l("Email"),
    "question_bank": _l("Question bank"),
}

KNOWN_CAPABILITIES: dict[str, str] = {**SCORING_CAPABILITIES, **OTHER_CAPABILITIES}


def capability_label(key: str) -> str:
    return str(KNOWN_CAPABILITIES.get(key, key))
