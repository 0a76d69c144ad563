"""``flask package``: check an evidence package (app.reports.package.verify_package)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from app.reports.package import ADDED, CHANGED, DISAGREES, MISSING, Problem, Verdict, verify_package

package_cli = AppGroup("package", help="The evidence package of a school year (ZIP with manifest).")
LABELS = {CHANGED: "changed", MISSING: "missing", ADDED: "added", DISAGREES: "manifest differs from snapshot"}
NOTES = {"crc": "its bytes fail the ZIP's own CRC-32", "unreadable": "cannot be read",
         "unlisted": "in the snapshot, not listed in the manifest",
         "unknown": "listed in the manifest, not in the snapshot"}


@package_cli.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
def verify(path: str) -> None:
    """Check the package at PATH: each file changed, missing or added, and each thing its
    manifest says, against the approval in the database whose snapshot it holds (or, for
    a package of no approval, against its own manifest and snapshot only, which proves
    nothing). Exit status 0 only for a package intact and matching an approval; 1 otherwise."""
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
    _describe(verdict)
    if verdict.ok:
        click.echo(f"{verdict.checked} files intact: the package is as it was made")
        return
    if verdict.problem_count:
        click.echo(f"{verdict.checked} files intact, {verdict.problem_count} problems: the package is not as it "
                   "was made", err=True)
    elif verdict.snapshot_untrusted:
        click.echo("The files are intact, but the snapshot cannot be trusted", err=True)
    elif verdict.seal is not None:
        click.echo(f"{verdict.checked} files intact, but the reports cannot be checked: the package is not proven "
                   "intact", err=True)
    else:
        click.echo(f"{verdict.checked} files consistent with the package's own manifest and snapshot, but NOTHING "
                   "PROVES it is a package the portal approved", err=True)
    sys.exit(1)


def _describe(verdict: Verdict) -> None:
    manifest, seal = verdict.manifest, verdict.seal
    if seal is not None:
        click.echo(f"Package of {seal.school_name} ({seal.school_code}), school year {seal.year}, sealed "
                   "(as recorded in the portal)")
    else:
        school = manifest["school"]
        click.echo(f"Package of {school['name']} ({school['code']}), school year {manifest['year']}, "
                   f"{'sealed' if verdict.sealed else 'DRAFT (not approved)'} (as its manifest states, not confirmed)")
    for problem in verdict.problems:
        click.echo(f"  {LABELS[problem.kind]}: {problem.path}{_detail(problem)}", err=True)
    if verdict.more_problems:
        click.echo(f"  … and {verdict.more_problems} more problems, not listed", err=True)
    if not verdict.snapshot_present:
        click.echo("  snapshot.json is missing", err=True)
    elif not verdict.snapshot_intact:
        click.echo(f"  snapshot.json does not hash to snapshot_sha256 {verdict.snapshot_sha256}", err=True)
    elif seal is None:
        click.echo(f"  snapshot.json hashes to snapshot_sha256 {verdict.snapshot_sha256}")
    if seal is not None:
        click.echo(f"  matches the approval of {seal.school_name} ({seal.school_code}), school year {seal.year}, "
                   f"by {seal.approved_by} at {seal.approved_at}"
                   + ("" if seal.in_force else "; that approval has been reopened since"))
        if verdict.reports_store_failed:
            click.echo("  the reports kept with the approval could not be read: the reports cannot be checked",
                       err=True)
        elif verdict.reports_unchecked:
            click.echo(f"  the portal does not keep this approval's {', '.join(verdict.reports_unchecked)}: "
                       "the reports cannot be checked", err=True)
        else:
            click.echo("  the reports match the ones kept with the approval")
        return
    if verdict.seal_lookup_failed:
        click.echo("  could not read the approvals in the database", err=True)
    elif verdict.sealed:
        click.echo("  MISMATCH: no approval in the database has this snapshot hash", err=True)
    else:
        click.echo("  a draft: no approval to match", err=True)
    click.echo("  ONLY INTERNAL CONSISTENCY was checked: no approval in the database has this package's snapshot, "
               "so nothing proves it is an approved package", err=True)


def _detail(problem: Problem) -> str:
    if problem.note:
        return f" ({NOTES[problem.note]})"
    if problem.found_text is not None:  # one of the manifest's own fields
        return f" {problem.field} (expected {problem.expected_text}, found {problem.found_text})"
    differing = problem.field.split(",") if problem.field else ["sha256", "size"]
    parts = [f"differs in {problem.field}"] if problem.field else []
    if problem.expected_text:
        parts.append(f"expected at {problem.expected_text}")
    if "sha256" in differing or "size" in differing:
        if problem.expected_sha256:
            parts.append(f"expected {problem.expected_size} bytes, sha256 {problem.expected_sha256}")
        if problem.found_sha256:
            parts.append(f"found {problem.found_size} bytes, sha256 {problem.found_sha256}")
    return f" ({'; '.join(parts)})" if parts else ""
