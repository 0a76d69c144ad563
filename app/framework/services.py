"""Which index applies; loading index files."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from app import audit
from app.extensions import db, utcnow
from app.framework.loader import BUILTIN_DIR, Framework, load_framework_file, load_framework_text
from app.framework.models import StoredFramework
from app.schools.models import School, new_score_stamp


@lru_cache(maxsize=8)
def _builtin(path: Path, modified: float) -> Framework:
    return load_framework_file(path)


@lru_cache(maxsize=8)
def _stored(code: str, loaded_at) -> Framework:
    source = db.session.scalar(select(StoredFramework.source).where(StoredFramework.code == code))
    return load_framework_text(source, name=f"{code} (loaded)")


def builtin_files() -> dict[str, Path]:
    """Code → file of every index shipped with the portal."""
    files = {}
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        files[_builtin(path, path.stat().st_mtime).code] = path
    return files


def framework(code: str | None = None) -> Framework:
    """The index ``code`` (default: the ``FRAMEWORK`` setting): a loaded copy wins over
    the built-in file. Raises LookupError when there is neither."""
    code = code or current_app.config["FRAMEWORK"]
    loaded_at = db.session.scalar(select(StoredFramework.loaded_at).where(StoredFramework.code == code))
    if loaded_at is not None:
        return _stored(code, loaded_at)
    path = builtin_files().get(code)
    if path is None:
        raise LookupError(f"No index with code {code!r}: load it with `flask framework load FILE`.")
    return _builtin(path, path.stat().st_mtime)


def store_framework(actor, path: Path) -> Framework:
    """Validate the index file at ``path`` and keep it (replacing a loaded one with the
    same code). Raises FrameworkError, with the line and reason, and stores nothing."""
    loaded = load_framework_file(path)
    stored = db.session.scalar(select(StoredFramework).where(StoredFramework.code == loaded.code))
    if stored is None:
        stored = StoredFramework(code=loaded.code)
        db.session.add(stored)
    stored.title, stored.source, stored.loaded_at = loaded.title, path.read_text(encoding="utf-8"), utcnow()
    stored.loaded_by_id = getattr(actor, "id", None)
    db.session.execute(update(School).values(score_stamp=new_score_stamp()))  # scores reread the index
    audit.record(actor, "framework.loaded", stored, code=loaded.code, file=path.name)
    db.session.commit()
    return loaded
