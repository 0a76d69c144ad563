"""What each gunicorn worker would otherwise do on its first requests, done once in
gunicorn's master before it forks them (``preload_app`` in app/ops/gunicorn_conf.py):
compile every template, read the index, load the Vietnamese catalogue and make the
password hasher's stand-in hash. The workers inherit all of it, so the first pages after
a restart are as quick as the rest, and no worker spends its first second on it."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale, gettext
from sqlalchemy.exc import SQLAlchemyError

from app.accounts.passwords import hash_password
from app.extensions import db
from app.framework.services import framework


def warm(app: Flask) -> None:
    """Fill ``app``'s caches that every worker shares, then close the database
    connections that did it: a connection must never cross a fork. A database that is
    down leaves the index to the first request that needs it."""
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    with app.test_request_context():
        try:
            framework()
        except SQLAlchemyError:
            pass  # nosec B110: /readyz says the database is down; workers read the index once it is back
        finally:
            db.session.remove()
            db.engine.dispose()
        hash_password("warming up")  # builds the hasher and its stand-in hash for unknown accounts
        for locale in app.config["LANGUAGES"]:
            with force_locale(locale):
                gettext("Sign in")
