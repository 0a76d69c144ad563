# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of the district view (issue 13, Speed): 1,000 generated schools in 20
districts of one province. One district's page of 50 schools (``/districts/<id>``) and
the province summary (``/provinces/<province>``) should each cost at most 3x one school's
dashboard (``/``), since the schools' figures are read from what is stored (the live
score each change keeps, the sealed result of an approved year, the district's
evaluation), never recomputed per school per request. Also timed: the district's API
page of 50 (``/api/v1/districts/<id>/scores``) and its XLSX export (all 50 schools).

The first DISTINCT schools get a random inventory through the inventory services
(app.demo.district.fill, seeded); the others copy one of those inventories in bulk and
then have their own score computed and stored (store_score), as every change would.
Some years are approved (sealed) and a few of those evaluated by the district, so all
three sources are read. The SQL statements of each page are counted with the first
DISTINCT schools and again with 1,000: they must not grow with the number of schools.

Run with ``make bench``; figures go to bench/results/district-<database>.md. Set
BENCH_DATABASE_URL to measure on PostgreSQL (default: a fresh SQLite file)."""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, select, text

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.assessments import services as assessments
from app.demo.district import fill, school_data
from app.extensions import db
from app.framework.scores import store_score
from app.framework.services import framework
from app.inventory.models import Equipment, NetworkLine, Room, Software, SoftwareCapability, StaffMember
from app.schools import services as schools
from app.schools.models import District, School
from bench.common import fresh_app, write_results

PROVINCE = "Tỉnh Bench"
DISTRICTS = 20
PER_DISTRICT = int(os.environ.get("BENCH_PER_DISTRICT", "50"))
DISTINCT = int(os.environ.get("BENCH_DISTINCT", "100"))  # inventories entered through the services
SEALED_EVERY = 5  # every 5th school's year approved (sealed) ...
EVALUATED_EVERY = 25  # ... and every 25th evaluated by the district
WARMUP, RUNS = 3, int(os.environ.get("BENCH_RUNS", "30"))
PASSWORD = "bench-quan-huyen-2026"
LEVELS = ["tieu_hoc", "tieu_hoc", "thcs", "thcs", "lien_cap"]
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
COPIED = (Room, Equipment, NetworkLine, Software, SoftwareCapability, StaffMember)


def district_name(number: int) -> str:
    return f"Huyện Bench {number:02d}"


def create_schools(numbers: range, rng: random.Random) -> list[int]:
    """Schools numbered ``numbers``, spread evenly over the districts (school n in district
    n mod DISTRICTS), each with its own counts; returns their ids."""
    ids = []
    for number in numbers:
        data = school_data(f"BENCH{number:04d}", f"Trường Bench Số {number:04d}", LEVELS[number % len(LEVELS)],
                           PROVINCE, district_name(number % DISTRICTS + 1), rng)
        ids.append(schools.create_school(None, data).id)
    return ids


def copy_inventories(sources: list[int], targets: list[int]) -> None:
    """The inventory of ``sources[i % len(sources)]`` copied into each ``targets[i]`` with
    bulk inserts (rooms first, then what refers to them by id), then each target's score
    computed and stored."""
    source_of = {target: sources[position % len(sources)] for position, target in enumerate(targets)}
    rows = {model: {} for model in COPIED}
    for model in COPIED:
        for row in db.session.execute(select(model.__table__).where(model.school_id.in_(sources))).mappings():
            rows[model].setdefault(row["school_id"], []).append(dict(row))

    def copies(model, remap=lambda row, target: row):
        return [remap({key: value for key, value in row.items() if key != "id"} | {"school_id": target}, target)
                for target, source in source_of.items() for row in rows[model].get(source, [])]

    db.session.execute(insert(Room), copies(Room))
    room_names = {row["id"]: row["name_key"] for found in rows[Room].values() for row in found}
    room_ids = {(school_id, name_key): room_id for room_id, school_id, name_key in db.session.execute(
        select(Room.id, Room.school_id, Room.name_key).where(Room.school_id.in_(targets)))}
    db.session.execute(insert(Equipment), copies(Equipment, lambda row, target: row | {
        "room_id": room_ids[target, room_names[row["room_id"]]] if row["room_id"] else None}))
    db.session.execute(insert(NetworkLine), copies(NetworkLine))
    db.session.execute(insert(StaffMember), copies(StaffMember))
    db.session.execute(insert(Software), copies(Software))
    software_names = {row["id"]: row["name"] for found in rows[Software].values() for row in found}
    software_ids = {(school_id, name): software_id for software_id, school_id, name in db.session.execute(
        select(Software.id, Software.school_id, Software.name).where(Software.school_id.in_(targets)))}
    capabilities = [row | {"software_id": software_ids[row["school_id"], software_names[row["software_id"]]]}
                    for row in copies(SoftwareCapability)]
    db.session.execute(insert(SoftwareCapability), capabilities)
    db.session.commit()
    index = framework()
    for target in targets:
        store_score(db.session.get(School, target), index)
    db.session.commit()


def person(role: Role, school: School | None = None, district: District | None = None, tag: str = "") -> User:
    email = f"{role.value}{tag or (school.id if school else district.id if district else '')}@bench.edu.vn"
    return accounts.create_user(None, email=email, full_name=f"Bench {role.value}", password=PASSWORD, role=role,
                                school=school, district=district, check_strength=False)


def seal_and_evaluate(ids: list[int], numbers: range) -> None:
    """Approve (seal) the year of every SEALED_EVERY-th school of ``numbers`` as its
    principal, and have the district evaluate every EVALUATED_EVERY-th."""
    for school_id, number in zip(ids, numbers, strict=True):
        if number % SEALED_EVERY != 1:
            continue
        school = db.session.get(School, school_id)
        principal = person(Role.PRINCIPAL, school=school)
        assessments.transition(principal, school, school.school_year, "start_review")
        assessments.transition(principal, db.session.get(School, school_id), school.school_year, "approve")
        if number % EVALUATED_EVERY == 1:
            school = db.session.get(School, school_id)
            tag = f"eval{school.district_id}"
            officer = db.session.scalar(select(User).where(User.email == f"district{tag}@bench.edu.vn"))
            officer = officer or person(Role.DISTRICT, district=school.district, tag=tag)
            assessments.evaluate(officer, school, school.school_year, [])


class Browser:
    """A signed-in session of the Flask test client (as tests/conftest.py's PortalClient)."""

    def __init__(self, app, email: str | None):
        self.http = app.test_client()
        if email is None:  # the API: a bearer token, no session
            return
        page = self.http.get("/login").get_data(as_text=True)
        answer = self.http.post("/login", data={"email": email, "password": PASSWORD,
                                                "csrf_token": CSRF_INPUT.search(page).group(1)})
        assert answer.status_code == 302, answer.status_code

    def get(self, url: str, **kwargs):
        answer = self.http.get(url, **kwargs)
        assert answer.status_code == 200, (url, answer.status_code)
        return answer


def statements(app, call) -> int:
    """The SQL statements ``call`` runs."""
    seen = []
    with app.app_context():
        engine = db.engine

    def count(*_args):
        seen.append(1)
    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def timings(calls: dict) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """The elapsed and the CPU times (of this process) of RUNS rounds of ``calls`` (by
    name), after WARMUP rounds; each round calls each once, so that what else the machine
    does weighs on each alike."""
    elapsed, cpu = {name: [] for name in calls}, {name: [] for name in calls}
    for round_number in range(WARMUP + RUNS):
        for name, call in calls.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            call()
            if round_number >= WARMUP:
                elapsed[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)
    return elapsed, cpu


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    app, url = fresh_app()
    rng = random.Random(1313)
    total = DISTRICTS * PER_DISTRICT
    started = time.perf_counter()
    with app.test_request_context():
        first = create_schools(range(DISTINCT), rng)
        for school_id in first:
            fill(db.session.get(School, school_id), rng)
        seal_and_evaluate(first, range(DISTINCT))
        school = db.session.get(School, first[0])  # a school whose year is still a draft
        district = school.district
        person(Role.PRINCIPAL, school=school)
        person(Role.DISTRICT, district=district)
        person(Role.ADMIN, tag="admin")
        token = accounts.issue_token(db.session.get(User, person(Role.DISTRICT, district=district, tag="api").id),
                                     "bench")[1]
        school_id, district_id = school.id, district.id
    filled = time.perf_counter() - started
    pages = {
        "dashboard": ("principal", "/", {}),
        "district": ("officer", f"/districts/{district_id}", {}),
        "province": ("admin", f"/provinces/{PROVINCE}", {}),
        "api": (None, f"/api/v1/districts/{district_id}/scores?per_page=50",
                {"headers": {"Authorization": f"Bearer {token}"}}),
        "export": ("officer", f"/districts/{district_id}/export.xlsx", {}),
    }
    browsers = {"principal": Browser(app, f"principal{school_id}@bench.edu.vn"),
                "officer": Browser(app, f"district{district_id}@bench.edu.vn"),
                "admin": Browser(app, "adminadmin@bench.edu.vn"), None: Browser(app, None)}

    def caller(name):
        who, path, kwargs = pages[name]
        return lambda: browsers[who].get(path, **kwargs)

    for name in pages:
        caller(name)()  # whatever is computed once (the school's scorecard), then reused
    few = {name: statements(app, caller(name)) for name in pages}

    started = time.perf_counter()
    with app.test_request_context():
        rest = create_schools(range(DISTINCT, total), rng)
        copy_inventories(first, rest)
        seal_and_evaluate(rest, range(DISTINCT, total))
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))  # what autovacuum does within a minute of a bulk load
            db.session.commit()
        counts = {source: db.session.scalar(text(query)) for source, query in (
            ("schools", "SELECT count(*) FROM schools"), ("stored", "SELECT count(*) FROM school_scores"),
            ("sealed", "SELECT count(*) FROM sealed_results"), ("evaluated", "SELECT count(*) FROM evaluations"))}
        shown = sum(1 for _ in db.session.scalars(select(School.id).where(School.district_id == district_id)))
    copied = time.perf_counter() - started
    assert counts["schools"] == counts["stored"] == total, counts
    for name in pages:
        caller(name)()
    many = {name: statements(app, caller(name)) for name in pages}
    load = os.getloadavg()
    measured, cpu = timings({name: caller(name) for name in pages})
    load = [(before + after) / 2 for before, after in zip(load, os.getloadavg(), strict=True)]
    body = browsers["officer"].get(f"/districts/{district_id}").get_data(as_text=True)
    rows_shown = len(set(re.findall(r"Trường Bench Số \d{4}", body)))

    median = {name: statistics.median(values) * 1000 for name, values in measured.items()}
    high = {name: p95(values) * 1000 for name, values in measured.items()}
    own = {name: statistics.median(values) * 1000 for name, values in cpu.items()}
    labels = {"dashboard": "school dashboard `/` (principal, draft year)",
              "district": f"district page `/districts/<id>` (officer, {shown} schools)",
              "province": f"province summary `/provinces/<province>` (admin, {DISTRICTS} districts, {total} schools)",
              "api": "`GET /api/v1/districts/<id>/scores?per_page=50` (officer's token)",
              "export": f"`/districts/<id>/export.xlsx` (officer, {shown} schools)"}
    lines = [
        f"# District view: {total} schools in {DISTRICTS} districts",
        "",
        f"Database: {url.split(':')[0]}. {total} schools ({DISTINCT} inventories entered through the services, "
        f"the rest copied from them in bulk, each school's score computed and stored); {counts['sealed']} years "
        f"approved (sealed), {counts['evaluated']} of them evaluated by the district. The district measured has "
        f"{shown} schools. Flask test client, signed-in sessions; {WARMUP} warm-up rounds, then {RUNS} timed "
        f"rounds, each request once per round.",
        f"Data generation: {filled:.0f} s for the first {DISTINCT} schools, {copied:.0f} s for the other "
        f"{total - DISTINCT}. Load average (1 min) while measuring: {load[0]:.1f} (other sessions share the "
        f"{os.cpu_count()} CPUs).",
        "",
        "Elapsed: wall-clock time; CPU: this process's CPU time (the portal and, on SQLite, the database; "
        "not PostgreSQL's server), which what else runs on the machine disturbs less.",
        "",
        "| request | elapsed median (ms) | elapsed p95 (ms) | / dashboard | CPU median (ms) | / dashboard "
        f"| SQL statements ({DISTINCT} schools → {total}) |",
        "|---|---|---|---|---|---|---|",
        *(f"| {labels[name]} | {median[name]:.1f} | {high[name]:.1f} | {median[name] / median['dashboard']:.2f} "
          f"| {own[name]:.1f} | {own[name] / own['dashboard']:.2f} | {few[name]} → {many[name]} |" for name in pages),
        "",
        f"- District page / dashboard: **{median['district'] / median['dashboard']:.2f}** elapsed, "
        f"**{own['district'] / own['dashboard']:.2f}** CPU (goal: at most 3)",
        f"- Province summary / dashboard: **{median['province'] / median['dashboard']:.2f}** elapsed, "
        f"**{own['province'] / own['dashboard']:.2f}** CPU (goal: at most 3)",
        f"- SQL statements grow with the number of schools: "
        f"**{'no' if all(few[name] == many[name] for name in pages) else 'YES'}**",
        f"- Rows on the district page: {rows_shown} school names (a page of {PER_DISTRICT}).",
    ]
    write_results("district", url, lines)


if __name__ == "__main__":
    main()
