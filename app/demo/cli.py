"""``flask --app wsgi demo ensure``: what ``make run`` calls after migrating."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app import demo

demo_cli = AppGroup("demo", help="The demo school.")


@demo_cli.command("ensure")
def ensure():
    """With DEMO on, load the demo into an empty database; print the demo logins."""
    if not current_app.config["DEMO"]:
        click.echo("DEMO is off (set PORTAL_DEMO=1 to load the demo school); nothing loaded.")
        return
    if demo.is_empty():
        demo.load()
        click.echo("Loaded the demo school Trường Tiểu học Chu Văn An (THCVA).")
    click.echo("\nDemo logins (change them before real use):")
    for role, email, password in demo.logins():
        click.echo(f"  {role:<10} {email:<28} {password}")
