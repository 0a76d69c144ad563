# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of issue 10's speed goals.

1. Creating 1,000 untagged equipment items through the API (one JSON list) into an
   empty school, into a school that already holds 10,000, and importing the same 1,000
   rows from XLSX: tag generation must not grow with the inventory.
2. Abusive XLSX files of under 1 MB (a sheet claiming the whole grid beside sheets named
   like it, a shared-strings bomb, a sheet of empty cells): each is refused, and the time
   and the growth of the worker's memory (peak RSS, in a process of its own) are noted.

Run with ``make bench``; figures go to bench/results/integrity-<database>.md."""

from __future__ import annotations

import io
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openpyxl import load_workbook

from app.accounts import services as accounts
from app.accounts.models import Role
from app.errors import ValidationFailed
from app.inventory import imports
from app.schools import services as schools
from bench.common import fresh_app, write_results

ITEMS = 1_000
HELD = 10_000
RUNS = 5
KINDS = ("desktop", "laptop", "tv", "projector", "printer")
KIND_LABELS = ("Máy tính để bàn", "Máy tính xách tay", "Tivi", "Máy chiếu", "Máy in")


def new_school(code: str):
    return schools.create_school(None, {
        "code": code, "name": f"Trường {code}", "level": "thcs", "province": "Đắk Nông",
        "district": "Đắk Song", "students": 900, "teachers": 50, "classes": 25, "largest_class_size": 40})


def equipment_xlsx(rows: int, start: int = 0) -> bytes:
    book = load_workbook(io.BytesIO(imports.template_workbook()))
    sheet = book["Thiết bị"]
    for number in range(start, start + rows):
        sheet.append([KIND_LABELS[number % len(KINDS)], f"Thiết bị số {number}", None, f"SN-{number:06d}",
                      "Đang sử dụng", None, "15/02/2023", "Ngân sách", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def staff_token(app, school_code: str, held: int = 0) -> tuple[int, str]:
    """A new school (holding ``held`` imported items) and a token of one of its staff."""
    with app.test_request_context():
        school = new_school(school_code)
        if held:
            result = imports.import_file(None, school, "thiet-bi.xlsx", equipment_xlsx(held))
            assert result.created == {"equipment": held}, result.problems[:3]
        user = accounts.create_user(None, email=f"nv-{school_code.lower()}@bench.edu.vn", full_name="Nhân viên",
                                    password="nhap-lieu-bench-2026", role=Role.STAFF, school=school)
        return school.id, accounts.issue_token(user, "bench")[1]


def api_seconds(app, school_id: int, token: str) -> float:
    """One POST of ITEMS untagged items (no app context is pushed around the request:
    Flask would reuse it, with its signed-in user)."""
    body = [{"kind": KINDS[n % len(KINDS)], "name": f"Thiết bị API {n}", "serial": f"API-{n}"} for n in range(ITEMS)]
    client = app.test_client()
    start = time.perf_counter()
    response = client.post(f"/api/v1/schools/{school_id}/equipment", json=body,
                           headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - start
    assert response.status_code == 201 and len(response.get_json()) == ITEMS, response.get_data(as_text=True)[:300]
    return elapsed


def creation_figures(app) -> list[str]:
    api_seconds(app, *staff_token(app, "WARMUP"))  # the first request of a process loads what all reuse
    full = staff_token(app, "HELD", held=HELD)
    # Empty and full schools in turns, in one database: what differs is the school's size.
    empty_times, held_times = [], []
    for run in range(RUNS):
        empty_times.append(api_seconds(app, *staff_token(app, f"EMPTY{run}")))
        held_times.append(api_seconds(app, *full))
    empty, held = statistics.median(empty_times), statistics.median(held_times)
    with app.test_request_context():  # the template in the portal's default language
        data = equipment_xlsx(ITEMS)
    times = []
    for run in range(RUNS):
        with app.test_request_context():
            school = new_school(f"XLSX{run}")
            start = time.perf_counter()
            assert imports.import_file(None, school, "thiet-bi.xlsx", data).created == {"equipment": ITEMS}
            times.append(time.perf_counter() - start)
    imported = statistics.median(times)
    return [
        f"Creating {ITEMS:,} untagged equipment items (median of {RUNS}):", "",
        f"- API, one JSON list, into an empty school: {empty:.2f} s",
        f"- API, one JSON list, into a school holding {HELD:,} (to {HELD + RUNS * ITEMS:,}): {held:.2f} s",
        f"- importing the same {ITEMS:,} rows from XLSX into an empty school: {imported:.2f} s",
        f"- held / empty: **{held / empty:.2f}x** (goal: at most 1.2x)",
        f"- API / XLSX import: **{held / imported:.2f}x** (goal: at most 2x)",
    ]


# --- abusive files -----------------------------------------------------------------------

def _rewritten(data: bytes, changes: dict, streamed: dict | None = None) -> bytes:
    """``data`` with parts replaced (bytes, or a function of the old bytes) or added;
    ``streamed`` parts are written from an iterable of chunks, never whole in memory."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            part = source.read(info)
            change = changes.get(info.filename)
            target.writestr(info.filename, change(part) if callable(change) else change or part)
        for name in changes.keys() - set(source.namelist()):
            target.writestr(name, changes[name])
        for name, chunks in (streamed or {}).items():
            with target.open(name, "w", force_zip64=True) as part:
                for chunk in chunks:
                    part.write(chunk)
    return buffer.getvalue()


def _huge_string(megabytes: int):
    yield (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           b'count="1" uniqueCount="1"><si><t>')
    chunk = b"A" * 2**20
    for _ in range(megabytes):
        yield chunk
    yield b"</t></si></sst>"


def abusive_files() -> dict[str, bytes]:
    """Name → an XLSX of under 1 MB that once kept a worker busy or took gigabytes."""
    book = load_workbook(io.BytesIO(imports.template_workbook()))
    for lookalike in ("Phong", "P\u0300hong", "Pho\u0300ng"):
        book.create_sheet(lookalike).append(["Tên phòng", "Loại phòng"])
    buffer = io.BytesIO()
    book.save(buffer)
    grid = _rewritten(buffer.getvalue(), {
        f"xl/worksheets/sheet{index + 1}.xml": lambda xml: re.sub(
            rb'<dimension ref="[^"]+"\s*/>', b'<dimension ref="A1:XFD1048576"/>', xml)
        for index in range(len(book.sheetnames))})
    template = imports.template_workbook()
    strings = _rewritten(template, {
        "xl/_rels/workbook.xml.rels": lambda xml: xml.replace(b"</Relationships>", (
            b'<Relationship Id="rIdStrings" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/sharedStrings"/></Relationships>')),
        "[Content_Types].xml": lambda xml: xml.replace(b"</Types>", (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))},
        streamed={"xl/sharedStrings.xml": _huge_string(1000)})
    equipment = load_workbook(io.BytesIO(template)).sheetnames.index("Thiết bị") + 1
    cells = "".join(f'<row r="{n}">' + "".join(f'<c r="{chr(65 + c)}{n}" s="0"/>' for c in range(18)) + "</row>"
                    for n in range(2, 20_002))
    empty_cells = _rewritten(template, {f"xl/worksheets/sheet{equipment}.xml": lambda xml: re.sub(
        rb"<sheetData\s*/>|<sheetData>.*</sheetData>",
        ('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Loại</t></is></c><c r="B1" t="inlineStr"><is>'
         f'<t>Tên</t></is></c></row>{cells}</sheetData>').encode(), xml, flags=re.S)})
    return {"whole grid claimed, sheets named alike": grid, "1 GB shared string": strings,
            "360,000 empty cells": empty_cells}


def refuse_one(path: str) -> None:
    """In a process of its own: import the file at ``path``; print seconds, RSS growth, outcome."""
    app, _url = fresh_app()
    with app.test_request_context():
        school = new_school("ABUSE")
        data = Path(path).read_bytes()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            result = imports.import_file(None, school, "kiem-ke.xlsx", data)
            outcome = f"problems: {len(result.problems)}" if result.problems else f"imported {result.created}"
        except ValidationFailed as error:
            outcome = f"refused: {error.message}"
        elapsed = time.perf_counter() - start
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps({"seconds": elapsed, "grown_mb": grown, "outcome": outcome}))


def abuse_figures(files: dict[str, bytes]) -> list[str]:
    lines = ["", "Abusive XLSX files (each in a process of its own; RSS growth from before the import):", ""]
    folder = Path(tempfile.mkdtemp(prefix="portal-abuse-"))
    for number, (name, data) in enumerate(files.items()):
        path = folder / f"abuse-{number}.xlsx"
        path.write_bytes(data)
        run = subprocess.run([sys.executable, __file__, "--refuse", str(path)], capture_output=True, text=True,
                             check=True, timeout=600)
        found = json.loads(run.stdout.strip().splitlines()[-1])
        lines.append(f"- {name} ({len(data) / 1024:.0f} KB): {found['seconds']:.2f} s, "
                     f"memory +{found['grown_mb']:.0f} MB — {found['outcome']}")
    lines.append("- goal: each refused in under 5 s, memory growing by less than 100 MB")
    return lines


def main() -> None:
    app, url = fresh_app()
    creation = creation_figures(app)
    print("\n".join(creation), flush=True)
    with app.test_request_context():  # the template in the portal's default language
        files = abusive_files()
    lines = ["# Issue 10 benchmark: tag generation and abusive imports", "", f"Database: {url.split(':')[0]}", "",
             *creation, *abuse_figures(files)]
    write_results("integrity", url, lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--refuse"]:
        refuse_one(sys.argv[2])
    else:
        main()
