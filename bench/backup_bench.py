# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of issue 14's backup goal: a school with 10,000 inventory records and 1 GiB
of evidence (256 objects of 4 MiB in the local store, with their StoredObject rows) is
backed up (``flask backup create``) and restored into an empty portal (a new database and
a new folder), then ``flask storage verify`` re-hashes the restored objects.

Each step runs in a process of its own that builds the app, configures the ORM, reaches
the database and the store (as a serving portal has) and notes its resident memory (the
baseline), then runs the step: its time, and its memory growth as the process's peak
resident memory (ru_maxrss, which also covers the imports, so the growth is never
under-counted) less the baseline. pg_dump and pg_restore run as processes of their own, not counted.
Goal: growth under 100 MB, whatever the size of the evidence.

Run with ``make bench``; figures go to bench/results/backup-<database>.md. Set
BENCH_DATABASE_URL to measure on PostgreSQL (the restore goes into the database of the
same name suffixed ``_restore``, created when missing; the role needs CREATEDB)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from app.config import database_url
from app.extensions import db, utcnow
from app.inventory.models import Equipment, Room
from app.schools import services as schools
from app.storage import object_key, storage
from app.storage.models import StoredObject
from bench.common import fresh_app, write_results
from bench.score_bench import derived

RECORDS = 10_000
ROOMS = 50
OBJECTS = 256
OBJECT_BYTES = 4 * 2**20  # 256 x 4 MiB = 1 GiB
GOAL_MB = 100
MIB = 2**20
SAMPLE_SECONDS = 0.01


def fill(app, uploads: Path) -> int:
    """The school, its inventory in bulk, and its evidence through the store; its id."""
    app.config["UPLOAD_FOLDER"] = str(uploads)
    with app.test_request_context():
        school = schools.create_school(None, {
            "code": "BACKUP", "name": "Trường THCS Sao lưu", "level": "thcs", "province": "Đắk Nông",
            "district": "Đắk Song", "students": 1500, "teachers": 150, "classes": 40, "largest_class_size": 45})
        db.session.execute(insert(Room), derived(Room, [
            {"school_id": school.id, "name": f"Phòng {i}", "kind": "classroom", "internet": True, "notes": ""}
            for i in range(ROOMS)]))
        room_ids = list(db.session.scalars(select(Room.id).where(Room.school_id == school.id)))
        db.session.execute(insert(Equipment), derived(Equipment, [
            {"school_id": school.id, "kind": "desktop", "name": f"Máy tính {i}", "asset_tag": f"TB-{i:06d}",
             "serial": "", "status": "in_use", "room_id": room_ids[i % ROOMS], "funding_source": "", "notes": ""}
            for i in range(RECORDS - ROOMS)]))
        store, rows = storage(), []
        block = os.urandom(OBJECT_BYTES)  # each object: this block behind its own 16 random bytes
        for _ in range(OBJECTS):
            body = os.urandom(16) + block[16:]
            sha256 = hashlib.sha256(body).hexdigest()
            store.put(object_key(school.id, sha256), _Bytes(body), len(body), "application/pdf")
            rows.append({"school_id": school.id, "sha256": sha256, "size": len(body),
                         "content_type": "application/pdf", "created_at": utcnow()})
        db.session.execute(insert(StoredObject), rows)
        db.session.commit()
        return school.id


class _Bytes:
    def __init__(self, body: bytes):
        self.body, self.position = memoryview(body), 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.body) if size < 0 else self.position + size
        chunk = bytes(self.body[self.position:end])
        self.position += len(chunk)
        return chunk


def empty_postgresql_database(url: str) -> str:
    """``url``'s database suffixed ``_restore``, created when missing and emptied."""
    base = make_url(database_url(url))
    name = f"{base.database}_restore"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(database_url(target))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return target


def measure(step: str, folder: str, env: dict) -> dict:
    """Run ``step`` ("create" or "restore") in a new process; its figures."""
    finished = subprocess.run([sys.executable, __file__, "--step", step, folder], env={**os.environ, **env},
                              cwd=ROOT, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"{step} failed:\n{finished.stdout}\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def step(name: str, folder: str) -> None:
    """In the child process: build the app, note the baseline, run the step, print figures."""
    import psutil
    from sqlalchemy.orm import configure_mappers

    from app import create_app
    from app.backup.services import create_backup, restore_backup

    app = create_app()
    with app.app_context():
        # As in a portal that has served a request: the ORM's mappers configured (tens of MB,
        # once per process), the database and the store reached.
        configure_mappers()
        db.session.execute(text("SELECT 1"))
        db.session.remove()
        storage()
        process, samples, done = psutil.Process(), [], threading.Event()
        baseline = process.memory_info().rss

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                samples.append(process.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        try:
            outcome = create_backup(Path(folder)) if name == "create" else restore_backup(Path(folder))
        finally:
            seconds = time.perf_counter() - started
            done.set()
            sampler.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "baseline": baseline, "peak": peak, "sampled": max(samples, default=0),
                      "objects": outcome.objects, "bytes": outcome.object_bytes}))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="portal-backup-bench-"))
    try:
        source, url = fresh_app()
        kind = make_url(url).get_backend_name()
        started = time.perf_counter()
        fill(source, work / "source-uploads")
        with source.app_context():
            records = (db.session.scalar(select(func.count()).select_from(Equipment))
                       + db.session.scalar(select(func.count()).select_from(Room)))
            evidence = db.session.scalar(select(func.sum(StoredObject.size)))
        generated = time.perf_counter() - started
        common = {"PORTAL_ENV": "testing", "PORTAL_SECRET_KEY": "bench" * 8}
        backup_folder = work / "backup"
        created = measure("create", str(backup_folder), {
            **common, "DATABASE_URL": url, "PORTAL_INSTANCE_PATH": source.instance_path,
            "PORTAL_UPLOAD_FOLDER": str(work / "source-uploads")})
        target_url = empty_postgresql_database(url) if kind == "postgresql" else f"sqlite:///{work / 'target.db'}"
        target_env = {**common, "DATABASE_URL": target_url, "PORTAL_INSTANCE_PATH": str(work / "target-instance"),
                      "PORTAL_UPLOAD_FOLDER": str(work / "target-uploads")}
        restored = measure("restore", str(backup_folder), target_env)
        started = time.perf_counter()
        verify = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "storage", "verify"], cwd=ROOT,
                                env={**os.environ, **target_env}, capture_output=True, text=True, check=False)
        verified = time.perf_counter() - started
        backup_size = sum(path.stat().st_size for path in backup_folder.rglob("*") if path.is_file())
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the 1 GiB three times over: source, backup, restored copy
        shutil.rmtree(source.instance_path, ignore_errors=True)

    def row(label: str, figures: dict) -> str:
        sampled = (figures["sampled"] - figures["baseline"]) / MIB
        bound = (figures["peak"] - figures["baseline"]) / MIB
        rate = figures["bytes"] / MIB / figures["seconds"]
        return (f"| {label} | {figures['seconds']:.1f} s | {rate:.0f} MB/s | {figures['baseline'] / MIB:.0f} MB | "
                f"**{sampled:.1f} MB** | {bound:.1f} MB |")

    growths = [(figures["peak"] - figures["baseline"]) / MIB for figures in (created, restored)]
    lines = [
        f"# Backup and restore ({kind}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"A school with {records:,} inventory records ({RECORDS - ROOMS:,} equipment, {ROOMS} rooms) and "
        f"{OBJECTS} evidence objects of {OBJECT_BYTES // MIB} MiB ({evidence / MIB:,.0f} MiB) in the local store; "
        f"generated in {generated:.1f} s. Backup folder: {backup_size / MIB:,.0f} MiB.",
        "",
        "| step | time | evidence rate | baseline RSS | growth (sampled) | growth bound (ru_maxrss) |",
        "|---|---|---|---|---|---|",
        row("backup create", created),
        row("backup restore (checks every hash, then copies)", restored),
        "",
        f"`storage verify` on the restored portal: {verified:.1f} s, exit status {verify.returncode}: "
        f"{verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr.strip()}",
        "",
        f"Goal: memory growth under {GOAL_MB} MB: {'met' if max(growths) < GOAL_MB else 'NOT met'} "
        f"(largest bound {max(growths):.1f} MB). Growth (sampled): the largest resident memory seen every "
        f"{SAMPLE_SECONDS * 1000:.0f} ms during the step, less the baseline taken once the app was built. "
        "The bound: the process's peak over its whole life (ru_maxrss, building the app included) less the "
        "baseline, which cannot under-count.",
    ]
    write_results("backup", url, lines)
    if verify.returncode != 0:
        raise SystemExit("storage verify failed on the restored portal")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--step":
        step(sys.argv[2], sys.argv[3])
    else:
        main()
