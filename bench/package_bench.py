# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of issue 12's goal for the evidence package.

A school with 500 evidence files totalling 1 GiB (random bytes: as incompressible as
scans and photos), every link accepted and the year approved, on the S3 backend
(moto's standalone server). Its package is downloaded through the portal under gunicorn
(1 worker, 4 threads) and compared, in the same run, with reading the same 500 objects
straight from the bucket with boto3 (one streamed GET each, 1 MiB reads, as the portal
reads them). Figures: the time of each (median of RUNS, alternating), the package's time
to its first byte (the reports, the existence checks, the audit entry), and the growth of
the gunicorn worker's resident memory while it serves the package (VmRSS sampled every
20 ms, against the worker after a warm-up download of a small school's package). Then
one package is saved and checked with `flask package verify`.

Goals: the worker grows by less than 64 MB; the package takes at most 1.5 times the
direct read. Run with ``make bench``; figures go to bench/results/package.txt."""

from __future__ import annotations

import hashlib
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3
import requests
from botocore.config import Config
from evidence_bench import BIN, PeakMemory, children, free_port, rss_kb, started, stopped, wait_for_port
from flask_migrate import upgrade
from sqlalchemy import insert, select

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import Role
from app.assessments import services as assessments
from app.evidence.models import DocType, EvidenceDocument, EvidenceFile, EvidenceLink, LinkStatus, TextStatus
from app.evidence.services import linkable_codes
from app.extensions import db, utcnow
from app.framework.services import framework
from app.inventory.models import derived_values
from app.schools import services as schools
from app.schools.models import School
from app.storage import object_key
from app.storage.models import StoredObject

MIB = 2**20
FILES = 500
TOTAL_BYTES = 2**30
RUNS = 5
RATIO_GOAL = 1.5
MEMORY_GOAL_MB = 64
PASSWORD = "goi-minh-chung-" + secrets.token_urlsafe(12)
NAMES = {Role.STAFF: "Trần Văn Thư", Role.REVIEWER: "Lê Thị Kiểm", Role.PRINCIPAL: "Nguyễn Thị Hiệu"}
TOPICS = ("thành lập Ban chỉ đạo chuyển đổi số", "dạy học trực tuyến", "triển khai học bạ số",
          "bồi dưỡng giáo viên về kỹ năng số", "kiểm tra hạ tầng công nghệ thông tin", "bảo đảm an toàn thông tin",
          "xây dựng kho học liệu số", "sử dụng hệ thống quản lý học tập", "mua sắm thiết bị dạy học")


def file_sizes(count: int, total: int, seed: int) -> list[int]:
    """``count`` sizes from half to one and a half times the mean, adding up to ``total``."""
    generator = random.Random(seed)
    weights = [generator.uniform(0.5, 1.5) for _ in range(count)]
    sizes = [int(total * weight / sum(weights)) for weight in weights]
    sizes[-1] += total - sum(sizes)
    return sizes


def seed_evidence(s3, bucket: str, school_id: int, year: str, people: dict, sizes: list[int]) -> list[str]:
    """Evidence documents of the school, one file each of the given sizes (random bytes,
    written straight to the bucket) linked to a criterion and accepted; inserted in bulk.
    Returns the objects' keys."""
    generator = random.Random(len(sizes))
    targets = linkable_codes(framework())
    codes = list(targets)
    now = utcnow()
    keys, hashes = [], []
    for size in sizes:
        data = os.urandom(size)
        digest = hashlib.sha256(data).hexdigest()
        key = object_key(school_id, digest)
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/pdf")
        keys.append(key)
        hashes.append(digest)
    documents = []
    for number in range(len(sizes)):
        row = {"school_id": school_id, "title": f"Quyết định số {number + 1}/QĐ-THCSCVA về việc "
                                                f"{generator.choice(TOPICS)}",
               "doc_type": DocType.DECISION, "number": f"{number + 1}/QĐ-THCSCVA", "issued_on": None,
               "issuer": "Trường THCS Chu Văn An", "school_year": year, "description": "", "url": "",
               "created_by_id": people["staff"], "created_at": now, "updated_at": now, "version": 1}
        documents.append(row | derived_values(EvidenceDocument, row))
    db.session.execute(insert(EvidenceDocument), documents)
    ids = list(db.session.scalars(select(EvidenceDocument.id).where(EvidenceDocument.school_id == school_id)
                                  .order_by(EvidenceDocument.id)))
    db.session.execute(insert(StoredObject), [
        {"school_id": school_id, "sha256": digest, "size": size, "content_type": "application/pdf", "created_at": now}
        for digest, size in zip(hashes, sizes, strict=True)])
    objects = list(db.session.scalars(select(StoredObject.id).where(StoredObject.school_id == school_id)
                                      .order_by(StoredObject.id)))
    db.session.execute(insert(EvidenceFile), [
        {"document_id": document_id, "school_id": school_id, "object_id": object_id, "version": 1,
         "filename": f"quyet-dinh-{number + 1}.pdf", "uploaded_by_id": people["staff"], "uploaded_at": now,
         "text_status": TextStatus.DONE, "text": "", "ocr_used": False, "found": {}}
        for number, (document_id, object_id) in enumerate(zip(ids, objects, strict=True))])
    numbers: dict[str, int] = {}
    links = []
    for number, document_id in enumerate(ids):
        target = targets[codes[number % len(codes)]]
        series = f"H{target.group}-{target.criterion}"
        numbers[series] = numbers.get(series, 0) + 1
        links.append({"document_id": document_id, "school_id": school_id, "school_year": year,
                      "criterion": target.code, "code": f"{series}-{numbers[series]:02d}",
                      "created_by_id": people["staff"], "created_at": now, "status": LinkStatus.ACCEPTED,
                      "comment": "", "reviewed_by_id": people["reviewer"], "reviewed_at": now, "version": 1})
    db.session.execute(insert(EvidenceLink), links)
    db.session.commit()
    return keys


class Portal:
    """moto's S3 server, a fresh SQLite database with the big school (approved) and a
    small one (for the warm-up), and the portal under gunicorn signed in as their
    district's officer."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.moto = self.server = None

    def __enter__(self) -> Portal:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        stopped(self.server)
        stopped(self.moto)

    def _start(self) -> None:
        folder = self.folder
        s3_port, self.port = free_port(), free_port()
        endpoint = f"http://127.0.0.1:{s3_port}"
        self.bucket = "minh-chung"
        self.moto = started([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], dict(os.environ),
                            folder / "moto.log")
        wait_for_port(s3_port, self.moto, folder / "moto.log")
        self.s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                               aws_secret_access_key="bench-secret", region_name="us-east-1",
                               config=Config(s3={"addressing_style": "path"}))
        self.s3.create_bucket(Bucket=self.bucket)
        settings = {"DATABASE_URL": f"sqlite:///{folder / 'portal.db'}", "STORAGE_BACKEND": "s3",
                    "S3_ENDPOINT_URL": endpoint, "S3_BUCKET": self.bucket, "S3_ACCESS_KEY": "bench",
                    "S3_SECRET_KEY": "bench-secret", "JOBS_URL": "immediate"}
        secret = secrets.token_urlsafe(48)
        app = create_app({"ENV": "testing", "SECRET_KEY": secret, "INSTANCE_PATH": str(folder), **settings})
        with app.app_context():
            upgrade()
        started_at = time.perf_counter()
        with app.test_request_context():
            self.school_id, self.year, self.keys = self._school(
                "THCSCVA", "Trường THCS Chu Văn An", file_sizes(FILES, TOTAL_BYTES, 4725), approve=True)
            self.small_id = self._school("THCSLQD", "Trường THCS Lê Quý Đôn", file_sizes(3, 3 * MIB, 1),
                                         approve=False)[0]
            district = db.session.get(School, self.school_id).district
            self.officer = accounts.create_user(None, email="chuyenvien@daksong.edu.vn", full_name="Phạm Văn Phòng",
                                                password=PASSWORD, role=Role.DISTRICT, district=district,
                                                check_strength=False).email
        self.seeded = time.perf_counter() - started_at
        self.env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        self.env.update({"PORTAL_ENV": "development", "PORTAL_SECRET_KEY": secret,
                         **{f"PORTAL_{name}": value for name, value in settings.items()},
                         "PORTAL_JOBS_URL": f"sqlite:///{folder / 'jobs.db'}"})
        self.server = started([sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b",
                               f"127.0.0.1:{self.port}", "--log-level", "warning", "wsgi:app"], self.env,
                              folder / "gunicorn.log")
        wait_for_port(self.port, self.server, folder / "gunicorn.log")
        for _ in range(100):
            workers = children(self.server.pid)
            if workers:
                break
            time.sleep(0.05)
        assert len(workers) == 1, workers
        self.worker = workers[0]
        self.http = requests.Session()
        base = f"http://127.0.0.1:{self.port}"
        page = self.http.get(f"{base}/login", timeout=30).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        answer = self.http.post(f"{base}/login", timeout=30, allow_redirects=False,
                                data={"csrf_token": token, "email": self.officer, "password": PASSWORD})
        assert answer.status_code in (302, 303), answer.text[:500]
        self.base = base

    def _school(self, code: str, name: str, sizes: list[int], approve: bool):
        school = schools.create_school(None, {
            "code": code, "name": name, "level": "thcs", "province": "Đắk Nông", "district": "Đắk Song",
            "students": 900, "teachers": 50, "classes": 25, "largest_class_size": 40})
        people = {role: accounts.create_user(None, email=f"{role.value}@{code.lower()}.edu.vn",
                                             full_name=NAMES[role], password=PASSWORD, role=role,
                                             school=school, check_strength=False)
                  for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)}
        keys = seed_evidence(self.s3, self.bucket, school.id, school.school_year,
                             {"staff": people[Role.STAFF].id, "reviewer": people[Role.REVIEWER].id}, sizes)
        if approve:
            assessments.transition(people[Role.PRINCIPAL], school, school.school_year, "start_review")
            assessments.transition(people[Role.PRINCIPAL], school, school.school_year, "approve")
        return school.id, school.school_year, keys

    def package(self, school_id: int, year: str, sink) -> tuple[float, float, int, PeakMemory]:
        """(seconds, seconds to the first byte, bytes, memory) of one package download
        written to ``sink``; checks that the bytes received are its Content-Length."""
        received = 0
        url = f"{self.base}/schools/{school_id}/assessments/{year}/package.zip"
        with PeakMemory(self.worker) as memory:
            start = time.perf_counter()
            with self.http.get(url, stream=True, timeout=600) as answer:
                assert answer.status_code == 200, (answer.status_code, answer.text[:500])
                first = None
                for chunk in answer.iter_content(MIB):
                    first = first or time.perf_counter()
                    received += len(chunk)
                    sink.write(chunk)
                length = int(answer.headers["Content-Length"])
            elapsed = time.perf_counter() - start
        assert received == length, (received, length)
        return elapsed, first - start, received, memory

    def direct(self) -> float:
        """Every object of the big school read from the bucket in turn, one streamed GET each."""
        with open(os.devnull, "wb") as sink:
            start = time.perf_counter()
            for key in self.keys:
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
                while chunk := body.read(MIB):
                    sink.write(chunk)
                body.close()
            return time.perf_counter() - start

    def verify(self, path: Path) -> tuple[float, str, float]:
        """(seconds, last line of output, peak MB) of `flask package verify` on ``path``."""
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "package", "verify", str(path)],
                                   cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        peak = 0
        while process.poll() is None:
            peak = max(peak, rss_kb(process.pid))
            time.sleep(0.02)
        output = process.stdout.read()
        assert process.returncode == 0, output
        return time.perf_counter() - start, output.strip().splitlines()[-1], peak / 1024


def figures(folder: Path) -> list[str]:
    runs = []
    with Portal(folder) as portal:
        print(f"  seeded {FILES} files ({TOTAL_BYTES / MIB:.0f} MiB) and approved in {portal.seeded:.0f} s",
              flush=True)
        at_start = rss_kb(portal.worker) / 1024
        with open(os.devnull, "wb") as sink:
            portal.package(portal.small_id, portal.year, sink)  # loads what every package uses
        warmed = rss_kb(portal.worker) / 1024
        for run in range(RUNS):
            direct = portal.direct()
            with open(os.devnull, "wb") as sink:
                seconds, first, size, memory = portal.package(portal.school_id, portal.year, sink)
            runs.append({"direct": direct, "portal": seconds, "first": first, "size": size, "memory": memory})
            print(f"  run {run + 1}: direct {direct:.2f} s, package {seconds:.2f} s (first byte after {first:.2f} s), "
                  f"{size / MIB:.0f} MiB, worker +{memory.grown:.0f} MB", flush=True)
        saved = folder / "goi.zip"
        with saved.open("wb") as sink:
            portal.package(portal.school_id, portal.year, sink)
        checked, said, verify_peak = portal.verify(saved)
        print(f"  package verify: {checked:.1f} s, peak {verify_peak:.0f} MB: {said}", flush=True)
        saved.unlink()
    direct = statistics.median(run["direct"] for run in runs)
    through = statistics.median(run["portal"] for run in runs)
    ratio = statistics.median(run["portal"] / run["direct"] for run in runs)
    grown = statistics.median(run["memory"].grown for run in runs)
    largest = max(run["memory"].grown for run in runs)
    size = runs[0]["size"]
    return [
        f"{FILES} evidence files of random bytes, {TOTAL_BYTES / MIB:.0f} MiB in all (0.5 to 1.5 times the mean "
        f"size each), every link accepted, the year approved; moto's S3 server; gunicorn, 1 worker, 4 threads; "
        f"median of {RUNS} runs, the direct read and the package alternating. Machine: {os.cpu_count()} CPUs.",
        f"Worker RSS: {at_start:.0f} MB when started, {warmed:.0f} MB after a warm-up download of a small school's "
        "package.",
        "",
        f"- direct boto3 read of the {FILES} objects (one streamed GET each, 1 MiB reads): {direct:.2f} s "
        f"({TOTAL_BYTES / MIB / direct:.0f} MiB/s)",
        f"- the package through the portal ({size / MIB:.1f} MiB with the four reports, snapshot and manifest): "
        f"{through:.2f} s ({size / MIB / through:.0f} MiB/s); first byte after "
        f"{statistics.median(run['first'] for run in runs):.2f} s (the {FILES} existence checks, the reports read "
        "back from storage, the audit entry)",
        f"- the first download, which makes the sealed result's four reports (then kept beside its manifest): "
        f"{runs[0]['portal']:.2f} s against {runs[0]['direct']:.2f} s direct, first byte after "
        f"{runs[0]['first']:.2f} s",
        f"- package time / direct read: **{ratio:.2f}** (goal: at most {RATIO_GOAL})",
        f"- growth of the worker's peak RSS while serving the package: **{grown:.0f} MB** (largest {largest:.0f}; "
        f"goal: under {MEMORY_GOAL_MB} MB)",
        f"- `flask package verify` of the saved package: {checked:.1f} s, peak RSS {verify_peak:.0f} MB: {said}",
    ]


def main() -> None:
    started_at = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="portal-package-bench-"))
    try:
        print("The evidence package of 500 files (1 GiB) on S3:", flush=True)
        lines = figures(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lines = ["# Issue 12 benchmark: the evidence package", "", *lines, "",
             f"Whole run: {time.perf_counter() - started_at:.0f} s."]
    out = ROOT / "bench" / "results" / "package.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
