"""``flask framework list | check FILE | load FILE``: the indexes the portal scores against;
``flask scores refresh``: the stored score of each school."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.framework.loader import FrameworkError, load_framework_file
from app.framework.models import SchoolScore, StoredFramework
from app.framework.scores import store_score
from app.framework.services import builtin_files, framework, store_framework
from app.schools.models import School

framework_cli = AppGroup("framework", help="List, check and load index files (e.g. QĐ 4725).")
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@framework_cli.command("list")
def list_frameworks():
    """The built-in and loaded indexes; * marks the one in use (setting FRAMEWORK)."""
    in_use = current_app.config["FRAMEWORK"]
    loaded = {row.code: row for row in db.session.scalars(select(StoredFramework))}
    for code in sorted(set(builtin_files()) | set(loaded)):
        origin = f"loaded {loaded[code].loaded_at:%Y-%m-%d %H:%M}" if code in loaded else "built in"
        click.echo(f"{'*' if code == in_use else ' '} {code}  {framework(code).title}  ({origin})")


@framework_cli.command("check")
@click.argument("file", type=FILE)
def check(file: Path):
    """Validate FILE and say what is wrong, with its line; changes nothing."""
    index = _load(file, load_framework_file)
    click.echo(f"{file.name}: {index.code} is valid ({len(index.criteria)} criteria).")


@framework_cli.command("load")
@click.argument("file", type=FILE)
def load(file: Path):
    """Validate FILE and keep it, replacing a loaded index with the same code."""
    index = _load(file, lambda path: store_framework(None, path))
    click.echo(f"Loaded {index.code}: {index.title}")


def _load(file: Path, loader):
    try:
        return loader(file)
    except FrameworkError as error:
        raise click.ClickException(str(error)) from None


scores_cli = AppGroup("scores", help="The stored score of each school, which the district's pages read.")


@scores_cli.command("refresh")
@click.option("--all", "every", is_flag=True, help="Every school, not only those whose stored score is out of date.")
def refresh(every: bool) -> None:
    """Compute and store the score of each school whose stored one is missing or out of
    date (after an index file is loaded), a school per transaction."""
    query = select(School.id).order_by(School.id)
    if not every:
        query = query.outerjoin(SchoolScore, SchoolScore.school_id == School.id).where(
            (SchoolScore.school_id.is_(None)) | (SchoolScore.stamp != School.score_stamp)
            | (SchoolScore.school_year != School.school_year))
    school_ids = db.session.scalars(query).all()
    for school_id in school_ids:
        store_score(db.session.get(School, school_id))
        db.session.commit()
    click.echo(f"{len(school_ids)} school scores stored")
