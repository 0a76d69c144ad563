"""Fixtures: one app per test session on SQLite (default) or PostgreSQL (``--db=postgresql``
with TEST_DATABASE_URL), its schema built by the migrations, and one transaction per test
that is rolled back afterwards."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import close_all_sessions, scoped_session, sessionmaker

from app import config as portal_config
from app import create_app
from app.extensions import db
from tests import builders

TEST_CONFIG = {
    "ENV": "testing",
    "SERVER_NAME": "portal.test",
    # Cheap hashing keeps the suite fast; production uses the defaults in app.config.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "ARGON2_PARALLELISM": 1,
    "JOBS_URL": "immediate",
}


def pytest_addoption(parser):
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite",
                     help="database to run against; postgresql needs TEST_DATABASE_URL")


def pytest_collection_modifyitems(items):
    """Tests marked ``long`` first, the rest in their order: spread over workers (``make
    test``), each long one starts early and the others fill in around it, instead of one
    worker finishing alone with a long test at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def database_url(config, tmp_path_factory) -> str:
    """The run's database: a new SQLite file (one per worker, as each has its own tmp
    folder), or TEST_DATABASE_URL's; under pytest-xdist each worker gets its own PostgreSQL
    database beside it, ``<name>_<worker>`` (e.g. portal_test_gw0), created when missing."""
    if config.getoption("--db") == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            raise pytest.UsageError("--db=postgresql needs TEST_DATABASE_URL")
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        return worker_database(url, worker) if worker else url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"


def worker_database(url: str, worker: str) -> str:
    """The URL of ``url``'s database suffixed with ``_<worker>``, created (owned by the
    same role, which needs CREATEDB) if it does not exist yet."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from app.config import database_url as driver_url

    base = make_url(driver_url(url))
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def reset_database(app) -> None:
    """An empty database, so the migrations build every table."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()


@pytest.fixture(scope="session")
def db_url(request, tmp_path_factory) -> str:
    return database_url(request.config, tmp_path_factory)


@pytest.fixture(scope="session")
def app(db_url, tmp_path_factory):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": db_url,
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
                      "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads"))})
    reset_database(app)
    return app


@pytest.fixture(autouse=True)
def _transaction(request, app):
    """Run the test inside a transaction that is rolled back; the app's commits become
    savepoints. Tests marked ``real_commits`` (browser, migrations) manage their own data.

    No app context stays pushed during the test: Flask would reuse it for every test-client
    request, and ``g`` (signed-in user, language, CSRF token) would leak between clients."""
    if "real_commits" in request.keywords:
        yield
        return
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    outer = connection.begin()
    app_session = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False),
        scopefunc=_app_ctx_id)
    try:
        yield
    finally:
        close_all_sessions()
        db.session = app_session
        outer.rollback()
        connection.close()


@pytest.fixture()
def ctx(app):
    """A request context for calling services directly (not for tests using a client)."""
    with app.test_request_context():
        yield


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class PortalClient:
    """A browser-like test client: signs in, keeps cookies and sends CSRF tokens as a
    page would."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self._csrf = (None, None)  # (the session's CSRF secret, the token a page gave for it)

    def get(self, url, **kwargs):
        return self.http.get(url, **kwargs)

    def csrf_token(self) -> str:
        """The token a page's form carries for this session. It is read from a page once and
        reused while the session keeps the same CSRF secret (signing in or out clears it), as
        the tab of a browser would: a token lives as long as its session."""
        secret, token = self._csrf
        if secret is None or secret != self._session_csrf_secret():
            page = self.http.get("/login", follow_redirects=True).get_data(as_text=True)  # any page has a form
            token = CSRF_INPUT.search(page).group(1)
            self._csrf = (self._session_csrf_secret(), token)
        return token

    def _session_csrf_secret(self) -> str | None:
        """The CSRF secret in this client's session cookie (None before any page made one)."""
        cookie = self.http.get_cookie(self.app.config["SESSION_COOKIE_NAME"], domain=self.app.config["SERVER_NAME"]
                                      or "localhost")
        if cookie is None:
            return None
        session = self.app.session_interface.get_signing_serializer(self.app).loads(cookie.value)
        return session.get("csrf_token")

    def post(self, url, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf_token())
        return self.http.post(url, data=data, **kwargs)

    def login(self, email, password=builders.PASSWORD):
        return self.post("/login", {"email": email, "password": password})

    def logout(self):
        return self.post("/logout")


@pytest.fixture()
def client(app) -> PortalClient:
    return PortalClient(app)


@pytest.fixture()
def make_client(app):
    return lambda: PortalClient(app)


@pytest.fixture()
def build(app):
    """Builders for schools and people (see tests/builders.py)."""
    return builders.Builder(app)


@pytest.fixture()
def signed_in_school(build, make_client):
    """A school with its staff member, reviewer and principal, each signed in: (school,
    people by role, a browser-like client by role, an API token by role)."""
    from app.accounts.models import Role

    school = build.school(code="CVA", name="Trường Tiểu học Chu Văn An")
    people = {role: build.user(role, school=school, full_name=name) for role, name in (
        (Role.STAFF, "Lê Văn Tâm"), (Role.REVIEWER, "Trần Thị Mai"), (Role.PRINCIPAL, "Nguyễn Thị Hoa"))}
    clients = {}
    for role, person in people.items():
        clients[role] = make_client()
        clients[role].login(person.email)
    tokens = {role: build.token(person) for role, person in people.items()}
    return school, people, clients, tokens


@pytest.fixture()
def small_school(build):
    """A school for the planner: two classrooms (1A connected, with a broken TV; 1B not connected), four teachers."""
    school = build.school(largest_class_size=30)
    rooms = build.records("rooms", school, [{"name": "1A", "kind": "classroom", "internet": True},
                                            {"name": "1B", "kind": "classroom", "internet": False}])
    build.records("equipment", school, [{"kind": "tv", "name": "TV 1A", "room_id": rooms[0].id, "status": "broken"}])
    build.records("staff", school, [{"full_name": f"GV {n}", "position": "teacher"} for n in range(4)])
    return school


@pytest.fixture()
def read(app):
    """``read(fn)``: run ``fn()`` in a fresh context and return its result (to look at the
    database after requests)."""
    def run(fn):
        with app.test_request_context():
            return fn()
    return run


# --- the browser: Debian's Chromium driven by Playwright, against a served portal -----

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def live_portal(tmp_path_factory):
    """The portal served over real HTTP on a free port, on its own SQLite database with
    the demo loaded; yields ``.url`` (its base URL) and ``.app`` (to prepare data)."""
    import threading
    from types import SimpleNamespace

    from werkzeug.serving import make_server

    from app import demo

    folder = tmp_path_factory.mktemp("live")
    portal = create_app({**TEST_CONFIG, "SERVER_NAME": None, "DATABASE_URL": f"sqlite:///{folder / 'portal.db'}",
                         "INSTANCE_PATH": str(folder), "UPLOAD_FOLDER": str(folder / "uploads")})
    with portal.app_context():
        upgrade()
    with portal.test_request_context():
        demo.load()
    server = make_server("127.0.0.1", 0, portal, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", app=portal)
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise pytest.UsageError(f"Browser tests need Chromium at {CHROMIUM}: run `make browser`.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watched_tab(context, problems: list[str]):
    """A new tab of ``context`` whose script errors, failed or refused assets and server
    errors are added to ``problems``."""
    tab = context.new_page()
    tab.on("console", lambda message: message.type == "error" and not message.text.startswith(
        "Failed to load resource") and problems.append(message.text))
    tab.on("pageerror", lambda error: problems.append(str(error)))
    # ERR_ABORTED is a load cancelled by the next navigation, not a fault.
    tab.on("requestfailed", lambda request: "ERR_ABORTED" not in (request.failure or "") and problems.append(
        f"{request.url}: {request.failure}"))
    # A page may answer 4xx on purpose (a wrong password is 401), also to a form posted by
    # script (an upload with progress, whose answer replaces the page); an asset may not,
    # nor may anything answer 5xx.
    tab.on("response", lambda response: (response.status >= 500 or (
        response.status >= 400 and response.request.resource_type != "document" and not (
            response.request.resource_type == "xhr" and response.request.method == "POST"))) and problems.append(
        f"{response.url}: {response.status}"))
    return tab


@pytest.fixture()
def page(chromium, live_portal):
    """A fresh browser tab (own cookies) on the live portal. It fails the test on a script
    error, a failed or refused asset, or a server error, so none can pass unseen."""
    context = chromium.new_context(base_url=live_portal.url, locale="vi-VN")
    problems: list[str] = []
    yield watched_tab(context, problems)
    context.close()
    assert problems == []


@pytest.fixture()
def open_page(chromium, live_portal):
    """``open_page(width, height)``: a fresh tab (own cookies) of that size on the live portal,
    watched like ``page``; the page's CSP is bypassed so that a test may inject a script
    (axe-core) into it."""
    contexts = []
    problems: list[str] = []

    def open_tab(width: int = 1366, height: int = 768):
        context = chromium.new_context(base_url=live_portal.url, locale="vi-VN", bypass_csp=True,
                                       viewport={"width": width, "height": height})
        contexts.append(context)
        return watched_tab(context, problems)

    yield open_tab
    for context in contexts:
        context.close()
    assert problems == []


LAPTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def artifacts():
    """The folder where tests leave files for people to look at (screenshots): TEST_ARTIFACTS,
    else test-artifacts/ in the checkout (ignored by git); created if missing. Files are
    overwritten by name on the next run, never cleared (workers share the folder)."""
    from pathlib import Path

    folder = Path(os.environ.get("TEST_ARTIFACTS") or Path(__file__).resolve().parent.parent / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture()
def snap(artifacts):
    """``snap(tab, journey, moment)``: full-page screenshots of ``tab`` at laptop (1366×768)
    and phone (390×844) size, saved as ``journey-<journey>-<moment>-<width>.png`` in the
    artifacts folder; the tab is left at the size it had."""
    def shoot(tab, journey: int, moment: str) -> None:
        size = tab.viewport_size
        for viewport in (LAPTOP, PHONE):
            tab.set_viewport_size(viewport)
            tab.screenshot(path=artifacts / f"journey-{journey}-{moment}-{viewport['width']}.png", full_page=True)
        tab.set_viewport_size(size)

    return shoot


@contextlib.contextmanager
def new_database(db_url: str, folder: Path, label: str):
    """The URL of a new, empty database of the run's kind, dropped afterwards (PostgreSQL)."""
    url = make_url(portal_config.database_url(db_url))
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{folder / f'{label}.db'}"
        return
    name = f"{url.database}_{label}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        # A plain DROP also stops an autovacuum worker busy on the new database, which
        # FORCE may not (it is the server's process); FORCE ends what a failed test left.
        with admin.connect() as connection:
            try:
                connection.execute(text(f'DROP DATABASE "{name}"'))
            except OperationalError:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


# --- storage: both backends, S3 over real HTTP against moto's standalone server -----------

def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, seconds: float = 30) -> None:
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class MotoServer:
    """moto's standalone S3 server as a child process on a free port; can be stopped and
    started again on the same port (fault tests)."""

    def __init__(self):
        import shutil
        import sys

        self.binary = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or "moto_server"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> None:
        import subprocess

        self.process = subprocess.Popen([self.binary, "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(self.url)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture(scope="session")
def s3_server():
    """An S3 endpoint: TEST_S3_ENDPOINT_URL when set (.ci/run starts one), else moto's
    server started here."""
    if os.environ.get("TEST_S3_ENDPOINT_URL"):
        from types import SimpleNamespace

        yield SimpleNamespace(url=os.environ["TEST_S3_ENDPOINT_URL"], process=None)
        return
    server = MotoServer()
    server.start()
    yield server
    server.stop()


S3_TEST_CONFIG = {"S3_ACCESS_KEY": "testing", "S3_SECRET_KEY": "testing-secret", "S3_REGION": "us-east-1",
                  "S3_ADDRESSING_STYLE": "path"}


def make_bucket(endpoint: str) -> str:
    """A new, empty bucket on ``endpoint``; its name."""
    import secrets

    import boto3

    name = f"portal-test-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing-secret",
                 region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def backend(request, app, tmp_path):
    """Run the test once with files on disk and once in an S3 bucket (a new one each
    time) on a real S3 server over HTTP; yields the backend's name."""
    saved = {key: app.config.get(key) for key in ("STORAGE_BACKEND", "UPLOAD_FOLDER", "S3_ENDPOINT_URL",
                                                   "S3_BUCKET", *S3_TEST_CONFIG)}
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        app.config.update(STORAGE_BACKEND="s3", S3_ENDPOINT_URL=server.url, S3_BUCKET=make_bucket(server.url),
                          **S3_TEST_CONFIG)
    else:
        app.config.update(STORAGE_BACKEND="local", UPLOAD_FOLDER=str(tmp_path / "uploads"))
    app.extensions.pop("portal_storage", None)
    yield request.param
    app.config.update(saved)
    app.extensions.pop("portal_storage", None)


@contextlib.contextmanager
def s3_settings(app, **settings):
    """The app on an S3 store with ``settings`` (on top of the test keys) for the block,
    then back on its own store."""
    saved = dict(app.config)
    app.config.update(STORAGE_BACKEND="s3", **S3_TEST_CONFIG, **settings)
    app.extensions.pop("portal_storage", None)
    try:
        yield
    finally:
        app.config.clear()
        app.config.update(saved)
        app.extensions.pop("portal_storage", None)
