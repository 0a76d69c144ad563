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


# (action needed, label, endpoint, how to fill the URL from the user)
ITEMS = [
    (SIGNED_IN, _l("Overview"), "dashboard.home", lambda user: {}),
    ("schools.view", _l("My school"), "schools.detail",
     lambda user: {"school_id": user.school_id} if user.school_id else None),
    ("inventory.view", _l("Inventory"), "inventory.rooms",
     lambda user: {"school_id": user.school_id} if user.school_id else None),
    ("score.view", _l("Score"), "framework.scorecard",
     lambda user: {"school_id": user.school_id} if user.school_id else None),
    ("schools.view", _l("Schools"), "schools.index",
     lambda user: {} if user.school_id is None else None),
    ("districts.manage", _l("Districts"), "schools.districts", lambda user: {}),
    ("users.view", _l("Users"), "accounts.users", lambda user: {}),
]


def navigation_for(user) -> list[NavItem]:
    items = []
    for action, label, endpoint, url_args in ITEMS:
        args = url_args(user)
        if args is None or not allowed(user, action):
            continue
        items.append(NavItem(str(label), url_for(endpoint, **args), request.endpoint == endpoint))
    return items
