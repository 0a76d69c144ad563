"""Faults a real deployment meets: the database unreachable or restarted under the
portal, and a process killed in the middle of an upload or of an approval (an S3 store
that is down, slow or drops an upload halfway: tests/test_evidence.py). Afterwards users
have had a message (never a traceback), nothing is half done, and ``storage reconcile``
leaves no file without its record and no record without its file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.accounts.models import Role, User
from app.assessments.models import Assessment, AssessmentStatus, SealedResult
from app.evidence.models import EvidenceDocument
from app.extensions import db
from app.schools.models import School
from tests import files
from tests.builders import PASSWORD, Builder, bearer
from tests.conftest import TEST_CONFIG, _free_port, _wait_for
from tests.serving import ROOT, serve_portal


def _id(app, model, **where) -> int:
    """The id of the one ``model`` row matching ``where`` (builders hand back detached rows)."""
    with app.app_context():
        return db.session.scalar(select(model.id).filter_by(**where))


def _person(app, role: Role, school_id: int, email: str) -> int:
    """A new user of ``role`` at the school; their id."""
    from app.accounts import services as accounts

    with app.test_request_context():
        return accounts.create_user(None, email=email, full_name="Người dùng thử", password=PASSWORD, role=role,
                                    school=db.session.get(School, school_id)).id


@pytest.mark.real_commits
def test_an_unreachable_database_gets_a_message_not_a_stack_trace(tmp_path):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"postgresql://portal:portal@127.0.0.1:{_free_port()}/portal",
                      "INSTANCE_PATH": str(tmp_path), "WTF_CSRF_ENABLED": False})
    http = app.test_client()
    page = http.post("/login", data={"email": "hieutruong@thcva.edu.vn", "password": "ChuVanAn@2023"})
    text_shown = page.get_data(as_text=True)
    assert page.status_code == 503
    assert "Cơ sở dữ liệu không trả lời" in text_shown and "Traceback" not in text_shown
    api = http.post("/api/v1/auth/token", json={"email": "hieutruong@thcva.edu.vn", "password": "ChuVanAn@2023",
                                                "name": "máy tính bảng"})
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "database_unavailable"
    assert http.get("/healthz").status_code == 200 and http.get("/readyz").status_code == 503


@pytest.fixture()
def postgresql_portal(tmp_path):
    """A portal on a new PostgreSQL database of the server TEST_DATABASE_URL names, and
    a connection that can end the portal's sessions as a restart of the server would."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("needs a PostgreSQL server: set TEST_DATABASE_URL (.ci/run does)")
    from flask_migrate import upgrade

    server = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"portal_faults_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app({**TEST_CONFIG, "WTF_CSRF_ENABLED": False,
                      "DATABASE_URL": server.set(database=name).render_as_string(hide_password=False),
                      "INSTANCE_PATH": str(tmp_path), "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    with app.app_context():
        upgrade()

    def restart():
        """End every session of the portal's database, as a restart of the server does."""
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    try:
        yield app, restart
    finally:
        with app.app_context():
            db.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.real_commits
@pytest.mark.database_free  # its own database, on the PostgreSQL server of the run
def test_after_a_postgresql_restart_the_pool_recovers_and_a_request_cut_off_gets_a_message(postgresql_portal):
    app, restart = postgresql_portal
    cutting = []

    @app.before_request
    def server_goes_away_mid_request():
        if cutting:
            db.session.execute(text("SELECT 1"))  # the request holds its connection ...
            restart()  # ... when the server goes away

    http = app.test_client()
    assert http.get("/readyz").status_code == 200
    restart()  # between requests: the pooled connection is dead
    assert http.get("/readyz").status_code == 200  # tested before use and replaced
    cutting.append(True)
    cut = http.post("/api/v1/auth/token", json={"email": "a@b.vn", "password": "x", "name": "x"})
    page = http.post("/login", data={"email": "a@b.vn", "password": "x"})
    cutting.clear()
    assert cut.status_code == 503 and cut.get_json()["error"]["code"] == "database_unavailable"
    assert page.status_code == 503 and "Traceback" not in page.get_data(as_text=True)
    assert http.get("/readyz").status_code == 200 and http.get("/login").status_code == 200


# --- a process killed in the middle ---------------------------------------------------------

KILLED_RUN = """
import os, signal, sys
from app import create_app
from app.extensions import db
from app.accounts.models import User
from app.schools.models import School
app = create_app({"ENV": "testing", "JOBS_URL": "immediate"})
with app.test_request_context():
    import app.assessments.services as assessments
    import app.evidence.services as evidence
    from app.storage import storage
    point = os.environ["KILL_AT"]
    if point == "after the manifest":
        written = assessments.write_manifest
        def write_then_die(*args, **kwargs):
            written(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        assessments.write_manifest = write_then_die
    if point == "after the file":
        store = storage()
        put = store.put
        def put_then_die(*args, **kwargs):
            put(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        store.put = put_then_die
    user = db.session.get(User, int(os.environ["USER_ID"]))
    school = db.session.get(School, int(os.environ["SCHOOL_ID"]))
    if os.environ["DO"] == "approve":
        assessments.transition(user, school, school.school_year, "approve")
    else:
        from io import BytesIO
        from werkzeug.datastructures import FileStorage
        from tests import files
        evidence.create_document(user, school, {"title": "Biên bản", "doc_type": "minutes", "criteria": ["2.1"]},
                                 [FileStorage(BytesIO(files.pdf("bien-ban.pdf")), filename="bien-ban.pdf")])
print("finished")
"""


@pytest.fixture()
def own_portal(tmp_path):
    """A portal on its own SQLite file and folder (committed for real, as a server's),
    and a way to run one step of it in a process that is killed at a chosen point."""
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}", "INSTANCE_PATH": str(tmp_path),
                "UPLOAD_FOLDER": str(tmp_path / "uploads")}
    app = create_app({**TEST_CONFIG, **settings})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()

    def run(kill_at: str, do: str, **ids) -> subprocess.CompletedProcess:
        env = {**os.environ, "KILL_AT": kill_at, "DO": do,
               "PORTAL_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": settings["DATABASE_URL"],
               "PORTAL_UPLOAD_FOLDER": settings["UPLOAD_FOLDER"],
               **{key.upper(): str(value) for key, value in ids.items()}}
        return subprocess.run([sys.executable, "-c", KILLED_RUN], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    yield app, run, _cli(app)
    with app.app_context():
        db.engine.dispose()


def _cli(app):
    """``flask ARGS`` of ``app``, run in this process; answers like a finished process."""
    def flask(*args: str) -> SimpleNamespace:
        result = app.test_cli_runner().invoke(args=list(args))
        return SimpleNamespace(returncode=result.exit_code, stdout=result.output)
    return flask


def _clean_store(flask) -> None:
    """`storage reconcile --delete` (no grace) removes what was left, and afterwards no
    object lacks its record and no record lacks its object."""
    assert flask("storage", "reconcile", "--delete", "--grace-hours", "0").returncode == 0
    again = flask("storage", "reconcile")
    assert again.stdout.strip().endswith("0 orphaned objects (0 within the grace period of 0:00:00); 0 removed.") \
        or "0 orphaned objects" in again.stdout, again.stdout
    verified = flask("storage", "verify")
    assert verified.returncode == 0 and " 0 missing, 0 mismatched" in verified.stdout, verified.stdout


@pytest.mark.real_commits
@pytest.mark.database_free  # its own SQLite portal
def test_a_process_killed_during_an_approval_leaves_no_half_seal(own_portal):
    app, run, flask = own_portal
    build = Builder(app)
    build.school(code="KILLSEAL")
    school_id = _id(app, School, code="KILLSEAL")
    build.record("rooms", SimpleNamespace(id=school_id), name="6A", kind="classroom", internet=True)
    principal_id = _person(app, Role.PRINCIPAL, school_id, "ht@killseal.vn")
    with app.test_request_context():
        from app.assessments import services as assessments

        found = db.session.get(School, school_id)
        assessments.transition(db.session.get(User, principal_id), found, found.school_year, "start_review")
    killed = run("after the manifest", "approve", user_id=principal_id, school_id=school_id)
    assert killed.returncode == -signal.SIGKILL and "finished" not in killed.stdout, killed.stderr[-2000:]
    with app.app_context():
        assessment = db.session.scalar(select(Assessment).where(Assessment.school_id == school_id))
        assert assessment.status == AssessmentStatus.IN_REVIEW and assessment.sealed_id is None
        assert db.session.scalar(select(func.count()).select_from(SealedResult)) == 0
    listed = flask("storage", "reconcile")
    assert "ORPHAN schools/" in listed.stdout and "/sealed/" in listed.stdout  # the manifest, with no seal
    _clean_store(flask)
    finished = run("nowhere", "approve", user_id=principal_id, school_id=school_id)
    assert "finished" in finished.stdout, finished.stderr[-2000:]
    assert flask("assessments", "verify").returncode == 0
    _clean_store(flask)  # the seal's manifest is its record's: kept


@pytest.mark.real_commits
@pytest.mark.database_free  # its own SQLite portal
def test_a_process_killed_during_an_upload_leaves_no_file_without_its_record(own_portal):
    app, run, flask = own_portal
    build = Builder(app)
    build.school(code="KILLUP")
    school_id = _id(app, School, code="KILLUP")
    killed = run("after the file", "upload", user_id=_person(app, Role.STAFF, school_id, "gv@killup.vn"),
                 school_id=school_id)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EvidenceDocument)) == 0
    assert "ORPHAN schools/" in flask("storage", "reconcile").stdout
    _clean_store(flask)
    assert not any(path.is_file() for path in (Path(app.config["UPLOAD_FOLDER"]) / "schools").rglob("*"))


@pytest.mark.long
@pytest.mark.real_commits
@pytest.mark.database_free  # its own SQLite portal under flask serve
def test_a_gunicorn_worker_killed_during_an_upload_is_replaced_and_leaves_nothing_behind(tmp_path):
    with serve_portal(tmp_path, WEB_WORKERS="1", JOBS_URL="immediate") as served:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": served.env["DATABASE_URL"], "INSTANCE_PATH": str(tmp_path),
                          "UPLOAD_FOLDER": served.env["PORTAL_UPLOAD_FOLDER"]})  # the served portal's data
        Builder(app).school(code="KILLWEB")
        school_id = _id(app, School, code="KILLWEB")
        staff_id = _person(app, Role.STAFF, school_id, "gv@killweb.vn")
        with app.test_request_context():
            from app.accounts import services as accounts

            token = accounts.issue_token(db.session.get(User, staff_id), "faults")[1]
        upload = socket.create_connection(("127.0.0.1", int(served.url.rsplit(":", 1)[1])))
        boundary = "portalfault"
        head = (f"POST /api/v1/schools/{school_id}/evidence HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {20 * 1024 * 1024}\r\n\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nẢnh lớp học\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"anh.png\"\r\n"
                f"Content-Type: image/png\r\n\r\n").encode()
        upload.sendall(head + files.png()[:2048] + b"\0" * (2 * 1024 * 1024))  # a tenth of it, then silence
        arbiter = next(pid for pid in subprocess.run(["pgrep", "-P", str(served.process.pid)], capture_output=True,
                                                      text=True).stdout.split()
                       if "gunicorn" in Path(f"/proc/{pid}/cmdline").read_text())
        killed = subprocess.run(["pgrep", "-P", arbiter], capture_output=True, text=True).stdout.split()
        assert killed  # gunicorn's workers, one of them reading the upload
        for pid in killed:
            os.kill(int(pid), signal.SIGKILL)
        upload.close()
        _wait_for(f"{served.url}/healthz")  # gunicorn started new workers
        after = _get(f"{served.url}/api/v1/schools/{school_id}/evidence", token)
        assert after["total"] == 0
        _clean_store(_cli(app))
        with app.app_context():
            db.engine.dispose()


def _get(url: str, token: str) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=bearer(token))) as answer:
        return json.load(answer)


@pytest.mark.real_commits
def test_a_refusal_by_a_database_constraint_logs_its_name_not_the_values(tmp_path, db_url, caplog):
    from sqlalchemy.exc import IntegrityError

    app = create_app({**TEST_CONFIG, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path)})

    class Diagnosis:
        constraint_name = "users_email_key"

    class Refusal(Exception):
        diag = Diagnosis()

    @app.route("/twice")
    def twice():
        raise IntegrityError("INSERT INTO users …", {"email": "mai.tran@thcva.edu.vn"},
                             Refusal("Key (email)=(mai.tran@thcva.edu.vn) already exists."))
    twice.required_action = "public"

    with caplog.at_level("INFO"):
        answer = app.test_client().get("/twice")
    assert answer.status_code == 409
    assert "users_email_key" in caplog.text and "mai.tran" not in caplog.text
