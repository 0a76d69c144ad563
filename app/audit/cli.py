"""``flask audit``: check the audit trail's hash chain."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.audit import chain
from app.extensions import db

audit_cli = AppGroup("audit", help="The audit trail of every change, sign-in and refusal.")
PROBLEMS_SHOWN = 100


@audit_cli.command("verify")
def verify() -> None:
    """Recompute every entry's hash and check each link of the chain; name each edited or
    removed entry and exit with status 1 if there is any, else print a one-line summary."""
    found = chain.verify(db.session)
    for problem in found.problems[:PROBLEMS_SHOWN]:
        click.echo(problem, err=True)
    if len(found.problems) > PROBLEMS_SHOWN:
        click.echo(f"… and {len(found.problems) - PROBLEMS_SHOWN} more problems", err=True)
    legacy = (f"; {found.legacy} older entries, written before the chain existed, precede it unhashed "
              f"(it begins at entry {found.first_id})" if found.legacy and found.first_id else
              f"; {found.legacy} older entries, written before the chain existed, have no hashes" if found.legacy
              else "")
    if found.problems:
        click.echo(f"{found.checked} entries checked, {len(found.problems)} problems: the chain is broken{legacy}",
                   err=True)
        sys.exit(1)
    click.echo(f"{found.checked} entries, chain intact{legacy}")
