"""A school's audit log as its page and export ask for it: the entries of the school,
narrowed by who, action, kind of record, days (in the user's time zone) and words
searched in the details (without diacritics if one likes), newest first, all in the
database."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import to_utc
from sqlalchemy import Text, and_, event, select, true
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.functions import FunctionElement

from app.accounts.models import User
from app.audit.labels import action_label, object_label
from app.audit.models import AuditEvent
from app.db_types import parse_id
from app.extensions import db
from app.inventory.listing import Filter, Listing, ListRequest
from app.search import MAX_WORDS, fold

ACTION = re.compile(r"[a-z0-9_.-]{1,64}")
OBJECT_TYPE = re.compile(r"[A-Za-z]{1,40}")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NO_ACTOR = "none"


def _actor_options(school_id: int) -> list[tuple[str, str]]:
    actors = select(AuditEvent.actor_id).where(AuditEvent.school_id == school_id).distinct()
    people = db.session.execute(select(User.id, User.full_name, User.email).where(User.id.in_(actors))
                                .order_by(User.full_name, User.email))
    return [(NO_ACTOR, str(_l("No one signed in (the system, refused sign-ins)"))),
            *((str(user_id), f"{name} ({email})") for user_id, name, email in people)]


def _by_actor(value: str):
    if value == NO_ACTOR:
        return AuditEvent.actor_id.is_(None)
    user_id = parse_id(value)
    return AuditEvent.actor_id == user_id if user_id is not None else None


def _action_options(school_id: int) -> list[tuple[str, str]]:
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.school_id == school_id).distinct())
    return sorted(((action, action_label(action)) for action in actions), key=lambda pair: fold(pair[1]))


def _object_options(school_id: int) -> list[tuple[str, str]]:
    kinds = db.session.scalars(select(AuditEvent.object_type).where(AuditEvent.school_id == school_id,
                                                                    AuditEvent.object_type != "").distinct())
    return sorted(((kind, object_label(kind)) for kind in kinds), key=lambda pair: fold(pair[1]))


LISTING = Listing(
    columns=(),
    filters=(Filter("actor", _l("Who"), _actor_options, _by_actor),
             Filter("action", _l("Action"), _action_options,
                    lambda value: AuditEvent.action == value if ACTION.fullmatch(value) else None),
             Filter("object_type", _l("Kind of record"), _object_options,
                    lambda value: AuditEvent.object_type == value if OBJECT_TYPE.fullmatch(value) else None)))


@dataclass(frozen=True)
class LogRequest(ListRequest):
    """A list request (search words, the filters' values) and the days it spans, as typed
    (yyyy-mm-dd; either may be empty)."""

    date_from: str = ""
    date_to: str = ""

    def args(self, **changes) -> dict:
        return super().args(**{"date_from": self.date_from, "date_to": self.date_to, **changes})


def log_request(args) -> LogRequest:
    """The request in ``args`` (a request's query arguments), cleaned: unknown filter
    values and dates that are not dates are dropped."""
    filters = {}
    for choice in LISTING.filters:
        value = args.get(choice.key, "")[:64]
        if value and choice.condition(value) is not None:
            filters[choice.key] = value
    return LogRequest(q=args.get("q", "").strip()[:100], filters=filters,
                      date_from=_day(args.get("date_from", "")), date_to=_day(args.get("date_to", "")))


def _day(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat() if DAY.fullmatch(value or "") else ""
    except ValueError:
        return ""


def _start_of(day: str) -> datetime:
    """The first instant of ``day`` in the user's time zone, in UTC."""
    return to_utc(datetime.combine(date.fromisoformat(day), time.min)).replace(tzinfo=UTC)


def school_log(school_id: int, wanted: LogRequest):
    """The query for the school's entries ``wanted`` asks for, newest first, with their actors."""
    conditions = [choice.condition(wanted.filters[choice.key])
                  for choice in LISTING.filters if choice.key in wanted.filters]
    if wanted.date_from:
        conditions.append(AuditEvent.occurred_at >= _start_of(wanted.date_from))
    if wanted.date_to:
        conditions.append(AuditEvent.occurred_at < _start_of(wanted.date_to) + timedelta(days=1))
    return (select(AuditEvent).where(AuditEvent.school_id == school_id, *conditions, details_match(wanted.q))
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .options(joinedload(AuditEvent.actor)))


# --- searching the details ---------------------------------------------------------------

class FoldedValues(FunctionElement):
    """The text values and numbers of a JSON column, folded as app.search.fold does (lower
    case, no diacritics), joined by spaces; keys are left out."""

    type = Text()
    inherit_cache = True


VIETNAMESE_LETTERS = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
_ACCENTED = VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper()
_PLAIN = "".join(fold(letter) for letter in _ACCENTED)


@compiles(FoldedValues, "postgresql")
def _folded_values_postgresql(element, compiler, **kw):
    # jsonb reads the JSON's \u escapes back as letters; translate() folds them (whatever
    # the database's character type, lower() may leave accented capitals alone).
    column = compiler.process(element.clauses, **kw)
    return (f"translate(lower(CAST(jsonb_path_query_array(CAST({column} AS jsonb), "
            f"'strict $.** ? (@.type() == \"string\" || @.type() == \"number\")') AS text)), "
            f"'{_ACCENTED}', '{_PLAIN}')")


@compiles(FoldedValues, "sqlite")
def _folded_values_sqlite(element, compiler, **kw):
    return f"portal_folded_values({compiler.process(element.clauses, **kw)})"


def folded_values(json_text: str | None) -> str:
    """``FoldedValues`` in Python, for SQLite (registered on each of its connections)."""
    try:
        found = []
        _collect(json.loads(json_text) if json_text else None, found)
        return fold(" ".join(found))
    except (TypeError, ValueError, RecursionError):
        return ""


def _collect(value, found: list[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)
    elif isinstance(value, str):
        found.append(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found.append(str(value))


@event.listens_for(Engine, "connect")
def _register_sqlite_function(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("portal_folded_values", 1, folded_values, deterministic=True)


def details_match(typed: str):
    """A condition: the entry's details hold every word of ``typed`` (folded; at most
    MAX_WORDS words)."""
    words = fold(typed).split()[:MAX_WORDS]
    if not words:
        return true()
    searched = FoldedValues(AuditEvent.details)
    return and_(*(searched.contains(word, autoescape=True) for word in words))


# --- what a row shows -------------------------------------------------------------------

def details_text(details) -> str:
    """The details in one line people can read: ``key: value`` pairs, a change as
    ``field: before → after``, lists and records spelled out rather than as JSON."""
    if not isinstance(details, dict):
        return _plain(details)
    parts = []
    for key, value in details.items():
        if key == "changes" and isinstance(value, dict):
            parts.extend(f"{field}: {_plain(pair[0])} → {_plain(pair[1])}" if _is_pair(pair)
                         else f"{field}: {_plain(pair)}" for field, pair in value.items())
        else:
            parts.append(f"{key}: {_plain(value)}")
    return "; ".join(parts)


def _is_pair(value) -> bool:
    return isinstance(value, list) and len(value) == 2


def _plain(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict):
        return "(" + ", ".join(f"{key}: {_plain(item)}" for key, item in value.items()) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_plain(item) for item in value) + "]"
    return str(value)
