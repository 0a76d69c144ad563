"""The navigation bar: the places each role works in, shown only where access is granted."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_babel import lazy_gettext as _l

from app.accounts.policy import SIGNED_IN, allowed


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


# (action needed, label, endpoint, how to fill the URL from the user, the other pages it
# stands for: endpoints, or blueprint prefixes ending in "."). The item of the page shown
# is marked current (aria-current), also on the pages under it (an inventory record).
ITEMS = [
    (SIGNED_IN, _l("Overview"), "dashboard.home", lambda user: {}, ("districts.district", "districts.flags")),
    ("schools.view", _l("My school"), "schools.detail",
     lambda user: {"school_id": user.school_id} if user.school_id else None, ("schools.edit", "audit.")),
    ("inventory.view", _l("Inventory"), "inventory.rooms",
     lambda user: {"school_id": user.school_id} if user.school_id else None, ("inventory.",)),
    ("evidence.view", _l("Evidence"), "evidence.index",
     lambda user: {"school_id": user.school_id} if user.school_id else None, ("evidence.",)),
    ("score.view", _l("Score"), "framework.scorecard",
     lambda user: {"school_id": user.school_id} if user.school_id else None, ("framework.",)),
    ("assessments.view", _l("Self-assessment"), "assessments.current",
     lambda user: {"school_id": user.school_id} if user.school_id else None, ("assessments.",)),
    ("planner.view", _l("Planner"), "planner.page",
     lambda user: {"school_id": user.school_id} if user.school_id else None, ("planner.",)),
    ("schools.view", _l("Schools"), "schools.index",
     lambda user: {} if user.school_id is None else None,
     ("schools.create", "schools.detail", "schools.edit", "inventory.", "evidence.", "framework.", "audit.")),
    ("provinces.view", _l("Results by province"), "districts.provinces", lambda user: {},
     ("districts.province", "districts.district", "districts.flags")),
    ("districts.manage", _l("Districts"), "schools.districts", lambda user: {},
     ("schools.create_district", "schools.edit_district")),
    ("users.view", _l("Users"), "accounts.users", lambda user: {}, ("accounts.create_user", "accounts.edit_user")),
    ("unit_prices.edit", _l("Unit prices"), "planner.unit_prices", lambda user: {}, ()),
]


def _under(endpoint: str, pages: tuple[str, ...]) -> bool:
    return any(endpoint.startswith(page) if page.endswith(".") else endpoint == page for page in pages)


def navigation_for(user) -> list[NavItem]:
    shown = []  # (pages it stands for, label, URL, is the page shown)
    for action, label, endpoint, url_args, pages in ITEMS:
        args = url_args(user)
        if args is None or not allowed(user, action):
            continue
        shown.append((pages, str(label), url_for(endpoint, **args), request.endpoint == endpoint))
    if not any(exact for *_, exact in shown):
        # No exact match: the last item whose pages include this one (an admin's "Results by
        # province" before "Overview", which stands for a district officer's own district).
        under = next((index for index in reversed(range(len(shown)))
                      if _under(request.endpoint or "", shown[index][0])), None)
        shown = [(pages, label, url, index == under) for index, (pages, label, url, _) in enumerate(shown)]
    return [NavItem(label, url, active) for _, label, url, active in shown]
