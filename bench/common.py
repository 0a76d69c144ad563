"""What every benchmark shares: a freshly migrated portal on the database under test,
and where its figures are written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db

ROOT = Path(__file__).resolve().parents[1]


def fresh_app():
    """(app, database URL): BENCH_DATABASE_URL (wiped) or a new SQLite file, migrated."""
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench" * 8})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    return app, url


def write_results(name: str, url: str, lines: list[str]) -> None:
    """Print ``lines`` and keep them in bench/results/<name>-<database>.md."""
    out = ROOT / "bench" / "results" / f"{name}-{url.split(':')[0].split('+')[0]}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
