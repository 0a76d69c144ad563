"""A real portal served by ``flask serve`` (gunicorn and the job worker) on a free port,
on its own SQLite database and folders, for the tests of serving, deployment and faults."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import _free_port, _wait_for

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Served:
    """A running ``flask serve``: its address, its folder and, once stopped, what it printed."""

    url: str
    folder: Path
    process: subprocess.Popen
    out: str = ""
    err: str = ""
    env: dict = field(default_factory=dict)

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """``flask --app wsgi ARGS`` on this portal's settings."""
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=self.env,
                               capture_output=True, text=True, timeout=120)


@functools.cache
def migrated_database() -> Path:
    """A SQLite database migrated to head, made once per test process (in a folder removed
    at exit): each served portal starts from a copy of it, as after ``flask db upgrade``,
    instead of paying a process of its own for the same migrations."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from tests.conftest import TEST_CONFIG

    folder = Path(tempfile.mkdtemp(prefix="portal-migrated-"))
    atexit.register(shutil.rmtree, folder, True)
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{folder / 'portal.db'}",
                      "INSTANCE_PATH": str(folder)})
    with app.app_context():
        upgrade()
        db.engine.dispose()  # the last connection checkpoints the WAL into the file
    return folder / "portal.db"


@contextlib.contextmanager
def serve_portal(folder: Path, **settings: str):
    """``flask serve`` of a new, migrated portal in ``folder`` (a copy of
    ``migrated_database()``) with ``settings`` (PORTAL_* variables, without the prefix);
    stopped with SIGTERM afterwards, its output kept."""
    port = _free_port()
    env = {**os.environ, "PORTAL_ENV": "development", "PORTAL_INSTANCE_PATH": str(folder),
           "DATABASE_URL": f"sqlite:///{folder / 'portal.db'}", "PORTAL_UPLOAD_FOLDER": str(folder / "uploads"),
           "PORTAL_JOBS_URL": f"sqlite:///{folder / 'jobs.db'}", "PORTAL_HOST": "127.0.0.1",
           "PORTAL_PORT": str(port), "PORTAL_WEB_WORKERS": "2",
           **{f"PORTAL_{name}": value for name, value in settings.items()}}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_database(), folder / "portal.db")
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    served = Served(f"http://127.0.0.1:{port}", folder, process, env=env)
    try:
        _wait_for(f"{served.url}/healthz", seconds=60)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            served.out, served.err = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            served.out, served.err = process.communicate()
