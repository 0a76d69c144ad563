# ruff: noqa: E402  (the project root goes on sys.path before the app is imported)
"""Load benchmark (issue 14, Speed): the portal served as a district would run it,
gunicorn with 4 workers on PostgreSQL and the S3 backend (moto's server over HTTP),
with the demo school, and 50 simulated users (Locust, headless) for 60 s doing the
journeys' requests (bench/load/locustfile.py). Reported per page: requests, failures,
requests per second, p50/p95/p99.

Two runs of the same 50 users: *people*, who read each page for 3-10 s before the next
click (what the goal is judged on: 0 errors, and the scorecard's p95 under load at most
4x its p50 unloaded, measured first, one user, same server); then *stress*, the same
users clicking every 0.5-2 s, several times what people do, to show the capacity of the
machine (requests per second when it is saturated) and how latency degrades there. In
each, every user signs in first, all within seconds (the sign-in rush, reported on its
own: argon2 is slow on purpose); the table covers the 60 s after the last one is in.

Needs a PostgreSQL database it may wipe: BENCH_DATABASE_URL (or TEST_DATABASE_URL).
Locust runs on the same machine as the server, so both share its cores; the figures
are the whole machine's. Run with ``make bench``; figures in bench/results/load-postgresql.md."""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3
import requests
from sqlalchemy import create_engine, text

from bench.common import write_results

USERS, SPAWN_RATE, SECONDS = int(os.environ.get("LOAD_USERS", "50")), 10, int(os.environ.get("LOAD_SECONDS", "60"))
RUNS = {"people": "3,10", "stress": "0.5,2"}  # seconds a user waits between requests
WORKERS = 4
UNLOADED_RUNS = 30
GOAL = 4.0
SCORECARD = "scorecard /schools/<id>/assessments/<year>"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def wait_for_s3(port: int, seconds: float = 60) -> None:
    """Until moto's server accepts connections."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def flask(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout


def unloaded_scorecard(base: str, school: str, year: str) -> list[float]:
    """The scorecard's response times (s) for one signed-in principal, one at a time."""
    http = requests.Session()
    token = CSRF.search(http.get(f"{base}/login").text).group(1)
    http.post(f"{base}/login", data={"email": "hieutruong@thcva.edu.vn", "password": "ChuVanAn@2023",
                                     "csrf_token": token})
    times = []
    for round_number in range(3 + UNLOADED_RUNS):
        started = time.perf_counter()
        answer = http.get(f"{base}/schools/{school}/assessments/{year}")
        assert answer.status_code == 200, answer.status_code
        if round_number >= 3:
            times.append(time.perf_counter() - started)
    return times


def _request(row: dict) -> str:
    """A Locust row's request: its method, then its name (which may start with it)."""
    return row["Name"] if row["Name"].startswith(row["Type"] + " ") else f"{row['Type']} {row['Name']}"


def run_locust(env: dict, prefix: Path, think: str) -> tuple[list[dict], dict, float, float]:
    """Locust's summary rows for one run of the simulated users once all are signed in,
    the sign-in rush before (bench/load/locustfile.py), and the load average before and
    after the run."""
    before = os.getloadavg()[0]
    rush_file = Path(f"{prefix}_rush.json")
    subprocess.run([str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "load" / "locustfile.py"),
                    "--headless", "-u", str(USERS), "-r", str(SPAWN_RATE), "-t", f"{SECONDS + 180}s", "--host",
                    env["LOAD_HOST"], "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
                   cwd=ROOT, env={**env, "LOAD_THINK": think, "LOAD_SECONDS": str(SECONDS), "LOAD_RUSH_FILE":
                                  str(rush_file)}, check=False, capture_output=True)
    after = os.getloadavg()[0]
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle)), json.loads(rush_file.read_text()), before, after


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith(("postgresql", "postgres")):
        write_results("load", "postgresql://", [
            "# Load: not run", "", "Needs a PostgreSQL database it may wipe: set BENCH_DATABASE_URL."])
        return
    folder = Path(tempfile.mkdtemp(prefix="portal-load-"))
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()

    s3_port = free_port()
    moto = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = None
    try:
        wait_for_s3(s3_port)
        s3 = f"http://127.0.0.1:{s3_port}"
        boto3.client("s3", endpoint_url=s3, aws_access_key_id="load", aws_secret_access_key="load-secret",
                     region_name="us-east-1").create_bucket(Bucket="portal-load")
        port = free_port()
        env = {**os.environ, "PORTAL_ENV": "production", "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
               "PORTAL_INSTANCE_PATH": str(folder), "DATABASE_URL": url, "PORTAL_STORAGE_BACKEND": "s3",
               "PORTAL_S3_ENDPOINT_URL": s3, "PORTAL_S3_BUCKET": "portal-load", "PORTAL_S3_ACCESS_KEY": "load",
               "PORTAL_S3_SECRET_KEY": "load-secret", "PORTAL_S3_REGION": "us-east-1", "PORTAL_JOBS_URL": "immediate",
               "PORTAL_DEMO": "1", "PORTAL_HOST": "127.0.0.1", "PORTAL_PORT": str(port),
               "PORTAL_WEB_WORKERS": str(WORKERS), "PORTAL_LOG_LEVEL": "WARNING"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        started = time.perf_counter()
        flask(env, "db", "upgrade")
        flask(env, "demo", "ensure")
        flask(env, "scores", "refresh")
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as connection:
            school, year, district = (str(value) for value in connection.execute(text(
                "SELECT id, school_year, district_id FROM schools WHERE code = 'THCVA'")).one())
        engine.dispose()
        tokens = {role: flask(env, "accounts", "token", email).strip().split()[-1]
                  for role, email in (("staff", "giaovien@thcva.edu.vn"), ("principal", "hieutruong@thcva.edu.vn"))}
        prepared = time.perf_counter() - started
        server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--no-worker"], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("wb"),
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz")
        unloaded = unloaded_scorecard(base, school, year)
        load_env = {**env, "LOAD_SCHOOL_ID": school, "LOAD_YEAR": year, "LOAD_DISTRICT_ID": district,
                    "LOAD_STAFF_TOKEN": tokens["staff"], "LOAD_PRINCIPAL_TOKEN": tokens["principal"], "LOAD_HOST": base}
        runs = {name: run_locust(load_env, folder / name, think) for name, think in RUNS.items()}
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(90)
        moto.terminate()
        moto.wait(10)

    unloaded_p50 = statistics.median(unloaded) * 1000
    lines = [
        f"# Load: {USERS} users for {SECONDS} s",
        "",
        f"gunicorn ({WORKERS} workers, 4 threads each; `flask serve`) on PostgreSQL and the S3 backend (moto's "
        f"server over HTTP), the demo school; Locust {USERS} users (staff, principal, reviewer, district officer "
        f"in 5:2:2:1), spawned at {SPAWN_RATE}/s (each signs in first), {SECONDS} s, on the same "
        f"{os.cpu_count()}-core machine as the server. Preparing the portal took {prepared:.0f} s. The server's "
        f"log: {folder / 'server.log'}.",
        "",
        f"Scorecard unloaded (one principal, {UNLOADED_RUNS} requests one after another): p50 "
        f"**{unloaded_p50:.0f} ms**.",
    ]
    for name, (rows, rush, load_before, load_after) in runs.items():
        pages = [row for row in rows if row["Name"] != "Aggregated" and int(row["Request Count"])]
        total = next(row for row in rows if row["Name"] == "Aggregated")
        scorecard = next(row for row in pages if row["Name"] == SCORECARD)
        ratio = float(scorecard["95%"]) / unloaded_p50
        errors = int(total["Failure Count"]) + rush["failures"]
        low, high = RUNS[name].split(",")
        lines += [
            "",
            f"## {name.capitalize()}: {low}-{high} s between a user's requests",
            "",
            f"Load average (1 min) {load_before:.1f} before, {load_after:.1f} after.",
            "",
            f"Sign-in rush: all {rush['sign_ins']} users signed in within **{rush['seconds']:.1f} s** of the first "
            f"(argon2id, 64 MiB, 3 passes each); sign-in p50 {rush['sign_in_p50']} ms, p95 {rush['sign_in_p95']} ms, "
            f"{rush['sign_in_failures']} failed; every request meanwhile: {rush['requests']}, p95 {rush['p95']} ms, "
            f"{rush['failures']} failed.",
            "",
            f"Then {SECONDS} s of everyone at work:",
            "",
            "| request | requests | failures | req/s | p50 (ms) | p95 (ms) | p99 (ms) |",
            "|---|---|---|---|---|---|---|",
            *(f"| {_request(row)} | {row['Request Count']} | {row['Failure Count']} | "
              f"{float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} | {row['99%']} |"
              for row in sorted(pages, key=lambda row: -int(row["Request Count"]))),
            f"| **all** | {total['Request Count']} | {total['Failure Count']} | {float(total['Requests/s']):.1f} | "
            f"{total['50%']} | {total['95%']} | {total['99%']} |",
            "",
            f"- Errors, the rush included: **{errors}**" + (" (goal: 0)" if name == "people" else ""),
            f"- Scorecard under load: p95 **{scorecard['95%']} ms** = **{ratio:.1f}x** the unloaded p50"
            + (f" (goal: at most {GOAL:.0f}x)" if name == "people" else " (no goal: the machine is saturated)"),
        ]
    write_results("load", url, lines)


if __name__ == "__main__":
    main()
