"""``flask assessments``: check that every sealed result still holds."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.assessments.models import SealedResult
from app.assessments.sealing import check_seal
from app.extensions import db

assessments_cli = AppGroup("assessments", help="Self-assessments of school years and their sealed results.")


@assessments_cli.command("verify")
def verify() -> None:
    """Check every sealed result: its snapshot against its hash, its manifest in storage,
    and the audit entry it anchored. Name each problem and exit with status 1 if any."""
    problems, count = [], 0
    for seal in db.session.scalars(select(SealedResult).order_by(SealedResult.id)).yield_per(50):
        count += 1
        problems.extend(check_seal(seal))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{count} sealed results intact")
