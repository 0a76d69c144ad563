# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of the inventory import (issue 4): a 10,000-row equipment XLSX, timed against
openpyxl alone reading the same file, with the import's peak memory. Time and memory are
measured in separate imports (into two schools): tracing every allocation slows Python
several times over, so a traced run says nothing about speed. Then the pages of a school
with those 10,000 items: list pages (first, last, searched), the summary, their time and
the peak memory of a list page.

Run with ``make bench``; figures go to bench/results/import-<database>.md."""

from __future__ import annotations

import io
import re
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openpyxl import load_workbook

from app.accounts import services as accounts
from app.accounts.models import Role
from app.inventory import imports
from app.paging import PER_PAGE
from app.schools import services as schools
from bench.common import fresh_app, write_results

ROWS = 10_000
PAGE_RUNS = 5
BENCH_PASSWORD = "nhap-lieu-10000"


def equipment_file() -> bytes:
    book = load_workbook(io.BytesIO(imports.template_workbook()))
    sheet = book["Thiết bị"]
    kinds = ["Máy tính để bàn", "Máy tính xách tay", "Tivi", "Máy chiếu", "Máy in"]
    for number in range(ROWS):
        sheet.append([kinds[number % len(kinds)], f"Thiết bị số {number}", None, f"SN-{number:06d}",
                      "Hỏng" if number % 9 == 0 else "Đang sử dụng", None, "15/02/2023", "Ngân sách nhà nước", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def new_school(code: str):
    return schools.create_school(None, {
        "code": code, "name": f"Trường nhập liệu {code}", "level": "thcs", "province": "Đắk Nông",
        "district": "Đắk Song", "students": 900, "teachers": 50, "classes": 25, "largest_class_size": 40})


def imported(school, data: bytes) -> None:
    result = imports.import_file(None, school, "thiet-bi.xlsx", data)
    assert not result.problems and result.created == {"equipment": ROWS}, result.problems[:3]


def page_figures(app, school) -> list[str]:
    """Median time of each inventory page as a signed-in principal sees it, and the peak
    memory of one list page (it must not load the whole list)."""
    email = "hieutruong@nhaplieu.edu.vn"
    accounts.create_user(None, email=email, full_name="Hiệu trưởng", password=BENCH_PASSWORD,
                         role=Role.PRINCIPAL, school=school)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    client.post("/login", data={"email": email, "password": BENCH_PASSWORD, "csrf_token": token})
    base = f"/schools/{school.id}"
    figures = []
    for label, address in (("equipment list, first page", f"{base}/equipment"),
                           ("equipment list, last page", f"{base}/equipment?page={ROWS // PER_PAGE}"),
                           ("equipment list, searched without diacritics", f"{base}/equipment?q=thiet+bi+so+9999"),
                           ("inventory summary", f"{base}/inventory/summary")):
        times = []
        for _ in range(PAGE_RUNS):
            start = time.perf_counter()
            response = client.get(address)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, (address, response.status_code)
        figures.append(f"- {label}: {statistics.median(times) * 1000:.0f} ms")
    tracemalloc.start()
    client.get(f"{base}/equipment?page=2")
    figures.append(f"- peak Python memory of one list page: **{tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB**")
    tracemalloc.stop()
    return figures


def main() -> None:
    app, url = fresh_app()
    with app.test_request_context():
        data = equipment_file()
        start = time.perf_counter()
        rows = sum(1 for _ in load_workbook(io.BytesIO(data), read_only=True)["Thiết bị"].iter_rows(values_only=True))
        read_only = time.perf_counter() - start
        school = new_school("IMPORT-1")
        start = time.perf_counter()
        imported(school, data)
        elapsed = time.perf_counter() - start
        pages = page_figures(app, school)
        school = new_school("IMPORT-2")
        tracemalloc.start()
        imported(school, data)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    lines = [
        "# Inventory import benchmark", "",
        f"Database: {url.split(':')[0]}; one XLSX of {ROWS:,} equipment rows ({len(data) / 2**20:.1f} MB).", "",
        f"- openpyxl alone reading it (read-only, {rows:,} rows): {read_only:.2f} s",
        f"- checking and importing it in one transaction: {elapsed:.2f} s",
        f"- import / read: **{elapsed / read_only:.1f}x** (goal: at most 5x)",
        f"- peak Python memory during a second import (tracemalloc, untimed): **{peak:.0f} MB** (goal: under 300 MB)",
        "", f"Pages of the school holding those {ROWS:,} items (median of {PAGE_RUNS} requests):", "",
        *pages,
    ]
    write_results("import", url, lines)


if __name__ == "__main__":
    main()
