# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of the inventory import (issue 4): a 10,000-row equipment XLSX, timed against
openpyxl alone reading the same file, with the import's peak memory.

Run with ``make bench``; figures go to bench/results/import-<database>.md."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade
from openpyxl import load_workbook
from sqlalchemy import text

from app import create_app
from app.accounts import models as _accounts  # noqa: F401  (User, which audit events name)
from app.extensions import db
from app.inventory import imports
from app.schools import services as schools

ROWS = 10_000


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


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench" * 8})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    with app.test_request_context():
        school = schools.create_school(None, {
            "code": "IMPORT", "name": "Trường nhập liệu", "level": "thcs", "province": "Đắk Nông",
            "district": "Đắk Song", "students": 900, "teachers": 50, "classes": 25, "largest_class_size": 40})
        data = equipment_file()
        start = time.perf_counter()
        rows = sum(1 for _ in load_workbook(io.BytesIO(data), read_only=True)["Thiết bị"].iter_rows(values_only=True))
        read_only = time.perf_counter() - start
        tracemalloc.start()
        start = time.perf_counter()
        result = imports.import_file(None, school, "thiet-bi.xlsx", data)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert not result.problems and result.created == {"equipment": ROWS}, result.problems[:3]
    lines = [
        "# Inventory import benchmark", "",
        f"Database: {url.split(':')[0]}; one XLSX of {ROWS:,} equipment rows ({len(data) / 2**20:.1f} MB).", "",
        f"- openpyxl alone reading it (read-only, {rows:,} rows): {read_only:.2f} s",
        f"- checking and importing it in one transaction: {elapsed:.2f} s",
        f"- import / read: **{elapsed / read_only:.1f}x** (goal: at most 5x)",
        f"- peak Python memory during the import (tracemalloc): **{peak:.0f} MB** (goal: under 300 MB)",
    ]
    out = ROOT / "bench" / "results" / f"import-{url.split(':')[0].split('+')[0]}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
