"""A school's live score, computed from its inventory and reused until something it
reads changes.

Every flush that adds, changes or deletes a record feeding the score (a model with
``feeds_score``, or a school's own ``SCORE_FIELDS``) gives that school a new random
``score_stamp`` in the same transaction, and loading an index file gives every school a
new one. A computed scorecard is kept under the database, the school, its stamp and the
index that scored it (a built-in index file replaced in place is a new index), so any
app server reuses it only while nothing it reads has changed; a stamp written by a
transaction that rolls back is never seen again."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import NamedTuple

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.evidence.facts import evidence_states
from app.extensions import db, utcnow
from app.framework.engine import Facts, Scorecard, score
from app.framework.loader import Framework
from app.framework.models import SchoolScore
from app.framework.services import framework
from app.i18n import format_number
from app.inventory.facts import school_facts
from app.ops.metrics import SCORE_CACHE
from app.schools.models import School

CACHE_SIZE = 512
RESCORED = "portal_rescored_schools"  # session.info: schools whose stamp this transaction renewed


class Scored(NamedTuple):
    """A school's live score with what it was computed from and its JSON body."""

    index: Framework
    facts: Facts
    card: Scorecard
    json: bytes


_cache: OrderedDict[tuple, Scored] = OrderedDict()
_lock = Lock()


def live_scorecard(school: School) -> Scorecard:
    """``school``'s score now, from its current inventory and evidence."""
    return scored(school).card


def score_change(before: Scorecard, after: Scorecard, codes: tuple[str, ...]) -> str:
    """What a change of the inventory did to the score, said after the save: each
    criterion and group whose points (or mandatory condition, or level) changed, as
    "1.7: 10 → 13 (+3) · Nhóm 1: 32 → 35 (+3)"; or, when nothing changed, that it did not,
    and the step that would add most among the criteria ``codes`` (those the saved
    records feed) with what it adds."""
    changes = []
    for was, now in zip(before.criteria, after.criteria, strict=True):
        if now.mandatory and was.met != now.met:
            changes.append(f"{now.code}: {_('met') if now.met else _('not met')}")
        elif not now.mandatory and was.points != now.points:
            changes.append(f"{now.code}: {_moved(was.points, now.points)}")
    for was, now in zip(before.groups, after.groups, strict=True):
        if was.points != now.points or was.level != now.level:
            level = f" · {_('Level %(n)d', n=now.level)}" if was.level != now.level else ""
            changes.append(f"{_('Group')} {now.code}: {_moved(was.points, now.points)}{level}")
    if changes:
        return _("Score: %(changes)s", changes=" · ".join(changes))
    steps = [item for criterion in after.criteria if criterion.code in codes for item in criterion.items
             if item.hint]
    if not steps:
        return _("The score did not change.")
    best = max(steps, key=lambda item: item.hint_gain)
    return _("The score did not change. Next step: %(step)s", step=f"{best.code}: {best.hint}")


def _moved(was, now) -> str:
    difference = now - was
    sign = "+" if difference > 0 else "−"
    return f"{format_number(was)} → {format_number(now)} ({sign}{format_number(abs(difference))})"


def live_score_json(school: School) -> bytes:
    """The body of ``GET /score``: the school year and ``live_scorecard(school).to_dict()``
    as JSON, reused like the scorecard."""
    return scored(school).json


def scored(school: School, recount: bool = False) -> Scored:
    """``school``'s live score in its current year with its facts, reused while its
    ``score_stamp`` holds, the index is the same and the session has no unflushed change;
    ``recount``: counted from the database now whatever the cache holds (and kept)."""
    session = db.session
    reusable = not (session.new or session.dirty or session.deleted)
    year = school.school_year
    index = framework()  # an entry holds its index, so no other index can have its id
    key = (str(db.engine.url), school.id, school.score_stamp, year, id(index))
    if reusable and not recount:
        with _lock:
            if key in _cache:
                _cache.move_to_end(key)
                SCORE_CACHE.labels("hit").inc()
                return _cache[key]
    SCORE_CACHE.labels("miss").inc()
    facts = school_facts(school, index, evidence_states(school.id, year))
    card = score(index, facts)
    result = Scored(index, facts, card, current_app.json.dumps({"year": year, **card.to_dict()},
                                                        separators=(",", ":")).encode())
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
            school.renew_score_stamp()


@event.listens_for(Session, "after_flush")
def _note_rescored_schools(session: Session, _context) -> None:
    """Every school with a new stamp (renewed above, or by a service writing rows past the
    ORM), and every new school, has its stored score written before the transaction
    commits. Noted after the flush, when a new school has its id."""
    session.info.setdefault(RESCORED, set()).update(
        school.id for school in (*session.new, *session.dirty)
        if isinstance(school, School) and school not in session.deleted
        and (school in session.new or inspect(school).attrs.score_stamp.history.has_changes()))


@event.listens_for(Session, "before_commit")
def _store_changed_scores(session: Session) -> None:
    """Keep the stored score (SchoolScore) of every school whose stamp this transaction
    renewed, in the same transaction."""
    if not has_app_context():
        return
    session.flush()  # the commit's own flush comes after this hook: stamps are renewed in it
    school_ids = session.info.pop(RESCORED, set()) - {None}
    if not school_ids:
        return
    index = framework()
    for school_id in sorted(school_ids):
        school = session.get(School, school_id)
        if school is not None and school not in session.deleted:
            store_score(school, index)


@event.listens_for(Session, "after_soft_rollback")
def _forget_changed_scores(session: Session, _previous_transaction) -> None:
    session.info.pop(RESCORED, None)


def store_score(school: School, index=None) -> SchoolScore:
    """Compute ``school``'s live score now and keep it as its stored score (in the
    caller's transaction)."""
    index = index or framework()
    card = score(index, school_facts(school, index, evidence_states(school.id, school.school_year)))
    stored = db.session.get(SchoolScore, school.id) or SchoolScore(school_id=school.id)
    stored.school_year, stored.stamp, stored.computed_at = school.school_year, school.score_stamp, utcnow()
    stored.score = card.to_dict()
    db.session.add(stored)
    db.session.flush()
    return stored
