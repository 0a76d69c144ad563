"""Running the portal for real: liveness and readiness for a load balancer, one JSON log
line per request with its id (and never a password or token), Prometheus metrics behind
their token, and ``flask serve`` with gunicorn and the job worker."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app import create_app
from app.accounts.models import Role
from app.extensions import db
from app.ops.logs import JsonFormatter
from app.ops.serve import addresses
from app.ops.warm import warm
from tests.builders import PASSWORD, bearer
from tests.conftest import TEST_CONFIG, _free_port, s3_settings
from tests.serving import serve_portal

ROOT = Path(__file__).resolve().parents[1]
METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


def test_liveness_answers_without_the_database(app, client, monkeypatch):
    from app.extensions import db

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database is down")

    assert client.get("/healthz").get_json() == {"status": "ok"}
    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        answer = client.get("/healthz")
        assert answer.status_code == 200 and answer.get_json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "not ready", "checks": {
        "database": "unreachable", "migrations": "unreachable", "storage": "ok"}}


def test_readiness_checks_the_database_its_migrations_and_the_store(app, client, tmp_path):
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok",
                                                               "storage": "ok"}}
    heads = app.extensions.pop("portal_migration_heads", None)
    app.extensions["portal_migration_heads"] = ("a-newer-revision",)  # the code expects a later schema
    try:
        behind = client.get("/readyz")
    finally:
        app.extensions["portal_migration_heads"] = heads or app.extensions.pop("portal_migration_heads")
    assert behind.status_code == 503 and behind.get_json()["checks"]["migrations"] == "behind"

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    saved = app.config["UPLOAD_FOLDER"]
    app.config["UPLOAD_FOLDER"] = str(blocker / "uploads")
    app.extensions.pop("portal_storage", None)
    try:
        folder = client.get("/readyz")
    finally:
        app.config["UPLOAD_FOLDER"] = saved
        app.extensions.pop("portal_storage", None)
    assert folder.status_code == 503 and folder.get_json()["checks"]["storage"] == "unreachable"
    assert "a-file" not in folder.get_data(as_text=True)  # the reason is logged, not shown


def test_readiness_reaches_the_s3_bucket(app, client, s3_server):
    from tests.conftest import make_bucket

    with s3_settings(app, S3_ENDPOINT_URL=s3_server.url, S3_BUCKET=make_bucket(s3_server.url)):
        assert client.get("/readyz").status_code == 200
    with s3_settings(app, S3_ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}", S3_BUCKET="portal",
                     S3_CONNECT_TIMEOUT=0.5, S3_MAX_ATTEMPTS=1):
        down = client.get("/readyz")
    assert down.status_code == 503 and down.get_json()["checks"] == {"database": "ok", "migrations": "ok",
                                                                    "storage": "unreachable"}


def _lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


def test_every_request_writes_one_json_line_with_its_id_user_and_school(app, client, build, caplog):
    school = build.school()
    user = build.user(Role.STAFF, school=school)
    client.login(user.email)
    app.config["TRUSTED_PROXIES"] = 1  # nginx in front
    try:
        with caplog.at_level(logging.INFO, logger="portal.request"):
            answer = client.get(f"/schools/{school.id}/rooms", headers={"X-Request-Id": "nginx-4f2a9c"})
            fresh = app.test_client().get("/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"})
            missing = client.get("/no-such-page")
    finally:
        app.config["TRUSTED_PROXIES"] = 0
    assert answer.headers["X-Request-Id"] == "nginx-4f2a9c"  # a proxy's id is kept
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-Id"])  # a bad one is replaced
    lines = [line for line in _lines(caplog) if line["logger"] == "portal.request"]
    assert [line["status"] for line in lines] == [200, 200, 404]
    first = lines[0]
    assert first["request_id"] == "nginx-4f2a9c" and first["message"] == "request"
    assert first["method"] == "GET" and first["path"] == f"/schools/{school.id}/rooms"
    assert first["route"] == "/schools/<id:school_id>/rooms"
    assert first["user_id"] == user.id and first["school_id"] == school.id
    assert isinstance(first["duration_ms"], float) and first["level"] == "info"
    assert "user_id" not in lines[1] and "school_id" not in lines[1]  # nobody signed in
    assert missing.headers["X-Request-Id"] == lines[2]["request_id"]


def test_without_a_trusted_proxy_a_client_does_not_choose_its_request_id(app, client, caplog):
    with caplog.at_level(logging.INFO, logger="portal.request"):
        answer = client.get("/healthz", headers={"X-Request-Id": "someone-elses-id"})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"])
    assert [line["request_id"] for line in _lines(caplog)] == [answer.headers["X-Request-Id"]]


def test_a_request_stays_one_log_line_whatever_its_path_holds(app, client, caplog):
    """A path may hold characters that JSON keeps as they are but that a reader splitting
    lines (Python's splitlines) or a terminal would act on: each is written as \\uXXXX."""
    path = '/x\u2028{"level": "error"}\x85\u2029\x9b31m\u202etxt.exe\u2066Nguyễn'
    with caplog.at_level(logging.INFO, logger="portal.request"):
        client.get(path)
    written = [JsonFormatter().format(record) for record in caplog.records]
    assert len(written) == 1 and written[0].splitlines() == written
    assert json.loads(written[0])["path"] == path and "Nguyễn" in written[0]  # still readable


def test_text_logs_write_each_request_on_one_readable_line(app, client, build, capsys):
    """LOG_FORMAT=text: the request line names the method, path, status, duration, user,
    school and request id, stays one line whatever the path holds, and holds no password."""
    from app.ops.logs import configure

    school = build.school()
    user = build.user(Role.STAFF, school=school)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure("text", "INFO")
    try:
        client.post("/login", {"email": user.email, "password": "Sai-mat-khau-2026"})
        client.login(user.email)
        answer = client.get(f"/schools/{school.id}/rooms")
        client.get("/x%0A2026-12-03 07:00:00 ERROR forged%1B[2J")  # a line break and a terminal control
    finally:
        root.handlers[:], root.level = saved
    lines = [line for line in capsys.readouterr().err.splitlines() if " portal.request: " in line]
    request_id = answer.headers["X-Request-Id"]
    assert re.search(rf" INFO portal\.request: request GET /schools/{school.id}/rooms 200 [0-9.]+ms "
                     rf"user={user.id} school={school.id} ip=127\.0\.0\.1 id={request_id}$", lines[-2])
    assert any(": request POST /login " in line for line in lines)
    assert lines[-1].split(": ", 1)[1].startswith(r"request GET /x\u000a2026-12-03 07:00:00 ERROR forged\u001b[2J 404 ")
    assert not any("Sai-mat-khau-2026" in line or PASSWORD in line for line in lines)


def test_debug_logs_hold_no_s3_credentials(app, s3_server, capsys):
    """At LOG_LEVEL=DEBUG the portal's own lines are written, not botocore's signed S3 requests."""
    from app.ops.logs import configure
    from app.storage import storage
    from tests.conftest import make_bucket

    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level
                                           for name in ("botocore", "boto3", "s3transfer", "urllib3", "werkzeug")}
    configure("json", "DEBUG")
    try:
        with s3_settings(app, S3_ENDPOINT_URL=s3_server.url, S3_BUCKET=make_bucket(s3_server.url)), \
                app.app_context():
            assert storage().stat("no/such/key") is None
            logging.getLogger("app").debug("a debug line of the portal")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
    written = capsys.readouterr().err
    assert "a debug line of the portal" in written
    for secret in ("Credential=testing", "Signature=", "testing-secret", "Authorization"):
        assert secret not in written


def test_no_password_token_or_file_content_reaches_the_log(app, client, make_client, build, caplog):
    school = build.school()
    user = build.user(Role.STAFF, school=school)
    http = app.test_client()
    with caplog.at_level(logging.DEBUG):
        client.login(user.email)
        client.post("/login", {"email": user.email, "password": "Sai-mat-khau-2026"})
        token = http.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD,
                                                      "name": "log test"}).get_json()["token"]
        http.get("/api/v1/schools", headers=bearer(token))
        http.get("/api/v1/schools?q=Nguyễn+Thị+Hoa", headers=bearer(token))
    text = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert text  # the requests were logged
    for secret in (PASSWORD, "Sai-mat-khau-2026", token, "Nguyễn Thị Hoa", "Nguy%E1%BB%85n"):
        assert secret not in text


def test_an_error_is_logged_with_its_traceback_and_request_id(tmp_path, db_url, caplog):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path),
                      "PROPAGATE_EXCEPTIONS": False})

    @app.route("/boom")
    def boom():
        raise ZeroDivisionError("a bug")
    boom.required_action = "public"

    with caplog.at_level(logging.INFO):
        answer = app.test_client().get("/boom")
    assert answer.status_code == 500
    lines = _lines(caplog)
    error = next(line for line in lines if line["level"] == "error")
    assert "ZeroDivisionError" in error["error"] and error["request_id"] == answer.headers["X-Request-Id"]
    assert next(line for line in lines if line["message"] == "request")["status"] == 500
    assert "ZeroDivisionError" not in answer.get_data(as_text=True)


@pytest.mark.real_commits
def test_warming_before_the_fork_compiles_every_page_and_leaves_no_connection_open(tmp_path, db_url):
    """What gunicorn's master does before forking (app.ops.warm): the workers inherit
    compiled templates, the hasher and the catalogues, and no database connection, which
    two processes must never share."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path)})

    warm(app)

    assert len(app.jinja_env.cache) == len(app.jinja_env.list_templates()) > 50
    assert "argon2_dummy" in app.extensions
    with app.app_context():
        assert db.engine.pool.checkedin() == db.engine.pool.checkedout() == 0


@pytest.mark.real_commits
@pytest.mark.database_free
def test_warming_with_the_database_down_still_lets_the_server_start(tmp_path):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"postgresql://portal:portal@127.0.0.1:{_free_port()}/none",
                      "INSTANCE_PATH": str(tmp_path)})

    warm(app)  # /readyz says the database is down; the index is read once it is back

    assert len(app.jinja_env.cache) == len(app.jinja_env.list_templates())


def test_metrics_answer_only_to_their_token(app, client, build):
    school = build.school()
    client.login(build.user(Role.PRINCIPAL, school=school).email)
    client.get("/")
    assert client.get("/metrics").status_code == 404  # off while METRICS_TOKEN is unset
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    try:
        refused = [client.get("/metrics", headers=headers).status_code for headers in (
            {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"})]
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    finally:
        app.config["METRICS_TOKEN"] = None
    assert refused == [401, 401, 401]
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert re.search(r'portal_http_request_duration_seconds_count\{method="GET",route="/",status="200"\} \d', text)
    assert re.search(r'portal_score_cache_total\{result="(hit|miss)"\} [1-9]', text)
    assert "portal_job_queue_depth" in text and "portal_storage_errors_total" in text


def test_made_up_methods_add_no_series_to_the_metrics(app, client):
    """Any word is a method to HTTP: each must not become a series of its own (a client
    could grow the figures, and every worker's memory, without end)."""
    from app.ops.metrics import UNUSUAL_METHODS

    before = UNUSUAL_METHODS._value.get()
    answers = {client.http.open("/login", method=f"XMETHOD{n}").status_code for n in range(30)}
    client.get("/login")
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    try:
        text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_data(as_text=True)
    finally:
        app.config["METRICS_TOKEN"] = None
    assert answers == {405}
    assert "XMETHOD" not in text and UNUSUAL_METHODS._value.get() == before + 30
    assert re.search(r'portal_http_request_total\{method="GET",status="200"\} [1-9]', text)
    assert "portal_http_unusual_method_total" in text


def test_storage_errors_are_counted(app, client, build):
    from app.ops.metrics import STORAGE_ERRORS
    from app.storage import StorageUnavailable, storage

    before = STORAGE_ERRORS._value.get()
    with s3_settings(app, S3_ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}", S3_BUCKET="portal",
                     S3_CONNECT_TIMEOUT=0.5, S3_MAX_ATTEMPTS=1), app.app_context():
        with pytest.raises(StorageUnavailable):
            storage().stat("a/key")
    assert STORAGE_ERRORS._value.get() == before + 1


def test_the_printed_addresses_put_the_network_first(app):
    config = {"PORT": 8000, "HOST": "0.0.0.0", "PUBLIC_URL": None}
    shown = addresses(config)
    assert shown[-1] == "http://127.0.0.1:8000" and all(address.endswith(":8000") for address in shown)
    assert addresses({**config, "PUBLIC_URL": "https://cds.thcva.edu.vn/"})[0] == "https://cds.thcva.edu.vn"
    assert addresses({**config, "HOST": "127.0.0.1"}) == ["http://127.0.0.1:8000"]


@pytest.mark.long
@pytest.mark.real_commits
@pytest.mark.database_free  # its own SQLite portal: `flask serve` is the embedded default's
def test_flask_serve_runs_gunicorn_and_the_job_worker_until_stopped(tmp_path):
    """A real ``flask serve`` on a free port: it prints where to open it, answers /healthz
    and /readyz, sums its workers' requests in /metrics, logs JSON lines, and stops both
    gunicorn and the job worker on SIGTERM."""
    with serve_portal(tmp_path, METRICS_TOKEN=METRICS_TOKEN) as served:
        for _ in range(6):
            assert urllib.request.urlopen(f"{served.url}/healthz").status == 200
        assert json.load(urllib.request.urlopen(f"{served.url}/readyz"))["status"] == "ready"
        scrape = urllib.request.Request(f"{served.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        text = urllib.request.urlopen(scrape).read().decode()
        requests_served = re.search(r'portal_http_request_total\{method="GET",status="200"\} ([0-9.]+)', text)
        assert requests_served and float(requests_served.group(1)) >= 7  # every worker's requests, summed
        children = subprocess.run(["pgrep", "-P", str(served.process.pid)], capture_output=True,
                                  text=True).stdout.split()
        assert len(children) == 2  # gunicorn's arbiter and the job worker
    assert served.process.returncode == 0, served.err[-2000:]
    assert served.url in served.out and "No one can sign in yet" in served.out
    lines = [json.loads(line) for line in served.err.splitlines() if line.startswith("{")]
    assert any(line.get("path") == "/readyz" and line["status"] == 200 for line in lines)
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


@pytest.mark.long
@pytest.mark.real_commits
@pytest.mark.database_free
def test_gunicorn_and_the_job_worker_end_when_flask_serve_is_killed(tmp_path):
    """``flask serve`` killed outright (SIGKILL, the OOM killer) cannot stop its children
    itself: they end with it, so no gunicorn keeps the port for the next start."""
    with serve_portal(tmp_path) as served:
        children = subprocess.run(["pgrep", "-P", str(served.process.pid)], capture_output=True,
                                  text=True).stdout.split()
        assert len(children) == 2
        served.process.kill()
        served.process.wait()
        deadline = time.monotonic() + 60
        while (running := [pid for pid in children if _alive(int(pid))]) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert running == []


@pytest.mark.long
@pytest.mark.real_commits
@pytest.mark.database_free
def test_clients_that_stop_mid_request_are_cut_off_and_slow_uploads_still_arrive(tmp_path):
    """With REQUEST_TIMEOUT, more half-sent requests than gunicorn has threads (a
    slowloris, or phones that left the Wi-Fi) are closed by the server and a normal
    request is still answered; a body that arrives slowly but keeps coming is read whole."""
    with serve_portal(tmp_path, REQUEST_TIMEOUT="2", WEB_WORKERS="1", WEB_THREADS="2") as served:
        port = int(served.url.rsplit(":", 1)[1])
        stalled = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(6)]
        try:
            for conn in stalled:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: half")  # never ends
            time.sleep(1)  # accepted before the normal request below
            assert urllib.request.urlopen(f"{served.url}/healthz", timeout=60).status == 200
            for conn in stalled:
                assert _closed_by_server(conn)
        finally:
            for conn in stalled:
                conn.close()

        login = urllib.request.urlopen(f"{served.url}/login", timeout=60)
        cookie = login.headers["Set-Cookie"].split(";", 1)[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.read().decode()).group(1)
        # The token last: a body cut short would be refused for it (400), not for the password.
        body = (f"email=nobody%40example.org&password=wrong&next=&note={'x' * 24000}"
                f"&csrf_token={token}").encode()
        fast = _post(port, "/login", cookie, [body])
        slow = _post(port, "/login", cookie, [body[at:at + 4096] for at in range(0, len(body), 4096)],
                     pause=0.8)  # 6 pieces over about 5 s, more than twice REQUEST_TIMEOUT
        assert fast == slow != 400


@pytest.mark.database_free
def test_a_request_is_read_under_its_clock_and_its_socket_left_as_found():
    """gunicorn's reads of a request wait no longer than its clock allows; a read out of
    time ends the request as if the client had gone; the socket's own timeout (none, for
    writing the answer, however large) is as it was after each read."""
    from app.ops.worker import RequestClock, TimedSocketUnreader

    server, client = socket.socketpair()
    with server, client:
        clock = RequestClock(timeout=1)
        reader = TimedSocketUnreader(server, clock)
        client.sendall(b"GET / HTTP/1.1\r\n")
        assert reader.chunk() == b"GET / HTTP/1.1\r\n" and not clock.timed_out
        assert server.gettimeout() is None
        assert reader.chunk() == b"" and clock.timed_out  # the rest of the headers never came
        assert server.gettimeout() is None

        clock.start_request()
        clock.start_body()
        server.settimeout(0.1)  # a caller's shorter limit (gunicorn's body drain) is the caller's to handle
        with pytest.raises(TimeoutError):
            reader.chunk()
        assert server.gettimeout() == 0.1 and not clock.timed_out


def _closed_by_server(conn: socket.socket) -> bool:
    """Whether the server closed ``conn`` (read to its end; False if it stays open a minute)."""
    try:
        while conn.recv(4096):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def _post(port: int, path: str, cookie: str, pieces: list[bytes], pause: float = 0) -> int:
    """POST the form ``pieces`` to ``path``, ``pause`` seconds before each piece after the
    first; the answer's status."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                     f"Content-Type: application/x-www-form-urlencoded\r\n"
                     f"Content-Length: {sum(map(len, pieces))}\r\nConnection: close\r\n\r\n".encode())
        for number, piece in enumerate(pieces):
            if number:
                time.sleep(pause)
            conn.sendall(piece)
        answer = b""
        while data := conn.recv(65536):
            answer += data
    return int(answer.split(b" ", 2)[1])


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (an exited child not yet reaped by init counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
