"""Configuration in layers: defaults here, then ``instance/config.py``, then
``PORTAL_*`` environment variables (and ``DATABASE_URL`` as is), then the mapping
passed to ``create_app``. ``finalise`` derives what depends on those values and
refuses a configuration that must not start."""

from __future__ import annotations

import math
import os
import re
import secrets
from datetime import date, timedelta
from pathlib import Path

from app.accounts.passwords import estimated_guesses_log10

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Values that show a secret key was copied from an example, never generated.
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "development", "replace-me"}
MIN_SECRET_LENGTH = 32
# The guesses zxcvbn must estimate for a production key, as a power of ten (about 80
# bits by its count). Generated keys of MIN_SECRET_LENGTH characters rate 10^28 and
# more; repeats, sequences and keyboard runs ("a" * 32, "abcdefgh" * 4) 10^12 or less.
MIN_SECRET_GUESSES_LOG10 = 24
MIN_METRICS_TOKEN_LENGTH = 24
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class ConfigError(RuntimeError):
    """The configuration cannot run; the message says what to set."""


class Defaults:
    ENV = "development"  # "production" makes the checks in finalise() strict
    SECRET_KEY = None
    DATABASE_URL = None
    SQLALCHEMY_DATABASE_URI = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    STORAGE_BACKEND = "local"
    UPLOAD_FOLDER = str(PROJECT_ROOT / "uploads")
    UPLOAD_MAX_MB = 50
    # The largest evidence package the check page takes (/packages/verify only).
    PACKAGE_VERIFY_MAX_MB = 2048
    # The index schools are scored against: a built-in file or one loaded with `flask framework load`.
    FRAMEWORK = "qd4725-2022"
    S3_ENDPOINT_URL = None
    S3_BUCKET = None
    S3_ACCESS_KEY = None
    S3_SECRET_KEY = None
    S3_REGION = None
    S3_ADDRESSING_STYLE = "path"
    # A store that is down or stalls must fail an upload within about ten seconds.
    S3_CONNECT_TIMEOUT = 2
    S3_READ_TIMEOUT = 4
    S3_MAX_ATTEMPTS = 2
    # Downloads from S3 as a redirect to a presigned URL (the bytes skip the app server);
    # the URL is valid for S3_PRESIGNED_SECONDS, at most 300.
    S3_PRESIGNED_DOWNLOADS = False
    S3_PRESIGNED_SECONDS = 300
    # Stored objects that no row refers to are removed by `storage reconcile --delete`
    # only when older than this: an upload in flight writes its object before its row.
    STORAGE_ORPHAN_GRACE_HOURS = 24
    # An approval's manifest and files stay locked this long where the S3 bucket has
    # Object Lock (its mode: GOVERNANCE, which an administrator with the right can lift,
    # or COMPLIANCE, which nobody can).
    SEAL_RETENTION_DAYS = 3650
    SEAL_RETENTION_MODE = "GOVERNANCE"
    # The background job queue (app.evidence.jobs): sqlite:///PATH (default: instance/jobs.db),
    # redis://HOST:PORT/DB, or "immediate" (jobs run at once in the caller).
    JOBS_URL = None
    DEMO = False
    # The portal's address as phones on the school's network reach it, printed in QR
    # labels (e.g. "http://192.168.1.10:5000"); by default the address in the browser.
    PUBLIC_URL = None
    # The year's deadlines of the yearly plan, as "MM-DD" in the school year (August to
    # July): the self-assessment submitted to the district, the sector database updated.
    # A province may move any of them: {"Hà Nội": {"submit_to_district": "04-15"}}.
    DEADLINES = {"submit_to_district": "03-31", "sector_database": "05-31"}
    DEADLINES_BY_PROVINCE: dict = {}

    # Sessions and cookies. Secure is added per request behind HTTPS (see accounts.sessions).
    SESSION_COOKIE_NAME = "portal_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

    # Login throttling: failures counted in a sliding window, so every lock ends by itself.
    # Per account on one client, and per client over all accounts (see accounts.services).
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 10
    LOGIN_MAX_FAILURES_PER_CLIENT = 50
    # Number of proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = 0

    # `flask serve` (gunicorn): the address it listens on (0.0.0.0: every network of the
    # machine, so phones on the school's Wi-Fi reach it) and its worker processes (None:
    # one more than the machine's cores, each with WEB_THREADS threads).
    HOST = "0.0.0.0"  # nosec B104: serving the school's network is the point (phones on its Wi-Fi)
    PORT = 8000
    WEB_WORKERS = None
    WEB_THREADS = 4
    # Seconds a client has to send a request's line and headers, and the longest wait for
    # each piece of its body (see app/ops/worker.py): a client that stops mid-request
    # (a phone off the Wi-Fi, a slowloris) is cut off instead of holding a thread.
    REQUEST_TIMEOUT = 30
    # Logs: one JSON object per line ("json") or plain lines ("text"), at LOG_LEVEL.
    LOG_FORMAT = "json"
    LOG_LEVEL = "INFO"
    # /metrics (Prometheus) answers only to "Authorization: Bearer <METRICS_TOKEN>"; off when unset.
    METRICS_TOKEN = None

    # Argon2id parameters (argon2-cffi's RFC 9106 low-memory profile by default).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    API_TOKEN_DAYS = 365
    API_MAX_PER_PAGE = 100

    # flask-smorest: the OpenAPI document only; no Swagger UI (it would load from a CDN).
    API_TITLE = "Cổng minh chứng chuyển đổi số (QĐ 4725)"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"


def load(app, overrides: dict | None) -> None:
    """Fill ``app.config`` from every layer, in order, then finalise it."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PORTAL")
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if overrides:
        app.config.update(overrides)
    finalise(app)


def finalise(app) -> None:
    """Derive dependent settings; raise ConfigError for a configuration that must not run."""
    config = app.config
    if config["ENV"] not in {"production", "development", "testing"}:
        raise ConfigError(f"PORTAL_ENV must be production, development or testing, not {config['ENV']!r}.")
    config["TESTING"] = config["ENV"] == "testing" or config.get("TESTING", False)
    config["SECRET_KEY"] = _secret_key(app)
    config["SQLALCHEMY_DATABASE_URI"] = database_url(
        config.get("DATABASE_URL") or config.get("SQLALCHEMY_DATABASE_URI")
        or f"sqlite:///{Path(app.instance_path) / 'portal.db'}"
    )
    # A connection the database closed (a restart, a failover) is noticed and replaced
    # before a request uses it, instead of failing that request.
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **config["SQLALCHEMY_ENGINE_OPTIONS"]}
    if config["ENV"] != "testing":  # the school PC runs as "development": its logs matter as much
        # Database errors in the log name the statement, never the values (passwords, personal data).
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"hide_parameters": True, **config["SQLALCHEMY_ENGINE_OPTIONS"]}
    for name in ("UPLOAD_MAX_MB", "PACKAGE_VERIFY_MAX_MB"):
        try:
            config[name] = int(config[name])
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a whole number of megabytes.") from None
    if config.get("PUBLIC_URL") and not str(config["PUBLIC_URL"]).startswith(("http://", "https://")):
        raise ConfigError("PUBLIC_URL must start with http:// or https://.")
    # Room for a form's other fields on top of the largest file.
    config["MAX_CONTENT_LENGTH"] = (config["UPLOAD_MAX_MB"] + 1) * 1024 * 1024
    _check_storage(config)
    _check_deadlines(config)
    _check_serving(config)
    jobs = config.get("JOBS_URL")
    if jobs and not (jobs == "immediate" or str(jobs).startswith(("sqlite:///", "redis://", "rediss://"))):
        raise ConfigError("JOBS_URL must be sqlite:///PATH, redis://HOST:PORT/DB or immediate.")


def _check_serving(config) -> None:
    """The address, workers, logs and metrics token of `flask serve`, or a ConfigError
    saying which setting is wrong."""
    for name, lowest, highest in (("PORT", 1, 65535), ("WEB_WORKERS", 1, 64), ("WEB_THREADS", 1, 64)):
        if name == "WEB_WORKERS" and config[name] is None:
            continue
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() \
                or not lowest <= int(value) <= highest:
            raise ConfigError(f"{name} must be a whole number from {lowest} to {highest}.")
        config[name] = int(value)
    try:
        config["REQUEST_TIMEOUT"] = float(config["REQUEST_TIMEOUT"])
    except (TypeError, ValueError):
        config["REQUEST_TIMEOUT"] = math.nan
    if not 1 <= config["REQUEST_TIMEOUT"] <= 300:  # False for nan
        raise ConfigError("REQUEST_TIMEOUT must be a number of seconds from 1 to 300.")
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError("LOG_FORMAT must be json or text.")
    if str(config["LOG_LEVEL"]).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR.")
    config["LOG_LEVEL"] = str(config["LOG_LEVEL"]).upper()
    token = config["METRICS_TOKEN"]
    if token is not None and (not isinstance(token, str) or len(token) < MIN_METRICS_TOKEN_LENGTH):
        raise ConfigError(f"METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} characters; generate one "
                          f"with {GENERATE_SECRET}.")


def database_url(url: str) -> str:
    """Normalise a database URL to a driver that is installed (psycopg 3 for PostgreSQL)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(app) -> str:
    key = app.config.get("SECRET_KEY")
    key = None if key is None else str(key)  # from_prefixed_env turns an all-digit key into int
    if app.config["ENV"] == "production":
        if problem := _secret_key_problem(key):
            raise ConfigError(
                f"{problem} Set PORTAL_SECRET_KEY (or SECRET_KEY in instance/config.py) to a generated "
                f"value of at least {MIN_SECRET_LENGTH} characters, e.g. the output of: {GENERATE_SECRET}"
            )
        return key
    if key:
        return key
    if app.config["ENV"] == "testing":
        return secrets.token_hex(32)
    # Local runs: one key generated into instance/ and kept, so sessions survive restarts.
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _secret_key_problem(key: str | None) -> str | None:
    """Why ``key`` cannot sign production sessions, else None (the key itself is never
    repeated: the message ends up in logs)."""
    if not key or key.strip().lower() in PLACEHOLDER_SECRETS:
        return "Production needs a real SECRET_KEY."
    if len(key) < MIN_SECRET_LENGTH:
        return f"The SECRET_KEY has {len(key)} characters; production needs at least {MIN_SECRET_LENGTH}."
    if "secrets." in key:  # instance/config.example.py's text, copied as it is
        return "The SECRET_KEY holds the command that generates a key, not its output."
    if estimated_guesses_log10(key) < MIN_SECRET_GUESSES_LOG10:
        return ("The SECRET_KEY is not random: it is made of a repeat, a sequence, keyboard keys or words "
                "that can be guessed.")
    return None


DEADLINE_KEYS = ("submit_to_district", "sector_database")


def _check_deadlines(config) -> None:
    """DEADLINES gives deadlines as "MM-DD" (those it leaves out keep their default);
    DEADLINES_BY_PROVINCE maps a province's name to some of them. Both are JSON objects
    in PORTAL_* variables."""
    deadlines, by_province = config["DEADLINES"], config["DEADLINES_BY_PROVINCE"] or {}
    if not isinstance(deadlines, dict):
        raise ConfigError("DEADLINES must map each of " + ", ".join(DEADLINE_KEYS) + ' to a day as "MM-DD".')
    if not isinstance(by_province, dict) or not all(isinstance(dates, dict) for dates in by_province.values()):
        raise ConfigError('DEADLINES_BY_PROVINCE must map a province\'s name to deadlines, e.g. '
                          '{"Hà Nội": {"submit_to_district": "04-15"}}.')
    for where, dates in (("DEADLINES", deadlines), *((f"DEADLINES_BY_PROVINCE[{province!r}]", dates)
                                                     for province, dates in by_province.items())):
        for key, value in dates.items():
            if key not in DEADLINE_KEYS:
                raise ConfigError(f"{where}: unknown deadline {key!r}; the deadlines are " + ", ".join(DEADLINE_KEYS)
                                  + ".")
            if not _month_day(value):
                raise ConfigError(f'{where}[{key!r}] must be a day of the year as "MM-DD" (e.g. "03-31"), '
                                  f"not {value!r}.")
    config["DEADLINES"] = {**Defaults.DEADLINES, **deadlines}
    config["DEADLINES_BY_PROVINCE"] = by_province


def _month_day(value) -> bool:
    """Whether ``value`` is "MM-DD", a day every year has (29 February is not)."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        date.fromisoformat(f"2001-{value}")
    except ValueError:
        return False
    return True


S3_SETTINGS = ("S3_ENDPOINT_URL", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY")


def _check_storage(config) -> None:
    backend = config["STORAGE_BACKEND"]
    if backend not in {"local", "s3"}:
        raise ConfigError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}.")
    if backend == "s3":
        missing = [name for name in ("S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY") if not config.get(name)]
        if missing:
            raise ConfigError("STORAGE_BACKEND is 's3' but these are not set: " + ", ".join(missing))
    if config["S3_ADDRESSING_STYLE"] not in {"path", "virtual", "auto"}:
        raise ConfigError("S3_ADDRESSING_STYLE must be 'path', 'virtual' or 'auto'.")
    if backend == "local" and any(config.get(name) for name in S3_SETTINGS):
        set_ = [name for name in S3_SETTINGS if config.get(name)]
        raise ConfigError("S3 settings are given (" + ", ".join(set_) + ") but STORAGE_BACKEND is 'local': "
                          "set STORAGE_BACKEND=s3, or remove them.")
    for name in ("S3_CONNECT_TIMEOUT", "S3_READ_TIMEOUT", "S3_MAX_ATTEMPTS", "S3_PRESIGNED_SECONDS",
                 "STORAGE_ORPHAN_GRACE_HOURS", "SEAL_RETENTION_DAYS"):
        try:
            config[name] = float(config[name]) if "TIMEOUT" in name else int(config[name])
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number.") from None
        if not math.isfinite(config[name]) or config[name] <= 0:
            raise ConfigError(f"{name} must be a number above 0.")
    if config["SEAL_RETENTION_MODE"] not in {"GOVERNANCE", "COMPLIANCE"}:
        raise ConfigError("SEAL_RETENTION_MODE must be GOVERNANCE or COMPLIANCE.")
    if config["S3_PRESIGNED_SECONDS"] > 300:
        raise ConfigError("S3_PRESIGNED_SECONDS is at most 300 (five minutes).")
    if config["S3_CONNECT_TIMEOUT"] > 30 or config["S3_READ_TIMEOUT"] > 60:
        raise ConfigError("S3_CONNECT_TIMEOUT is at most 30 s and S3_READ_TIMEOUT at most 60 s: an upload must "
                          "not wait longer for a store that is down.")
    endpoint = config.get("S3_ENDPOINT_URL")
    if endpoint and not str(endpoint).startswith(("http://", "https://")):
        raise ConfigError("S3_ENDPOINT_URL must start with http:// or https://.")
    config["S3_PRESIGNED_DOWNLOADS"] = _switch(config, "S3_PRESIGNED_DOWNLOADS")


def _switch(config, name: str) -> bool:
    """An on/off setting, from a bool or the words people write for one."""
    value = config[name]
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be on or off (true/false), not {value!r}.")
