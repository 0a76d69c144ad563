"""``flask backup create DIR`` and ``flask backup restore DIR``: the rules are in
app.backup.services; these print what happened and exit with status 1 on failure."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup

from app.backup.services import BackupError, Outcome, create_backup, restore_backup

backup_cli = AppGroup("backup", help="Back up the database and the stored files; restore into an empty portal.")
FOLDER = click.Path(file_okay=True, dir_okay=True, path_type=Path)


@backup_cli.command("create")
@click.argument("folder", type=FOLDER)
@click.option("--with-objects", is_flag=True,
              help="Copy the objects of an S3 store too (the local store's are always copied).")
def create(folder: Path, with_objects: bool) -> None:
    """Write a consistent copy of the database, the stored objects and their manifest
    into FOLDER, which must be new or empty."""
    started = time.monotonic()
    outcome = _run(lambda: create_backup(folder, with_objects, say=click.echo), "The backup failed",
                   "Nothing was kept: the folder is empty again.")
    click.echo(f"Backup complete in {folder} ({time.monotonic() - started:.1f} s): the {outcome.database} "
               f"database at revision {outcome.revision}; {outcome.objects} objects "
               f"({outcome.object_bytes / 2**20:.1f} MB), {outcome.copied} of them copied.")
    for note in outcome.notes:
        click.echo(note)


@backup_cli.command("restore")
@click.argument("folder", type=FOLDER)
def restore(folder: Path) -> None:
    """Restore the backup in FOLDER into this portal, whose database must hold no school
    and no user; every file is checked against the manifest first."""
    started = time.monotonic()
    outcome = _run(lambda: restore_backup(folder, say=click.echo), "The restore failed", "")
    click.echo(f"Restored in {time.monotonic() - started:.1f} s: the {outcome.database} database "
               f"(backed up at revision {outcome.revision}"
               + (f", migrated to {outcome.migrated_to})" if outcome.migrated_to else ")")
               + f"; {outcome.copied} objects put into the store, {outcome.checked_in_store} found there already.")
    click.echo("Check it with `flask storage verify` and `flask assessments verify`.")


def _run(action, failed: str, after: str) -> Outcome:
    try:
        return action()
    except BackupError as error:
        click.echo(f"{failed}: {error}" + (f"\n{after}" if after else ""), err=True)
        sys.exit(1)
