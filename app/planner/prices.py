"""The unit prices (whole VND) the planner costs changes with: the index file's defaults,
over them the portal-wide prices an admin sets, over those the prices a district officer
sets for the schools of their district. ``effective(district_id)`` is what a school of
that district is costed with; ``set_prices`` changes one scope's prices, audited."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit
from app.errors import ValidationFailed
from app.extensions import db
from app.framework.engine import SCORING_CAPABILITIES
from app.framework.loader import UNIT_PRICE_KEYS, UnitPrices
from app.framework.services import framework
from app.planner.models import UnitPrice

MAX_PRICE = 10**12
CAPABILITY = "capability:"
ITEM_LABELS = {
    "projector": _l("A display device (projector, TV or interactive board) for a classroom"),
    "classroom_internet": _l("Connecting a classroom to the Internet"),
    "repair": _l("Repairing a broken device"),
    "lab_computer": _l("A computer for the computer lab"),
    "studio": _l("A studio room with its computer and equipment"),
    "teacher_training": _l("A training course, per teacher"),
    "material_approval": _l("Approving a digital learning material"),
    "evidence_document": _l("Issuing a missing document"),
    "software_capability": _l("A software function, per year (unless priced below)"),
}
PRICE_KEYS: tuple[str, ...] = (*UNIT_PRICE_KEYS, *(CAPABILITY + key for key in SCORING_CAPABILITIES))
# Whole VND, optionally grouped in thousands with dots, commas or spaces ("1.500.000"); ASCII digits only.
_AMOUNT = re.compile(r"[0-9]{1,3}(?:([., ])[0-9]{3})?(?:\1[0-9]{3})*|[0-9]+")


def label(key: str) -> str:
    """What ``key`` prices, for people."""
    if key.startswith(CAPABILITY):
        return _("Software function, per year: %(name)s", name=SCORING_CAPABILITIES[key.removeprefix(CAPABILITY)])
    return str(ITEM_LABELS[key])


def defaults() -> UnitPrices:
    """The index file's prices."""
    return framework().unit_prices


def overrides(district_id: int | None) -> dict[str, int]:
    """The prices set for ``district_id`` (None: the portal-wide ones), by key."""
    return dict(db.session.execute(select(UnitPrice.key, UnitPrice.amount_vnd)
                                   .where(UnitPrice.district_id.is_(None) if district_id is None
                                          else UnitPrice.district_id == district_id)).all())


def effective(district_id: int | None) -> UnitPrices:
    """The prices for a school of ``district_id``: district > portal-wide > index default.
    A capability nobody prices keeps following the ``software_capability`` price."""
    index = defaults()
    chosen = {**overrides(None), **(overrides(district_id) if district_id is not None else {})}
    items = tuple((key, chosen.get(key, index.of(key))) for key in UNIT_PRICE_KEYS)
    listed = dict(index.capabilities)
    capabilities = tuple((key, chosen.get(CAPABILITY + key, listed.get(key))) for key in SCORING_CAPABILITIES
                         if CAPABILITY + key in chosen or key in listed)
    return UnitPrices(items, capabilities)


def table(district_id: int | None) -> list[dict]:
    """Every price for the scope ``district_id`` (None: portal-wide) as its editor sees
    it: key, label, the amount in force, the amount it would have without this scope's
    own price (``inherited``), and whether this scope sets it."""
    own = overrides(district_id)
    below = effective(None) if district_id is not None else defaults()
    current = effective(district_id)
    return [{"key": key, "label": label(key), "amount_vnd": current.of(key), "inherited_vnd": below.of(key),
             "overridden": key in own} for key in PRICE_KEYS]


def parse_amount(value) -> int:
    """A whole amount of VND from a form or JSON value: an int, or ASCII digits optionally
    grouped in thousands ("1.500.000"). Raises ValueError with the reason."""
    if isinstance(value, bool):
        raise ValueError(_("Enter a whole number of đồng."))
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and _AMOUNT.fullmatch(value.strip()):
        amount = int(re.sub(r"[., ]", "", value.strip()))
    else:
        raise ValueError(_("Enter a whole number of đồng."))
    if not 0 <= amount <= MAX_PRICE:
        raise ValueError(_("Enter an amount from 0 to 1.000.000.000.000 đồng."))
    return amount


def set_prices(actor, district_id: int | None, values: dict) -> dict[str, list]:
    """Set the prices of scope ``district_id`` (None: portal-wide) from ``values`` (key →
    amount, or None to go back to the inherited price) and commit; keys left out stay.
    Raises ValidationFailed naming each unknown key or bad amount. Returns the changes
    made (key → [before, after], None meaning inherited), audited as one entry."""
    problems, wanted = {}, {}
    for key, value in values.items():
        if key not in PRICE_KEYS:
            problems[key] = _("Unknown price.")
            continue
        if value is None:
            wanted[key] = None
            continue
        try:
            wanted[key] = parse_amount(value)
        except ValueError as error:
            problems[key] = str(error)
    if problems:
        raise ValidationFailed(_("Some fields are not valid."), fields=problems)
    rows = {row.key: row for row in db.session.scalars(
        select(UnitPrice).where(UnitPrice.district_id.is_(None) if district_id is None
                                else UnitPrice.district_id == district_id))}
    changes = {}
    for key, amount in wanted.items():
        row = rows.get(key)
        before = row.amount_vnd if row is not None else None
        if before == amount:
            continue
        if amount is None:
            db.session.delete(row)
        elif row is None:
            db.session.add(UnitPrice(district_id=district_id, key=key, amount_vnd=amount,
                                     updated_by_id=getattr(actor, "id", None)))
        else:
            row.amount_vnd, row.updated_by_id = amount, getattr(actor, "id", None)
        changes[key] = [before, amount]
    if changes:
        audit.record(actor, "unit_prices.changed", district_id=district_id, changes=changes)
    db.session.commit()
    return changes


def set_from_form(actor, district_id: int | None, typed: dict[str, str]) -> dict[str, list]:
    """The unit prices page's form: every price typed (an empty one is refused); only
    those that differ from the price in force become this scope's own, so an untouched
    inherited price keeps following the defaults. Raises ValidationFailed by key."""
    problems, amounts = {}, {}
    for key in PRICE_KEYS:
        value = (typed.get(key) or "").strip()
        if not value:
            problems[key] = _("Enter an amount (0 for free).")
            continue
        try:
            amounts[key] = parse_amount(value)
        except ValueError as error:
            problems[key] = str(error)
    if problems:
        raise ValidationFailed(_("Some fields are not valid."), fields=problems)
    current = effective(district_id)
    return set_prices(actor, district_id, {key: amount for key, amount in amounts.items()
                                           if amount != current.of(key)})
