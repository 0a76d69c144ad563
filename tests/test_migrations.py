"""The migrations are the schema: one head, they build an empty database of the run's kind
(SQLite, or PostgreSQL with --db=postgresql), they go down and up again, and they agree
with the models."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import database_url
from app.extensions import db
from tests.conftest import TEST_CONFIG

pytestmark = pytest.mark.real_commits


@pytest.fixture()
def empty_database(db_url, tmp_path):
    """A new, empty database of the same kind as the run's."""
    url = make_url(database_url(db_url))
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"portal_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_there_is_one_head(app):
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        assert len(script.get_heads()) == 1


def test_upgrade_builds_an_empty_database_that_matches_the_models(empty_database, tmp_path):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database, "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []
        assert {"schools", "users", "api_tokens", "audit_events"} <= set(inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "schools" in inspect(db.engine).get_table_names()
        db.engine.dispose()
