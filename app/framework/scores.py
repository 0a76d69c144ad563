"""A school's live score, computed from its inventory and reused until something it
reads changes.

Every flush that adds, changes or deletes a record feeding the score (a model with
``feeds_score``, or a school's own ``SCORE_FIELDS``) gives that school a new random
``score_stamp`` in the same transaction. A computed scorecard is kept under the stamp it
was computed with, the database and the index version, so any app server reuses it only
while nothing it reads has changed; a stamp written by a transaction that rolls back is
never seen again."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from threading import Lock

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.extensions import db
from app.framework.engine import Scorecard, score
from app.framework.services import framework_with_key
from app.inventory.facts import school_facts
from app.schools.models import School

CACHE_SIZE = 512
_cache: OrderedDict[tuple, tuple[Scorecard, dict]] = OrderedDict()
_lock = Lock()


def live_scorecard(school: School) -> Scorecard:
    """``school``'s score now, from its current inventory and evidence."""
    return _scored(school)[0]


def live_score_dict(school: School) -> dict:
    """``live_scorecard(school).to_dict()``, reused like the scorecard."""
    return _scored(school)[1]


def _scored(school: School) -> tuple[Scorecard, dict]:
    index, index_key = framework_with_key()
    session = db.session
    reusable = not (session.new or session.dirty or session.deleted)
    key = (str(db.engine.url), school.id, school.score_stamp, index_key)
    if reusable:
        with _lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
    card = score(index, school_facts(school, index))
    result = (card, card.to_dict())
    if reusable:
        with _lock:
            _cache[key] = result
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return result


@event.listens_for(Session, "before_flush")
def _stamp_changed_schools(session: Session, _context, _instances) -> None:
    school_ids = set()
    for record in (*session.new, *session.dirty, *session.deleted):
        if getattr(record, "feeds_score", False):
            school_ids.add(record.school_id)
        elif isinstance(record, School) and record not in session.new and any(
                inspect(record).attrs[name].history.has_changes() for name in School.SCORE_FIELDS):
            school_ids.add(record.id)
    for school_id in school_ids - {None}:
        school = session.get(School, school_id)
        if school is not None and school not in session.deleted:
            school.score_stamp = secrets.token_hex(8)
