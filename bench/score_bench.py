# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of the live score (issue 3): recomputing a school's score with a 1x and a
10x inventory, and GET /score against GET /healthz on one gunicorn server.

Run with ``make bench``; figures go to bench/results/score-<database>.md. Set BENCH_DATABASE_URL
to measure on PostgreSQL (default: a fresh SQLite file)."""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text

from app.accounts import services as accounts
from app.accounts.models import Role
from app.extensions import db
from app.framework.engine import SCORING_CAPABILITIES, score
from app.framework.services import framework
from app.inventory.facts import school_facts
from app.inventory.models import (
    Equipment,
    Material,
    Room,
    Software,
    SoftwareCapability,
    StaffMember,
    derived_values,
)
from app.schools import services as schools
from app.schools.models import School
from bench.common import fresh_app, write_results

BASE = {"equipment": 2000, "rooms": 60, "software": 100, "materials": 500, "staff": 150}
EQUIPMENT_KINDS = ["desktop", "laptop", "tv", "projector", "interactive_board", "printer", "camera"]
STATUSES = ["in_use", "in_use", "in_use", "broken", "spare"]
ROOM_KINDS = ["classroom"] * 8 + ["computer_lab", "studio", "office"]
RUNS = 60
LOAD_SECONDS = 6
CLIENTS = 4


def derived(model: type, rows: list[dict]) -> list[dict]:
    """``rows`` with the columns the ORM would derive (search text, keys), for a bulk insert."""
    return [row | derived_values(model, row) for row in rows]


def fill(school: School, scale: int) -> None:
    """A realistic inventory of ``scale`` x BASE rows, inserted in bulk."""
    n = {key: value * scale for key, value in BASE.items()}
    db.session.execute(insert(Room), derived(Room, [
        {"school_id": school.id, "name": f"Phòng {i}", "kind": ROOM_KINDS[i % len(ROOM_KINDS)],
         "internet": i % 3 != 0, "notes": ""} for i in range(n["rooms"])]))
    room_ids = list(db.session.scalars(db.select(Room.id).where(Room.school_id == school.id)))
    db.session.execute(insert(Equipment), derived(Equipment, [
        {"school_id": school.id, "kind": EQUIPMENT_KINDS[i % len(EQUIPMENT_KINDS)], "name": f"Thiết bị {i}",
         "asset_tag": f"TB-{i:06d}", "serial": "", "status": STATUSES[i % len(STATUSES)],
         "room_id": room_ids[i % len(room_ids)] if i % 10 else None, "funding_source": "", "notes": ""}
        for i in range(n["equipment"])]))
    db.session.execute(insert(Software), derived(Software, [
        {"school_id": school.id, "name": f"Phần mềm {i}", "url": "", "category": "teaching", "acquisition": "free",
         "status": "in_use" if i % 4 else "missing", "notes": ""} for i in range(n["software"])]))
    software_ids = list(db.session.scalars(db.select(Software.id).where(Software.school_id == school.id)))
    capabilities = list(SCORING_CAPABILITIES)
    db.session.execute(insert(SoftwareCapability), [
        {"software_id": software_id, "school_id": school.id, "capability": capabilities[(i + k) % len(capabilities)]}
        for i, software_id in enumerate(software_ids) for k in range(3)])
    db.session.execute(insert(Material), derived(Material, [
        {"school_id": school.id, "title": f"Học liệu {i}", "subject": "Toán", "kind": "e_lecture", "url": "",
         "approved_by_department": i % 2 == 0, "approved_by_principal": i % 3 == 0} for i in range(n["materials"])]))
    db.session.execute(insert(StaffMember), derived(StaffMember, [
        {"school_id": school.id, "full_name": f"Giáo viên {i}", "position": "teacher" if i % 6 else "staff",
         "email": "", "phone": "", "training_account": i % 2 == 0, "uses_teaching_software": i % 3 == 0,
         "builds_digital_materials": i % 5 == 0} for i in range(n["staff"])]))
    db.session.commit()


def time_scoring(school_id: int) -> list[float]:
    timings = []
    for _ in range(RUNS):
        db.session.expire_all()
        school = db.session.get(School, school_id)
        start = time.perf_counter()
        index = framework()
        score(index, school_facts(school, index))  # recomputed: no reuse of an earlier result
        timings.append(time.perf_counter() - start)
    return timings


def requests_per_second(port: int, path: str, headers: dict) -> float:
    """Requests per second served for ``path`` with CLIENTS keep-alive clients."""
    done = [0] * CLIENTS
    stop = time.perf_counter() + LOAD_SECONDS

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, (path, response.status)
            done[index] += 1
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - start)


def main() -> None:
    app, url = fresh_app()
    with app.test_request_context():
        ids = {}
        for scale in (1, 10):
            school = schools.create_school(None, {
                "code": f"BENCH{scale}", "name": f"Trường {scale}x", "level": "thcs", "province": "Đắk Nông",
                "district": "Đắk Song", "students": 1500, "teachers": 150, "classes": 40, "largest_class_size": 45})
            fill(school, scale)
            ids[scale] = school.id
        user = accounts.create_user(None, email="bench@example.edu.vn", full_name="Bench", password="bench-ghi-diem-7",
                                    role=Role.ADMIN)
        token = accounts.issue_token(user, "bench")[1]
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does within a minute of a bulk load: without statistics the
            # planner would measure a freshly loaded table, not the portal.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        timings = {scale: time_scoring(school_id) for scale, school_id in ids.items()}

    port = 5099
    env = {**os.environ, "PORTAL_ENV": "testing", "DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench" * 8}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {token}"}
        healthz = requests_per_second(port, "/healthz", {})
        me = requests_per_second(port, "/api/v1/me", auth)
        school = requests_per_second(port, f"/api/v1/schools/{ids[1]}", auth)
        score = requests_per_second(port, f"/api/v1/schools/{ids[1]}/score", auth)
    finally:
        server.terminate()
        server.wait()

    median = {scale: statistics.median(values) * 1000 for scale, values in timings.items()}
    ratio = median[10] / median[1]
    lines = [
        "# Live score benchmark",
        "",
        f"Database: {url.split(':')[0]}; {RUNS} runs each, median.",
        "",
        "| inventory | rows | recompute score (ms) |",
        "|---|---|---|",
        *(f"| {scale}x | {sum(BASE.values()) * scale:,} | {median[scale]:.1f} |" for scale in (1, 10)),
        "",
        f"10x / 1x cost: **{ratio:.2f}** (goal: under 2)",
        "",
        f"gunicorn, 2 workers, {CLIENTS} keep-alive clients, {LOAD_SECONDS} s each:",
        f"- GET /healthz: {healthz:.0f} requests/s",
        f"- GET /api/v1/me (token check only): {me:.0f} requests/s",
        f"- GET /api/v1/schools/{{id}} (token, school, access check): {school:.0f} requests/s",
        f"- GET /api/v1/schools/{{id}}/score (1x school): {score:.0f} requests/s",
        f"- score / healthz: **{score / healthz:.2f}** (goal: at least 0.5)",
    ]
    write_results("score", url, lines)


if __name__ == "__main__":
    main()
