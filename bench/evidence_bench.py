# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Benchmark of issue 11's speed and memory goals (evidence documents).

1. A 200 MB PDF (one page holding a scan-sized image of incompressible bytes, which the
   portal's file checks accept) uploaded through the portal under gunicorn to the S3
   backend (moto's standalone server), against a direct boto3 ``upload_fileobj`` of the
   same file to the same server in the same run; then downloaded through the portal
   against direct boto3 downloads (one streamed GET, and ``download_fileobj``; the
   faster is the reference). Throughput portal / direct, and the
   growth of the gunicorn worker's resident memory (VmRSS sampled every 20 ms; also the
   worker with its children, i.e. the sandbox that checks the file). Median of RUNS.
2. Search inside 10,000 documents with a few KB of extracted Vietnamese text each:
   GET /api/v1/schools/{id}/evidence?q=… for several kinds of query, median and p95
   page time, the time spent in the database during the request, and the search's SQL
   alone — on SQLite, and on PostgreSQL when BENCH_DATABASE_URL is set.

Run with ``make bench``; figures go to bench/results/evidence.txt."""

from __future__ import annotations

import hashlib
import math
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3
import requests
from botocore.config import Config
from flask_migrate import upgrade
from sqlalchemy import event, func, insert, select, text

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import Role
from app.evidence.listing import listed_documents
from app.evidence.models import DocType, EvidenceDocument, EvidenceFile, EvidenceLink, LinkStatus, TextStatus
from app.evidence.search import MAX_BODY, EvidenceSearch, words_of
from app.evidence.services import linkable_codes
from app.extensions import db, utcnow
from app.framework.services import framework
from app.inventory.api import list_args
from app.inventory.models import derived_values
from app.schools import services as schools
from app.storage.models import StoredObject

BIN = Path(sys.executable).parent
MIB = 2**20
UPLOAD_WIDTH, UPLOAD_HEIGHT = 8192, 8533  # an RGB image of 8192 x 8533 pixels: 200.0 MiB
RUNS = 3
SAMPLE_SECONDS = 0.02
CHUNK = MIB
RATIO_GOAL = 0.7
MEMORY_GOAL_MB = 64
DOCUMENTS = 10_000
SEARCH_RUNS = 30
SEARCH_BUDGET = 4  # seconds of requests per query at most (after the first)
PAGE_GOAL_MS = 100
QUERIES = (("common word", "truong"), ("rare word", "moodle"), ("two words", "quyet dinh"),
           ("prefix", "truc tuy"), ("no match", "khinh khi cau"))


# --- processes ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} stopped:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {seconds} s:\n{log.read_text(errors='replace')[-3000:]}")


def started(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stopped(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def flask_cli(env: dict, *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(f"flask {' '.join(args[:2])} failed:\n{run.stdout}{run.stderr}")
    return run.stdout.strip()


# --- memory ---------------------------------------------------------------------------------

def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` in KB (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (of any of its threads)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listed:
                found.extend(int(child) for child in listed.read().split())
        except OSError:
            continue
    return found


def tree_rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in KB."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += rss_kb(current)
        pending.extend(children(current))
    return total


class PeakMemory:
    """The growth of a process's VmRSS, alone and with its descendants, over a block:
    sampled every SAMPLE_SECONDS in a thread, peak minus the value at the start, in MB."""

    def __init__(self, pid: int):
        self.pid = pid
        self.stop = threading.Event()

    def _sample(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, rss_kb(self.pid))
            self.tree_peak = max(self.tree_peak, tree_rss_kb(self.pid))

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = rss_kb(self.pid)
        self.tree_start = self.tree_peak = tree_rss_kb(self.pid)
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.grown = (self.peak - self.start) / 1024
        self.tree_grown = (self.tree_peak - self.tree_start) / 1024


# --- the file ---------------------------------------------------------------------------------

def write_pdf(path: Path, width: int, height: int) -> None:
    """A one-page PDF showing an uncompressed RGB image of ``width`` x ``height`` random
    pixels (a scan, as far as size and compressibility go), with a correct xref table."""
    size = width * height * 3
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> "
               b"/Contents 4 0 R >>"]
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    offsets = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        for number, body in enumerate(objects, 1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        offsets.append(out.tell())
        out.write(b"4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(content), content))
        offsets.append(out.tell())
        out.write(b"5 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                  b"/BitsPerComponent 8 /Length %d >>\nstream\n" % (width, height, size))
        left = size
        while left:
            chunk = os.urandom(min(left, 4 * MIB))
            out.write(chunk)
            left -= len(chunk)
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
        out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref))


def renew_pixels(path: Path) -> None:
    """Change a few pixels, so the portal stores the file again instead of finding the
    same bytes already stored."""
    with path.open("r+b") as file:
        file.seek(4096)
        file.write(os.urandom(64))


class MultipartBody:
    """A multipart/form-data body of some fields and one file read from disk CHUNK bytes
    at a time, with its length known beforehand (requests sends it with Content-Length).
    ``sent_at`` is when its last byte was handed to the connection."""

    def __init__(self, fields: dict[str, str], path: Path, filename: str, content_type: str):
        self.boundary = "----bench" + secrets.token_hex(12)
        self.path = path
        parts = [f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                 for name, value in fields.items()]
        parts.append(f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: {content_type}\r\n\r\n")
        self.head = "".join(parts).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.sent_at = None

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.path.stat().st_size + len(self.tail)

    def __iter__(self):
        yield self.head
        with self.path.open("rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk
        yield self.tail
        self.sent_at = time.perf_counter()


# --- 1. transfers through the portal -----------------------------------------------------------

class Portal:
    """moto's S3 server and the portal under gunicorn on a fresh SQLite database, with a
    school and a token of one of its staff."""

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

    def _start(self) -> None:
        folder = self.folder
        s3_port, self.port = free_port(), free_port()
        self.endpoint = f"http://127.0.0.1:{s3_port}"
        self.bucket = "minh-chung"
        self.moto = started([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], dict(os.environ),
                            folder / "moto.log")
        wait_for_port(s3_port, self.moto, folder / "moto.log")
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="bench",
                               aws_secret_access_key="bench-secret", region_name="us-east-1",
                               config=Config(s3={"addressing_style": "path"}))
        self.s3.create_bucket(Bucket=self.bucket)
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        env.update({
            "PORTAL_ENV": "development", "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
            "PORTAL_DATABASE_URL": f"sqlite:///{folder / 'portal.db'}", "PORTAL_STORAGE_BACKEND": "s3",
            "PORTAL_S3_ENDPOINT_URL": self.endpoint, "PORTAL_S3_BUCKET": self.bucket,
            "PORTAL_S3_ACCESS_KEY": "bench", "PORTAL_S3_SECRET_KEY": "bench-secret", "PORTAL_UPLOAD_MAX_MB": "250",
            "PORTAL_JOBS_URL": f"sqlite:///{folder / 'jobs.db'}",  # no worker: the text jobs only queue
        })
        flask_cli(env, "db", "upgrade")
        admin_password, staff_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        flask_cli(env, "accounts", "create", "--email", "admin@bench.edu.vn", "--password", admin_password,
                  "--role", "admin")
        admin = {"Authorization": "Bearer " + flask_cli(env, "accounts", "token", "admin@bench.edu.vn")}
        self.server = started([sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b",
                               f"127.0.0.1:{self.port}", "--log-level", "warning", "wsgi:app"], env,
                              folder / "gunicorn.log")
        wait_for_port(self.port, self.server, folder / "gunicorn.log")
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        answer = requests.post(f"{self.base}/schools", headers=admin, timeout=30, json={
            "code": "THCSCVA", "name": "Trường THCS Chu Văn An", "level": "thcs", "province": "Đắk Nông",
            "district": "Đắk Song", "students": 900, "teachers": 50, "classes": 25, "largest_class_size": 40})
        assert answer.status_code == 201, answer.text
        self.school_id = answer.json()["id"]
        flask_cli(env, "accounts", "create", "--email", "vanthu@bench.edu.vn", "--password", staff_password,
                  "--role", "staff", "--school", "THCSCVA", "--name", "Nhân viên văn thư")
        self.auth = {"Authorization": "Bearer " + flask_cli(env, "accounts", "token", "vanthu@bench.edu.vn")}
        for _ in range(100):
            workers = children(self.server.pid)
            if workers:
                break
            time.sleep(0.05)
        assert len(workers) == 1, workers
        self.worker = workers[0]

    def __exit__(self, *exc) -> None:
        stopped(self.server)
        stopped(self.moto)

    def upload(self, path: Path) -> tuple[float, float, dict, PeakMemory]:
        """(seconds, seconds until the body was sent, the document, memory) of one POST."""
        body = MultipartBody({"title": "Quyết định thành lập Ban chỉ đạo chuyển đổi số", "doc_type": "decision",
                              "number": "11/QĐ-CVA", "criteria": "1.1"},
                             path, "Quyết định 11-QĐ-CVA (bản quét).pdf", "application/pdf")
        with PeakMemory(self.worker) as memory:
            start = time.perf_counter()
            answer = requests.post(f"{self.base}/schools/{self.school_id}/evidence", data=body, timeout=600,
                                   headers={**self.auth, "Content-Type": body.content_type})
            elapsed = time.perf_counter() - start
        assert answer.status_code == 201, (answer.status_code, answer.text[:500])
        return elapsed, body.sent_at - start, answer.json(), memory

    def download(self, document: dict) -> tuple[float, int, PeakMemory]:
        url = (f"{self.base}/schools/{self.school_id}/evidence/{document['id']}/files/"
               f"{document['files'][0]['id']}/download")
        received = 0
        with PeakMemory(self.worker) as memory, open(os.devnull, "wb") as sink:
            start = time.perf_counter()
            with requests.get(url, headers=self.auth, stream=True, timeout=600, allow_redirects=False) as answer:
                assert answer.status_code == 200, (answer.status_code, answer.text[:500])
                for chunk in answer.iter_content(CHUNK):
                    received += len(chunk)
                    sink.write(chunk)
            elapsed = time.perf_counter() - start
        return elapsed, received, memory

    def direct_upload(self, path: Path, key: str) -> float:
        with path.open("rb") as file:
            start = time.perf_counter()
            self.s3.upload_fileobj(file, self.bucket, key)
            return time.perf_counter() - start

    def direct_download(self, key: str) -> float:
        """One GET of the whole object, its body streamed (what the portal does)."""
        with open(os.devnull, "wb") as sink:
            start = time.perf_counter()
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            while chunk := body.read(CHUNK):
                sink.write(chunk)
            return time.perf_counter() - start

    def direct_download_managed(self, key: str) -> float:
        """boto3's transfer manager: ranged GETs of 8 MiB on 10 threads."""
        with open(os.devnull, "wb") as sink:
            start = time.perf_counter()
            self.s3.download_fileobj(self.bucket, key, sink)
            return time.perf_counter() - start


def transfer_figures(folder: Path) -> list[str]:
    path = folder / "quyet-dinh.pdf"
    write_pdf(path, UPLOAD_WIDTH, UPLOAD_HEIGHT)
    size = path.stat().st_size
    small = folder / "small.pdf"
    write_pdf(small, 300, 300)
    up, down = [], []
    with Portal(folder) as portal:
        at_start = rss_kb(portal.worker) / 1024
        warm = portal.upload(small)[2]  # loads what every upload reuses (boto3, the S3 client)
        portal.download(warm)
        portal.direct_upload(small, "bench/warm-up")
        portal.direct_download("bench/warm-up")
        warmed = rss_kb(portal.worker) / 1024
        documents = []
        for run in range(RUNS):
            renew_pixels(path)
            direct = portal.direct_upload(path, f"bench/direct-{run}")
            seconds, sent, document, memory = portal.upload(path)
            assert document["files"][0]["size"] == size
            documents.append(document)
            up.append({"direct": direct, "portal": seconds, "sent": sent, "memory": memory})
            print(f"  upload {run + 1}: direct {direct:.2f} s, portal {seconds:.2f} s (body sent after {sent:.2f} s), "
                  f"worker +{memory.grown:.0f} MB, with children +{memory.tree_grown:.0f} MB", flush=True)
        for run in range(RUNS):
            single = portal.direct_download(f"bench/direct-{run}")
            managed = portal.direct_download_managed(f"bench/direct-{run}")
            seconds, received, memory = portal.download(documents[run])
            assert received == size, (received, size)
            down.append({"direct": min(single, managed), "single": single, "managed": managed, "portal": seconds,
                         "memory": memory})
            print(f"  download {run + 1}: direct {single:.2f} s (one GET), {managed:.2f} s (download_fileobj), "
                  f"portal {seconds:.2f} s, worker +{memory.grown:.0f} MB, with children +{memory.tree_grown:.0f} MB",
                  flush=True)
            portal.s3.delete_object(Bucket=portal.bucket, Key=f"bench/direct-{run}")
    path.unlink()

    def summary(name: str, runs: list[dict]) -> list[str]:
        direct = statistics.median(run["direct"] for run in runs)
        through = statistics.median(run["portal"] for run in runs)
        ratio = statistics.median(run["direct"] / run["portal"] for run in runs)
        grown = statistics.median(run["memory"].grown for run in runs)
        tree = statistics.median(run["memory"].tree_grown for run in runs)
        largest = max(run["memory"].grown for run in runs)
        return [
            f"- {name}, direct boto3: {direct:.2f} s ({size / MIB / direct:.0f} MiB/s)",
            f"- {name}, through the portal: {through:.2f} s ({size / MIB / through:.0f} MiB/s)",
            f"- {name} throughput portal / direct: **{ratio:.2f}** (goal: at least {RATIO_GOAL})",
            f"- {name}, growth of the worker's peak RSS: **{grown:.0f} MB** (largest {largest:.0f}; goal: under "
            f"{MEMORY_GOAL_MB} MB); of the worker with its children (the file-check sandbox): {tree:.0f} MB",
        ]

    sent = statistics.median(run["sent"] for run in up)
    after = statistics.median(run["portal"] - run["sent"] for run in up)
    return [
        f"One PDF of {size / MIB:.1f} MiB (a page with an uncompressed {UPLOAD_WIDTH} x {UPLOAD_HEIGHT} RGB image "
        "of random bytes); moto's S3 server; gunicorn, 1 worker, 4 threads; median of "
        f"{RUNS} runs. The direct client is boto3 with its defaults (TransferConfig: 8 MiB parts, 10 threads).",
        f"Worker RSS: {at_start:.0f} MB when started, {warmed:.0f} MB after a small warm-up upload and download.",
        "",
        *summary("upload", up),
        f"- upload through the portal, of which sending the body: {sent:.2f} s; from the last byte sent to the "
        f"answer (copy and hash, file check, S3 write, database): {after:.2f} s",
        f"- download, direct boto3 one streamed GET: {statistics.median(r['single'] for r in down):.2f} s; "
        f"download_fileobj (ranged GETs, 10 threads): {statistics.median(r['managed'] for r in down):.2f} s; "
        "the faster of the two is the reference below",
        *summary("download", down),
    ]


# --- 2. search ----------------------------------------------------------------------------------

SUBJECTS = ("Hiệu trưởng nhà trường", "Ban chỉ đạo chuyển đổi số", "Tổ chuyên môn Toán – Tin", "Tổ chuyên môn Ngữ văn",
            "Giáo viên chủ nhiệm", "Phòng Giáo dục và Đào tạo", "Ủy ban nhân dân huyện", "Hội đồng trường",
            "Bộ phận văn thư", "Nhân viên thiết bị", "Công đoàn cơ sở", "Đoàn Thanh niên Cộng sản Hồ Chí Minh",
            "Phó hiệu trưởng phụ trách chuyên môn", "Tổ văn phòng", "Tổ Khoa học tự nhiên", "Tổ Ngoại ngữ",
            "Ban đại diện cha mẹ học sinh", "Tổng phụ trách Đội")
VERBS = ("ban hành", "triển khai", "tổ chức thực hiện", "kiểm tra, đánh giá", "phê duyệt", "báo cáo kết quả",
         "rà soát", "cập nhật", "phân công thực hiện", "hướng dẫn", "theo dõi, đôn đốc", "tổng hợp", "lưu trữ",
         "bố trí kinh phí cho", "xây dựng", "nghiệm thu", "bảo trì, sửa chữa", "công khai")
OBJECTS = ("kế hoạch dạy học trực tuyến", "quy chế tổ chức dạy học trực tuyến", "hồ sơ quản lý học sinh",
           "cơ sở dữ liệu ngành giáo dục", "học liệu số và bài giảng điện tử", "hệ thống quản lý học tập",
           "sổ điểm điện tử", "học bạ số", "hạ tầng mạng nội bộ", "thiết bị công nghệ thông tin",
           "phần mềm quản lý nhà trường", "kho học liệu dùng chung", "tài khoản học tập của học sinh",
           "chữ ký số của lãnh đạo", "kết quả kiểm tra định kỳ", "phòng học bộ môn Tin học",
           "đường truyền Internet cáp quang", "kế hoạch bồi dưỡng giáo viên", "thời khóa biểu",
           "camera giám sát", "trang thông tin điện tử của trường", "biên bản họp hội đồng sư phạm",
           "máy chiếu và tivi thông minh", "ngân hàng câu hỏi kiểm tra", "hồ sơ thi đua khen thưởng",
           "danh sách học sinh tham gia lớp học trực tuyến", "quy trình xử lý văn bản đến")
CONTEXTS = ("theo Thông tư số 09/2021/TT-BGDĐT", "căn cứ Quyết định số 4725/QĐ-BGDĐT", "trong năm học 2023–2024",
            "trong học kỳ I", "trong học kỳ II", "theo chỉ đạo của Sở Giáo dục và Đào tạo", "bảo đảm an toàn thông tin",
            "đúng tiến độ đã đề ra", "trên địa bàn huyện Đắk Song", "phù hợp với điều kiện thực tế của nhà trường",
            "đáp ứng yêu cầu chuyển đổi số", "theo Nghị định số 30/2020/NĐ-CP về công tác văn thư",
            "và báo cáo về Phòng Giáo dục và Đào tạo trước ngày 30 hằng tháng", "có sự phối hợp của cha mẹ học sinh",
            "theo Công văn số 1234/SGDĐT-GDTrH", "từ nguồn ngân sách nhà nước và nguồn xã hội hóa",
            "nhằm nâng cao chất lượng dạy và học", "trước khi kết thúc năm học")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Thanh", "Hữu", "Quang", "Thu", "Kim")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hằng", "Hiếu", "Hoa", "Hùng", "Hương", "Khánh", "Lan",
         "Linh", "Long", "Mai", "Nam", "Nga", "Ngân", "Nhung", "Phong", "Phúc", "Quân", "Quyên", "Sơn", "Tâm", "Thảo",
         "Thắng", "Thủy", "Trang", "Trung", "Tuấn", "Vân", "Việt", "Yến", "Blong", "Niê")
POSITIONS = ("giáo viên Toán", "giáo viên Ngữ văn", "giáo viên Tin học", "giáo viên Tiếng Anh", "nhân viên thiết bị",
             "kế toán", "văn thư", "tổ trưởng chuyên môn", "phó hiệu trưởng", "giáo viên Lịch sử và Địa lí")
TITLES = ((DocType.DECISION, "QĐ", "Quyết định về việc {}"), (DocType.PLAN, "KH", "Kế hoạch {}"),
          (DocType.REGULATION, "QC", "Quy chế {}"), (DocType.REPORT, "BC", "Báo cáo {}"),
          (DocType.MINUTES, "BB", "Biên bản {}"))
TITLE_TOPICS = ("thành lập Ban chỉ đạo chuyển đổi số", "dạy học trực tuyến năm học 2023–2024",
                "ứng dụng công nghệ thông tin trong quản lý", "triển khai học bạ số",
                "bồi dưỡng giáo viên về kỹ năng số", "kiểm tra hạ tầng công nghệ thông tin",
                "sử dụng hệ thống quản lý học tập", "bảo đảm an toàn thông tin mạng", "xây dựng kho học liệu số",
                "họp hội đồng sư phạm tháng 9", "mua sắm thiết bị dạy học",
                "kiểm tra nội bộ trường học")
ISSUERS = ("Trường THCS Chu Văn An", "Phòng Giáo dục và Đào tạo huyện Đắk Song", "UBND huyện Đắk Song",
           "Sở Giáo dục và Đào tạo tỉnh Đắk Nông")
HEADER = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập – Tự do – Hạnh phúc"
RARE = "Nhà trường sử dụng hệ thống Moodle để giao bài và chấm bài trực tuyến."


def sentences(count: int) -> list[tuple[str, str]]:
    """``count`` different sentences of school documents (decisions, plans, minutes, the
    lists of people they name), each with its folded words."""
    generator = random.Random(11)
    made = set()
    while len(made) < count:
        if generator.random() < 0.25:
            people = ", ".join(f"{generator.choice(FAMILY)} {generator.choice(MIDDLE)} {generator.choice(GIVEN)} – "
                               f"{generator.choice(POSITIONS)}" for _ in range(generator.randint(1, 3)))
            sentence = f"{generator.choice(('Ông', 'Bà', 'Đồng chí', 'Thành viên:'))} {people}."
        else:
            sentence = (f"{generator.choice(SUBJECTS)} {generator.choice(VERBS)} {generator.choice(OBJECTS)} "
                        f"{generator.choice(CONTEXTS)}.")
            if generator.random() < 0.2:
                sentence = f"Điều {generator.randint(1, 12)}. {sentence}"
        made.add(sentence)
    return [(sentence, " ".join(words_of(sentence))) for sentence in sorted(made)]


def search_body(*parts: str) -> str:
    """The searchable words of a document, as app.evidence.search.reindex keeps them (the
    folded words of its fields and text, each once, at most MAX_BODY characters)."""
    body = " ".join(dict.fromkeys(" ".join(parts).split()))
    return body[:MAX_BODY].rsplit(" ", 1)[0] if len(body) > MAX_BODY else body


def fill(school_id: int, user_id: int, year: str) -> int:
    """DOCUMENTS evidence documents of the school, each with a file whose extracted text is
    a few KB and a link to a criterion, and their search rows, inserted in bulk (on SQLite
    the FTS5 triggers fill the index, on PostgreSQL the stored tsvector column is
    computed). Returns the average characters of text per document."""
    generator = random.Random(4725)
    pool = sentences(4000)
    targets = linkable_codes(framework())
    codes = list(targets)
    now = utcnow()
    documents, texts, bodies = [], [], []
    for number in range(DOCUMENTS):
        doc_type, short, pattern = TITLES[number % len(TITLES)]
        issued = date(2023, 9, 5) + timedelta(days=number % 300)
        row = {"school_id": school_id, "title": pattern.format(generator.choice(TITLE_TOPICS)),
               "doc_type": doc_type, "number": f"{number + 1}/{short}-THCSCVA", "issued_on": issued,
               "issuer": generator.choice(ISSUERS), "school_year": year, "description": "", "url": "",
               "created_by_id": user_id, "created_at": now, "updated_at": now, "version": 1}
        documents.append(row | derived_values(EvidenceDocument, row))
        chosen = generator.sample(pool, generator.randint(18, 30))
        if number % 997 == 0:
            chosen.insert(len(chosen) // 2, (RARE, " ".join(words_of(RARE))))
        opening = f"{row['issuer'].upper()} {HEADER} Số: {row['number']} Đắk Song, ngày {issued.day} tháng " \
                  f"{issued.month} năm {issued.year} {row['title'].upper()}"
        texts.append(" ".join([opening, *(sentence for sentence, _words in chosen)]))
        bodies.append(search_body(" ".join(words_of(f"{row['title']} {row['number']} {row['issuer']} "
                                                    f"van-ban-{number + 1}.pdf {opening}")),
                                  *(folded for _sentence, folded in chosen)))
    db.session.execute(insert(EvidenceDocument), documents)
    ids = list(db.session.scalars(select(EvidenceDocument.id).where(EvidenceDocument.school_id == school_id)
                                  .order_by(EvidenceDocument.id)))
    db.session.execute(insert(StoredObject), [
        {"school_id": school_id, "sha256": hashlib.sha256(str(number).encode()).hexdigest(), "size": 40_000 + number,
         "content_type": "application/pdf", "created_at": now} for number in range(DOCUMENTS)])
    objects = list(db.session.scalars(select(StoredObject.id).where(StoredObject.school_id == school_id)
                                      .order_by(StoredObject.id)))
    db.session.execute(insert(EvidenceFile), [
        {"document_id": document_id, "school_id": school_id, "object_id": object_id, "version": 1,
         "filename": f"van-ban-{number + 1}.pdf", "uploaded_by_id": user_id, "uploaded_at": now,
         "text_status": TextStatus.DONE, "text": texts[number], "ocr_used": False, "found": {}}
        for number, (document_id, object_id) in enumerate(zip(ids, objects, strict=True))])
    numbers: dict[str, int] = {}
    links = []
    for number, document_id in enumerate(ids):
        target = targets[codes[number % len(codes)]]
        series = f"H{target.group}-{target.criterion}"
        numbers[series] = numbers.get(series, 0) + 1
        links.append({"document_id": document_id, "school_id": school_id, "school_year": year,
                      "criterion": target.code, "code": f"{series}-{numbers[series]:02d}", "created_by_id": user_id,
                      "created_at": now, "status": LinkStatus.PENDING, "comment": "", "version": 1})
    db.session.execute(insert(EvidenceLink), links)
    db.session.execute(insert(EvidenceSearch), [{"document_id": document_id, "body": body}
                                                for document_id, body in zip(ids, bodies, strict=True)])
    db.session.commit()
    return sum(len(text_) for text_ in texts) // DOCUMENTS


class StatementClock:
    """Time spent executing statements on ``engine`` (summed) while ``running``."""

    def __init__(self, engine):
        self.seconds, self.statements, self.running = 0.0, 0, False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _connection, _cursor, _statement, _parameters, context, _many):
        context._bench_start = time.perf_counter()

    def _after(self, _connection, _cursor, _statement, _parameters, context, _many):
        if self.running:
            self.seconds += time.perf_counter() - context._bench_start
            self.statements += 1


def repeated(function) -> list:
    """The results of calls of ``function`` (each returns a tuple whose first item is its
    seconds): one warm-up call, kept only when it took over a second (nothing is left to
    warm then), then up to SEARCH_RUNS calls while the next one should end within
    SEARCH_BUDGET seconds."""
    first = function()
    results = [first] if first[0] > 1 else []
    deadline = time.perf_counter() + SEARCH_BUDGET
    while len(results) < SEARCH_RUNS and (not results or time.perf_counter() + results[-1][0] <= deadline):
        results.append(function())
    return results


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank (the largest value when there are under 20)."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def page_request(client, clock: StatementClock, address: str, headers: dict) -> tuple[float, float, int, int]:
    """(seconds, seconds in the database, statements, documents found) of one GET."""
    clock.seconds, clock.statements, clock.running = 0.0, 0, True
    start = time.perf_counter()
    answer = client.get(address, headers=headers)
    elapsed = time.perf_counter() - start
    clock.running = False
    assert answer.status_code == 200, (address, answer.status_code, answer.get_data(as_text=True)[:300])
    return elapsed, clock.seconds, clock.statements, answer.get_json()["total"]


def search_statements(school_id: int, typed: str) -> tuple[float, float, float, int]:
    """(seconds, of which the count's, the first page's, the count) of the list's two
    statements for the search ``typed``, run as they are on the session's connection."""
    args = list_args(EvidenceDocument)().load({"q": typed})
    query = listed_documents(school_id, args)
    count = select(func.count()).select_from(query.order_by(None).subquery())
    connection = db.session.connection()
    start = time.perf_counter()
    counted = connection.execute(count).scalar()
    middle = time.perf_counter()
    connection.execute(query.limit(args["per_page"])).all()
    end = time.perf_counter()
    return end - start, middle - start, end - middle, counted


def search_figures(url: str) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench" * 8,
                      "JOBS_URL": "immediate"})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    with app.test_request_context():
        school = schools.create_school(None, {
            "code": "THCSCVA", "name": "Trường THCS Chu Văn An", "level": "thcs", "province": "Đắk Nông",
            "district": "Đắk Song", "students": 900, "teachers": 50, "classes": 25, "largest_class_size": 40})
        user = accounts.create_user(None, email="vanthu@bench.edu.vn", full_name="Nhân viên văn thư",
                                    password="minh-chung-tim-kiem-2026", role=Role.STAFF, school=school)
        token = accounts.issue_token(user, "bench")[1]
        school_id = school.id
        start = time.perf_counter()
        characters = fill(school_id, user.id, school.school_year)
        loaded = time.perf_counter() - start
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does within a minute of a bulk load: without statistics the
            # planner would measure a freshly loaded table, not the portal.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        clock = StatementClock(db.engine)
    client = app.test_client()  # no app context around the requests: Flask would reuse it
    headers = {"Authorization": f"Bearer {token}"}
    name = url.split(":")[0].split("+")[0]
    rows, worst = [], 0.0
    for label, typed in QUERIES:
        address = f"/api/v1/schools/{school_id}/evidence?{urlencode({'q': typed})}"
        pages = repeated(partial(page_request, client, clock, address, headers))
        with app.test_request_context():
            sql = repeated(partial(search_statements, school_id, typed))
            db.session.rollback()
        seconds = [run[0] for run in pages]
        worst = max(worst, p95(seconds))
        rows.append(f"| {label} | `{typed}` | {pages[-1][3]:,} | {len(pages)} | "
                    f"{statistics.median(seconds) * 1000:.0f} | {p95(seconds) * 1000:.0f} | "
                    f"{statistics.median(run[1] for run in pages) * 1000:.0f} ({pages[-1][2]}) | "
                    f"{statistics.median(run[1] for run in sql) * 1000:.1f} | "
                    f"{statistics.median(run[2] for run in sql) * 1000:.1f} |")
        print(f"  {name}: {rows[-1]}", flush=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    return [
        f"### {name}",
        "",
        f"{DOCUMENTS:,} documents of one school, {characters:,} characters of extracted text each on average "
        f"(loaded in bulk in {loaded:.0f} s). GET /api/v1/schools/{{id}}/evidence?q=… (first page of 20, with the "
        f"matching passages) through Flask's test client with a staff token: up to {SEARCH_RUNS} requests per query "
        f"after a warm-up, within {SEARCH_BUDGET} s. Then the search's two statements alone (the count and the "
        "ranked first page), on one connection.",
        "",
        "| query | q | found | requests | page median (ms) | page p95 (ms) | in the database during the request, ms "
        "(statements) | count alone (ms) | first page alone (ms) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Slowest p95: **{worst * 1000:.0f} ms** (goal: under {PAGE_GOAL_MS} ms)",
        "",
    ]


def main() -> None:
    started_at = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="portal-evidence-bench-"))
    try:
        print("Upload and download through the portal:", flush=True)
        transfers = transfer_figures(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(transfers), flush=True)
    searches = []
    for url in filter(None, (f"sqlite:///{folder}-search.db", os.environ.get("BENCH_DATABASE_URL"))):
        print(f"Search on {url.split(':')[0]}:", flush=True)
        searches += search_figures(url)
    Path(f"{folder}-search.db").unlink(missing_ok=True)
    lines = ["# Issue 11 benchmark: evidence transfers and search", "",
             "## 200 MiB upload and download, portal (gunicorn, S3 backend) against boto3", "", *transfers, "",
             "## Search inside 10,000 documents", "", *searches,
             f"Whole run: {time.perf_counter() - started_at:.0f} s."]
    out = ROOT / "bench" / "results" / "evidence.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
