"""The evidence facts the scoring engine needs, read in one query."""

from __future__ import annotations

from sqlalchemy import select

from app.evidence.models import EvidenceDocument, EvidenceLink, LinkStatus
from app.extensions import db


def evidence_states(school_id: int, school_year: str) -> dict[str, str]:
    """Criterion or sub-item code → "accepted" (an accepted link) or "linked" (only links
    awaiting review) over the school year's live documents; rejected links count nowhere.
    The scoring engine's evidence facts."""
    rows = db.session.execute(
        select(EvidenceLink.criterion, EvidenceLink.status)
        .join(EvidenceDocument, EvidenceDocument.id == EvidenceLink.document_id)
        .where(EvidenceLink.school_id == school_id, EvidenceLink.school_year == school_year,
               EvidenceLink.removed_at.is_(None), EvidenceDocument.removed_at.is_(None),
               EvidenceLink.status != LinkStatus.REJECTED)
        .distinct())
    states: dict[str, str] = {}
    for code, status in rows:
        if status == LinkStatus.ACCEPTED or code not in states:
            states[code] = "accepted" if status == LinkStatus.ACCEPTED else "linked"
    return states
