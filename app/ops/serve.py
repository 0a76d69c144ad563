"""``flask serve``: the portal as it runs for real, with gunicorn (``WEB_WORKERS``
processes of ``WEB_THREADS`` threads) on ``HOST``:``PORT`` and the job worker beside
it, until stopped; it prints the addresses phones on the school's network can open."""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import socket
import subprocess  # nosec B404: starts this project's own gunicorn and job worker, no shell
import sys
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def workers(config) -> int:
    """WEB_WORKERS, or one more than the machine's cores."""
    return config["WEB_WORKERS"] or (os.cpu_count() or 1) + 1


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (no packet is sent)."""
    found = set()
    try:
        found.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # picks the interface of the default route
            found.add(probe.getsockname()[0])
        except OSError:
            pass
    return sorted(address for address in found if not address.startswith("127."))


def addresses(config) -> list[str]:
    """The addresses to print: PUBLIC_URL first, then this machine's on the network
    (when HOST listens on it), then this computer's own."""
    port, host = config["PORT"], config["HOST"]
    shown = [str(config["PUBLIC_URL"]).rstrip("/")] if config.get("PUBLIC_URL") else []
    if host in ("0.0.0.0", ""):  # nosec B104: the point of this command is to serve the school's network
        shown += [f"http://{address}:{port}" for address in lan_addresses()]
    elif not host.startswith("127."):
        shown.append(f"http://{host}:{port}")
    this_computer = "127.0.0.1" if host in ("0.0.0.0", "", "127.0.0.1") else host  # nosec B104: reads HOST, binds nothing
    return [*dict.fromkeys(shown), f"http://{this_computer}:{port}"]


@click.command("serve")
@click.option("--no-worker", is_flag=True, help="Do not start the job worker (another server runs it).")
def serve(no_worker: bool) -> None:
    """Serve the portal with gunicorn and the job worker until stopped (Ctrl+C)."""
    config = current_app.config
    metrics_dir = Path(current_app.instance_path) / "metrics"  # every worker's figures, summed at /metrics
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           "PORTAL_REQUEST_TIMEOUT": str(config["REQUEST_TIMEOUT"]),  # read by app.ops.worker
           "PORTAL_LOG_FORMAT": config["LOG_FORMAT"]}  # and by app.ops.gunicorn_conf
    web = [sys.executable, "-m", "gunicorn", "--config", "python:app.ops.gunicorn_conf",
           "--bind", f"{config['HOST']}:{config['PORT']}", "--workers", str(workers(config)),
           "--threads", str(config["WEB_THREADS"]), "wsgi:app"]
    tied = functools.partial(_end_with, os.getpid()) if sys.platform == "linux" else None
    children = {"gunicorn": subprocess.Popen(web, env=env, preexec_fn=tied)}  # nosec B603: a fixed command, no shell
    if not no_worker and config.get("JOBS_URL") != "immediate":
        children["the job worker"] = subprocess.Popen(  # nosec B603: a fixed command, no shell
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"], env=env, preexec_fn=tied)
    shown = addresses(config)
    click.echo("The portal is starting. Open it at:")
    for address in shown:
        click.echo(f"  {address}")
    if len(shown) > 1:
        click.echo("Phones and computers on the school's network use the first address; "
                   "this computer can also use the last.")
    if not db.session.scalar(select(func.count()).select_from(User)):
        click.echo("No one can sign in yet: create the first administrator with\n"
                   "  flask --app wsgi accounts create --email EMAIL --password PASSWORD --role admin")
    db.session.remove()
    sys.exit(_supervise(children))


def _end_with(parent: int) -> None:
    """In a child, before it starts (Linux): SIGTERM when ``parent`` (``flask serve``) ends
    in any way, killed outright or stopped before it could pass the signal on, so that no
    gunicorn keeps the port and no job worker runs on without it."""
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        return  # not on this kernel: the supervision below still stops them
    if os.getppid() != parent:  # it ended already
        os.kill(os.getpid(), signal.SIGTERM)


def _supervise(children: dict[str, subprocess.Popen]) -> int:
    """Wait until a child (by name) ends or a stop signal comes, then stop them all; the
    exit code of the first that ended by itself (0 when stopped by a signal)."""
    stopping = []

    def stop(_signal, _frame):
        stopping.append(True)
        for child in children.values():
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while children:
        pid, status = os.wait()
        name = next((name for name, child in children.items() if child.pid == pid), None)
        if name is None:
            continue
        ended = children.pop(name)
        ended.returncode = os.waitstatus_to_exitcode(status)
        if not stopping:
            code = ended.returncode or 1  # neither should ever end by itself
            click.echo(f"{name} stopped (exit code {ended.returncode}); stopping the portal.", err=True)
            stop(None, None)
    return code
