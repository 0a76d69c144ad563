# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of the planner's cheapest path (issue 13, item 4): the time of both groups'
next two levels against the number of candidate changes the search weighs, on
generated schools of growing complexity (more broken devices, missing software, teachers
and materials to work on), and the demo school end to end (facts and school state read
from the database, then the search).

Run with ``make bench``; figures go to bench/results/planner-<database>.md. The target:
under 1 s for one school."""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import demo
from app.evidence.facts import evidence_states
from app.extensions import db
from app.framework.engine import COUNT_FACTS, Facts
from app.framework.loader import BUILTIN_DIR, load_framework_file
from app.inventory.facts import school_facts
from app.planner.changes import DeviceState, RoomState, SchoolState, SoftwareState
from app.planner.cheapest import AtTopLevel, candidates, next_levels
from app.planner.state import school_state
from app.schools.models import School
from bench.common import fresh_app, write_results

RUNS = 5


def generated(complexity: int, printers: int = 0) -> tuple[Facts, SchoolState]:
    """A school of 30 classrooms (10 equipped), a lab of 10 computers, 40 teachers, 60
    materials waiting for approval, and ``complexity`` setting how much is broken and
    missing: 2 x complexity broken displays and lab computers, the LMS functions and the
    management modules missing in turn; ``printers`` broken printers that count for
    nothing."""
    rooms = [RoomState(index, f"Lớp {index}", "classroom", index % 3 != 0, int(index <= 10), 0)
             for index in range(1, 31)]
    rooms.append(RoomState(100, "Phòng máy", "computer_lab", True, 0, 10))
    broken = [DeviceState(1000 + index, "tv", 11 + index) for index in range(complexity)]
    broken += [DeviceState(2000 + index, "desktop", 100) for index in range(complexity)]
    broken += [DeviceState(3000 + index, "printer", None) for index in range(printers)]
    functions = ["lms_assign_self_study", "lms_answer_questions", "lms_regular_assessment",
                 "lms_parent_participation"]
    modules = ["student_records", "staff_records", "facility_management", "school_health", "accounting",
               "sector_database_sync", "e_gradebook", "e_transcript", "parent_connection", "online_admission",
               "cashless_payment"]
    held = {"lms", *functions[min(complexity, 4):], *modules[min(complexity, len(modules)):]}
    software = (SoftwareState(1, "LMS và quản trị", frozenset(held)),)
    counts = dict.fromkeys(COUNT_FACTS, 0) | {
        "classrooms": 30, "equipped_classrooms": sum(1 for room in rooms if room.kind == "classroom"
                                                     and room.internet and room.working_displays),
        "lab_working_computers": 10, "teachers": 40, "teachers_training_account": 5, "teachers_using_software": 5,
        "teachers_building_materials": 2, "largest_class_size": 40}
    needs = load_framework_file(BUILTIN_DIR / "qd4725-2022.yaml").capability_needs()
    names = {need: (["LMS và quản trị"] if need[0] in held and (need[1] is None or need[1] in held) else [])
             for need in needs}
    facts = Facts(counts=counts, software=names, evidence={"1.1": "linked", "2.1": "linked"})
    teachers = {skill: tuple(range(5000, 5035)) for skill in
                ("training_account", "uses_teaching_software", "builds_digital_materials")}
    return facts, SchoolState(tuple(rooms), tuple(broken), software, teachers, tuple(range(8000, 8060)))


def timed(index, facts, state) -> float:
    runs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for group in ("1", "2"):
            with contextlib.suppress(AtTopLevel):
                next_levels(index, facts, state, group)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    index = load_framework_file(BUILTIN_DIR / "qd4725-2022.yaml")
    lines = ["# Planner: the cheapest path (both groups, next two levels each)", "",
             f"Median of {RUNS} runs. Candidates: the options the search weighs (both groups).", "",
             "| complexity | broken devices | candidate changes | time (ms) |", "|---|---|---|---|"]
    for complexity, printers in ((0, 0), (1, 0), (2, 0), (4, 0), (6, 0), (8, 0), (12, 0), (12, 500)):
        facts, state = generated(complexity, printers)
        count = sum(len(candidates(index, facts, state, group)) for group in ("1", "2"))
        lines.append(f"| {complexity} | {len(state.broken)} | {count} | {timed(index, facts, state) * 1000:.1f} |")
    app, url = fresh_app()
    with app.test_request_context():
        demo.load()
        school = db.session.scalars(db.select(School)).first()
        runs = []
        for _ in range(RUNS):
            started = time.perf_counter()
            facts = school_facts(school, index, evidence_states(school.id, school.school_year))
            state = school_state(school)
            for group in ("1", "2"):
                with contextlib.suppress(AtTopLevel):
                    next_levels(index, facts, state, group)
            runs.append(time.perf_counter() - started)
        count = sum(len(candidates(index, facts, state, group)) for group in ("1", "2"))
    lines += ["", f"Demo school end to end (facts and state read from {url.split(':')[0]}, then the search): "
                  f"{count} candidate changes, {statistics.median(runs) * 1000:.1f} ms (median)."]
    write_results("planner", url, lines)


if __name__ == "__main__":
    main()
