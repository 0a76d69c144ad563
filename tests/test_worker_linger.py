"""app.ops.worker: clients cut off for their time cannot stall a worker's main loop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import _free_port

pytestmark = [pytest.mark.database_free, pytest.mark.real_commits]
ROOT = Path(__file__).resolve().parent.parent


def test_clients_cut_off_for_their_time_do_not_hold_up_other_requests(tmp_path):
    """A connection gunicorn closes is half-closed and read until the client closes its
    end, up to 2 s, in the worker's main loop. A client that stalls mid-request and
    never closes would have every other request of the worker wait those 2 s, once per
    such client; a connection cut off for its time is closed at once instead (as nginx's
    reset_timedout_connection)."""
    (tmp_path / "tiny.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Length', '2')])\n"
        "    return [b'ok']\n")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "app.ops.worker.PortalThreadWorker", "--workers", "1",
         "--threads", "4", "--bind", f"127.0.0.1:{port}", "tiny:app"],
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}", "PORTAL_REQUEST_TIMEOUT": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients = []
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        for _ in range(4):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"GET / HTTP/1.1\r\nHost: portal\r\nUser-Agent: half")  # never ends, never closes
            clients.append(client)
        time.sleep(1.5)  # each is cut off after REQUEST_TIMEOUT
        started = time.monotonic()
        assert urllib.request.urlopen(url, timeout=60).read() == b"ok"
        assert time.monotonic() - started < 1.5
    finally:
        for client in clients:
            client.close()
        server.terminate()
        server.wait(timeout=30)
