"""The planner's operations on a school: what-if projections, the cheapest path to the
next level, the unit prices. Read-only: nothing here changes a record. Changes are
costed with the school's effective prices (app.planner.prices)."""

from __future__ import annotations

import dataclasses

from flask_babel import gettext as _

from app.errors import Conflict, ValidationFailed
from app.evidence.facts import evidence_states
from app.framework.engine import Facts, Scorecard, score
from app.framework.loader import EvidencePresentRule, Framework
from app.framework.scores import live_scorecard
from app.framework.services import framework
from app.inventory.facts import school_facts
from app.planner import prices
from app.planner.changes import ChangeError, change_dict, parse_changes, price, project
from app.planner.cheapest import AtTopLevel, Path, next_levels
from app.planner.state import school_state
from app.schools.models import School


def evidence_codes(index: Framework) -> tuple[str, ...]:
    """The criteria and sub-items met by a document (what add_evidence may name)."""
    return tuple(entry.code for criterion in index.criteria
                 for entry in (criterion, *criterion.items)
                 if isinstance(getattr(entry, "rule", None), EvidencePresentRule))


def whatif(school: School, changes) -> dict:
    """Today's score and the projection of ``changes`` (CHANGE objects), with the actions
    making them real and their cost. Raises ValidationFailed naming each malformed or
    impossible change (``changes.<index>[.<field>]``)."""
    index = framework()
    try:
        parsed = parse_changes(changes, evidence_codes(index))
        projected, actions = project(_facts(school, index), school_state(school), parsed)
    except ChangeError as error:
        raise ValidationFailed(_("Some changes are not possible."),
                               fields={name if name == "changes" else f"changes.{name}": text
                                       for name, text in error.fields.items()}) from None
    actions, cost = price(actions, prices.effective(school.district_id))
    return {"today": _score(school, live_scorecard(school)), "projected": _score(school, score(index, projected)),
            "changes": [change_dict(change) for change in parsed], "actions": actions, "cost_vnd": cost}


def next_level(school: School, group: str) -> dict:
    """The cheapest changes taking ``group`` to its next level, with ``after``: those to
    the level after it, when within reach. Raises ValidationFailed for an unknown group,
    Conflict at the top level or when no candidate set reaches the next level."""
    index = framework()
    if group not in {entry.code for entry in index.groups}:
        raise ValidationFailed(_("Some fields are not valid."), fields={
            "group": _("One of: %(groups)s.", groups=", ".join(entry.code for entry in index.groups))})
    try:
        priced = dataclasses.replace(index, unit_prices=prices.effective(school.district_id))
        paths = next_levels(priced, _facts(school, index), school_state(school), group)
    except AtTopLevel:
        raise Conflict(_("Group %(group)s is at the top level already.", group=group)) from None
    if not paths:
        raise Conflict(_("No change the planner knows reaches the next level of group %(group)s.", group=group))
    found = _path(school, paths[0])
    if len(paths) > 1:
        found["after"] = _path(school, paths[1])
    return found


def unit_prices(district_id: int | None = None) -> dict:
    """The prices (VND) the planner costs a school of ``district_id`` with (None: the
    portal-wide ones), and which scope sets each (``set_by``: "index", "portal" or
    "district")."""
    portal, own = prices.overrides(None), prices.overrides(district_id) if district_id is not None else {}
    set_by = {key: "district" if key in own else "portal" if key in portal else "index" for key in prices.PRICE_KEYS}
    return {"framework": framework().code, "currency": "VND", "district_id": district_id,
            **prices.effective(district_id).to_dict(), "set_by": set_by}


def _facts(school: School, index: Framework) -> Facts:
    return school_facts(school, index, evidence_states(school.id, school.school_year))


def _score(school: School, card: Scorecard) -> dict:
    return {"year": school.school_year, **card.to_dict()}


def _path(school: School, path: Path) -> dict:
    return {"group": path.group, "from_level": path.from_level, "to_level": path.to_level,
            "changes": [change_dict(change) for change in path.changes], "actions": path.actions,
            "projected": _score(school, path.projected), "cost_vnd": path.cost_vnd}
