"""Where a record lives, for the access policy (app.accounts.policy)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """A school (and its district), a district, or a single owner. All None: a global
    record that only admins reach."""

    school_id: int | None = None
    district_id: int | None = None
    owner_id: int | None = None
