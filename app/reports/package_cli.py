"""``flask package``: check an evidence package (app.reports.package.verify_package)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from app.reports.package import ADDED, CHANGED, DISAGREES, MISSING, Problem, verify_package

package_cli = AppGroup("package", help="The evidence package of a school year (ZIP with manifest).")
LABELS = {CHANGED: "changed", MISSING: "missing", ADDED: "added", DISAGREES: "manifest differs from snapshot"}
NOTES = {"crc": "its bytes fail the ZIP's own CRC-32", "unreadable": "cannot be read",
         "unlisted": "in the snapshot, not listed in the manifest"}


@package_cli.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
def verify(path: str) -> None:
    """Check the package at PATH: each file changed, missing or added against its
    manifest, snapshot.json against its hash, and that hash against the approvals in the
    database. Exit status 1 on any problem."""
    try:
        handle = open(path, "rb")  # noqa: SIM115  (closed below; a directory or missing file is said plainly)
    except OSError as error:
        click.echo(f"{path}: cannot be read ({error.strerror or error})", err=True)
        sys.exit(1)
    with handle, force_locale("en"):
        verdict = verify_package(handle)
        if verdict.error:
            click.echo(f"{path}: {verdict.error}", err=True)
            sys.exit(1)
    manifest = verdict.manifest
    school = manifest.get("school") or {}
    click.echo(f"Package of {school.get('name', '?')} ({school.get('code', '?')}), school year "
               f"{manifest.get('year', '?')}, {'sealed' if verdict.sealed else 'DRAFT (not approved)'}")
    for problem in verdict.problems:
        click.echo(f"  {LABELS[problem.kind]}: {problem.path}{_detail(problem)}", err=True)
    if not verdict.snapshot_present:
        click.echo("  snapshot.json is missing", err=True)
    elif not verdict.snapshot_intact:
        click.echo(f"  snapshot.json does not hash to snapshot_sha256 {verdict.snapshot_sha256}", err=True)
    else:
        click.echo(f"  snapshot.json hashes to snapshot_sha256 {verdict.snapshot_sha256}")
    seal = verdict.seal
    if seal is not None:
        click.echo(f"  matches the approval of {seal.school_name} ({seal.school_code}), school year {seal.year}, "
                   f"by {seal.approved_by} at {seal.approved_at}"
                   + ("" if seal.in_force else "; that approval has been reopened since"))
    elif verdict.seal_lookup_failed:
        click.echo("  could not read the approvals in the database", err=True)
    elif verdict.sealed:
        click.echo("  MISMATCH: no approval in the database has this snapshot hash", err=True)
    else:
        click.echo("  a draft: no approval to match")
    if not verdict.ok:
        click.echo(f"{verdict.checked} files intact, {len(verdict.problems)} problems: the package is not as it "
                   "was made" if verdict.problems else "The files are intact, but the snapshot cannot be trusted",
                   err=True)
        sys.exit(1)
    click.echo(f"{verdict.checked} files intact: the package is as it was made")


def _detail(problem: Problem) -> str:
    if problem.note:
        return f" ({NOTES[problem.note]})"
    parts = []
    if problem.expected_sha256:
        parts.append(f"expected {problem.expected_size} bytes, sha256 {problem.expected_sha256}")
    if problem.found_sha256:
        parts.append(f"found {problem.found_size} bytes, sha256 {problem.found_sha256}")
    return f" ({'; '.join(parts)})" if parts else ""
