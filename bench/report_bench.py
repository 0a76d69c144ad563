# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of issue 12's report goal: both reports (the self-assessment and the evidence
catalogue), as XLSX and as PDF, of a school with 300 evidence documents, in under 3 s each.

The reports are pure functions of a snapshot, so the snapshot is built here directly (the
built-in index scored by the engine on the facts of a large school, 300 documents linked
to every criterion and sub-item, some to two); no database is involved. Each report is
made sealed and as a draft; the figure is the slowest of RUNS runs.

Run with ``make bench``; figures go to bench/results/report-snapshot.md."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.framework.engine import COUNT_FACTS, Facts, score
from app.reports import catalogue_pdf, catalogue_xlsx, self_assessment_pdf, self_assessment_xlsx
from app.reports.document import index_of
from bench.common import write_results

DOCUMENTS = 300
RUNS = 5
GOAL_SECONDS = 3.0
FRAMEWORK = "qd4725-2022"
TITLES = ["Kế hoạch ứng dụng công nghệ thông tin và chuyển đổi số năm học 2022 - 2023",
          "Biên bản kiểm kê thiết bị phòng học, phòng máy tính",
          "Ảnh chụp màn hình tiết học trực tuyến qua Google Meet",
          "Quyết định thành lập Ban chỉ đạo chuyển đổi số của nhà trường",
          "Hợp đồng thuê phần mềm quản trị nhà trường"]


def snapshot(documents: int = DOCUMENTS) -> dict:
    """A sealed snapshot of a large school with ``documents`` evidence documents."""
    index = index_of(FRAMEWORK)
    counts = {name: 0 for name in COUNT_FACTS} | {
        "classrooms": 40, "equipped_classrooms": 30, "lab_working_computers": 35, "studio_rooms": 1,
        "approved_materials": 45, "teachers": 80, "teachers_training_account": 70, "teachers_using_software": 50,
        "teachers_building_materials": 20, "largest_class_size": 45}
    software = {need: ("Phần mềm quản trị nhà trường SMAS",) for need in index.capability_needs()}
    targets = [criterion.code for criterion in index.criteria] + [item.code for item in index.scored_items]
    evidence_states = {code: "accepted" for code in targets}
    card = score(index, Facts(counts=counts, software=software, evidence=evidence_states))
    counters: dict[str, int] = {}
    evidence = []
    for number in range(1, documents + 1):
        targets_of = [targets[number % len(targets)]] + ([targets[(number * 7) % len(targets)]] if number % 5 == 0
                                                         else [])
        links = []
        for target in dict.fromkeys(targets_of):
            criterion = ".".join(target.split(".")[:2])
            counters[criterion] = counters.get(criterion, 0) + 1
            links.append({"criterion": target, "code": f"H{target[0]}-{criterion}-{counters[criterion]:02d}",
                          "status": "accepted", "comment": "", "reviewed_by": 3,
                          "reviewed_at": "2023-02-20T08:00:00+00:00"})
        link_only = number % 11 == 0
        evidence.append({
            "id": number, "title": f"{TITLES[number % len(TITLES)]} (số {number})", "doc_type": "plan",
            "number": f"{number}/KH-THCVA", "issued_on": "2023-02-15", "issuer": "Trường Tiểu học Chu Văn An",
            "url": f"https://truong.example.edu.vn/minh-chung/{number}" if link_only else "", "description": "",
            "links": links, "file": None if link_only else {
                "id": number, "version": 1 + number % 3, "filename": f"minh-chung-{number}.pdf", "size": 250_000,
                "content_type": "application/pdf", "sha256": f"{number:064x}", "key": f"schools/1/sha256/{number}"}})
    return {
        "format": "qd4725-seal/1",
        "school": {"id": 1, "code": "THCVA", "name": "Trường Tiểu học Chu Văn An", "level": "tieu_hoc",
                   "district": "Đắk Song", "province": "Đắk Nông", "students": 1500, "teachers": 80, "classes": 40,
                   "largest_class_size": 45},
        "year": "2022-2023", "framework": {"code": index.code, "title": index.title},
        "facts": {"counts": counts, "software": {}}, "score": card.to_dict(), "evidence": evidence,
        "approved_by": {"id": 2, "name": "Nguyễn Thị Hương", "email": "hieutruong@thcva.edu.vn"},
        "approved_at": "2023-02-28T02:30:00+00:00"}


def main() -> None:
    sealed = snapshot()
    draft = {key: value for key, value in sealed.items() if key not in ("approved_by", "approved_at")}
    codes = sum(len(document["links"]) for document in sealed["evidence"])
    lines = [f"# Reports of a school with {DOCUMENTS} evidence documents ({codes} codes)", "",
             f"Slowest and median of {RUNS} runs each; goal: under {GOAL_SECONDS:.0f} s each.", "",
             "| report | sealed: slowest | sealed: median | draft: slowest | size | goal |",
             "|---|---|---|---|---|---|"]
    failed = False
    for name, build in (("self-assessment XLSX", self_assessment_xlsx), ("self-assessment PDF", self_assessment_pdf),
                        ("catalogue XLSX", catalogue_xlsx), ("catalogue PDF", catalogue_pdf)):
        build(sealed, False)  # fonts registered, index loaded: the figures are a server's steady state
        timings, size = [], 0
        for _ in range(RUNS):
            start = time.perf_counter()
            size = len(build(sealed, False))
            timings.append(time.perf_counter() - start)
        drafts = []
        for _ in range(RUNS):
            start = time.perf_counter()
            build(draft, True)
            drafts.append(time.perf_counter() - start)
        slowest = max(*timings, *drafts)
        met = slowest < GOAL_SECONDS
        failed |= not met
        lines.append(f"| {name} | {max(timings):.3f} s | {statistics.median(timings):.3f} s | {max(drafts):.3f} s "
                     f"| {size / 1024:.0f} KB | {'met' if met else 'MISSED'} |")
    write_results("report", "snapshot", lines)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
