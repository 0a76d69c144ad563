"""Configuration in layers, and the settings that must stop the portal from starting."""

from __future__ import annotations

import re
import secrets
import stat
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.config import ConfigError, database_url
from app.extensions import db
from app.schools.models import School


def make(tmp_path, **config):
    return create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://", **config})


@pytest.mark.database_free
@pytest.mark.parametrize("key", [None, "change-me", "short-but-random-8c2f"])
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, key):
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        make(tmp_path, ENV="production", SECRET_KEY=key)


@pytest.mark.database_free
@pytest.mark.parametrize("key", ["a" * 32, "abcdefgh" * 4, "0123456789abcdef" * 2, "9f" * 32,
                                 "qwertyuiopasdfghjklzxcvbnm123456"])
def test_production_refuses_a_long_secret_key_that_is_not_random(tmp_path, key):
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY") as refused:
        make(tmp_path, ENV="production", SECRET_KEY=key)
    assert "python -c" in str(refused.value) and "secrets.token_urlsafe(48)" in str(refused.value)


@pytest.mark.database_free
def test_production_refuses_the_example_files_placeholder(tmp_path):
    example = (Path(__file__).parent.parent / "instance" / "config.example.py").read_text()
    placeholder = re.search(r'^SECRET_KEY = "(.+)"$', example, re.MULTILINE).group(1)
    with pytest.raises(ConfigError, match="not its output"):
        make(tmp_path, ENV="production", SECRET_KEY=placeholder)


@pytest.mark.database_free
@pytest.mark.parametrize("generate", [lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(32),
                                      lambda: secrets.token_urlsafe(48), lambda: secrets.token_hex(16)])
def test_production_starts_with_a_generated_secret_key(tmp_path, generate):
    for _ in range(5):  # a strength estimate, so several draws
        key = generate()
        assert make(tmp_path, ENV="production", SECRET_KEY=key).config["SECRET_KEY"] == key


@pytest.mark.database_free
def test_local_runs_generate_a_private_secret_key_once(tmp_path):
    first = make(tmp_path, ENV="development")
    second = make(tmp_path, ENV="development")
    key_file = tmp_path / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.database_free
def test_layers_instance_file_then_environment_then_arguments(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("UPLOAD_MAX_MB = 10\nSTORAGE_BACKEND = 'local'\nDEMO = True\n")
    assert make(tmp_path, ENV="testing").config["UPLOAD_MAX_MB"] == 10
    monkeypatch.setenv("PORTAL_UPLOAD_MAX_MB", "20")
    app = make(tmp_path, ENV="testing")
    assert app.config["UPLOAD_MAX_MB"] == 20 and app.config["DEMO"] is True
    assert app.config["MAX_CONTENT_LENGTH"] == 21 * 1024 * 1024
    assert make(tmp_path, ENV="testing", UPLOAD_MAX_MB=30).config["UPLOAD_MAX_MB"] == 30


@pytest.mark.database_free
def test_database_url_from_the_environment_uses_psycopg(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/portal")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ENV": "testing"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example/portal"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.database_free
def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ENV": "testing"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.db'}"


@pytest.mark.database_free
@pytest.mark.parametrize("settings, missing", [
    ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
    ({"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ACCESS_KEY": "k"}, "S3_SECRET_KEY"),
    ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
    ({"S3_BUCKET": "evidence", "S3_ENDPOINT_URL": "http://minio:9000"}, "STORAGE_BACKEND is 'local'"),
    ({"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ACCESS_KEY": "k", "S3_SECRET_KEY": "s",
      "S3_READ_TIMEOUT": "slow"}, "S3_READ_TIMEOUT"),
    ({"S3_PRESIGNED_SECONDS": 3600}, "at most 300"),
    ({"S3_READ_TIMEOUT": "nan"}, "S3_READ_TIMEOUT"),
    ({"S3_CONNECT_TIMEOUT": "inf"}, "S3_CONNECT_TIMEOUT"),
    ({"S3_PRESIGNED_DOWNLOADS": "ture"}, "S3_PRESIGNED_DOWNLOADS"),
    ({"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ACCESS_KEY": "k", "S3_SECRET_KEY": "s",
      "S3_ENDPOINT_URL": "file:///etc"}, "S3_ENDPOINT_URL"),
])
def test_half_an_s3_configuration_is_refused(tmp_path, settings, missing):
    with pytest.raises(ConfigError, match=missing):
        make(tmp_path, ENV="testing", **settings)


def test_foreign_keys_are_enforced_on_sqlite_too(app):
    with app.app_context():
        db.session.add(School(code="ORPHAN", name="Không có huyện", level="thcs", district_id=987654))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


@pytest.mark.database_free
def test_wsgi_module_builds_the_app_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "testing")
    monkeypatch.setenv("PORTAL_DATABASE_URL", "sqlite://")
    import importlib

    import wsgi
    app = importlib.reload(wsgi).app
    assert app.config["ENV"] == "testing" and app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"


@pytest.mark.database_free
def test_a_public_url_must_be_a_web_address(tmp_path):
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        make(tmp_path, ENV="testing", PUBLIC_URL="192.168.1.10:5000")
    assert make(tmp_path, ENV="testing", PUBLIC_URL="http://192.168.1.10:5000").config["PUBLIC_URL"]
