"""The deployment the README describes, as shipped in deploy/: the systemd units are
valid, and nginx with deploy/nginx/portal.conf in front of ``flask serve`` gives HTTPS,
secure cookies, the request id end to end, large uploads and a closed /metrics."""

from __future__ import annotations

import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import _free_port
from tests.serving import ROOT, serve_portal

pytestmark = [pytest.mark.real_commits, pytest.mark.database_free]
DEPLOY = ROOT / "deploy"


def test_the_systemd_units_are_valid(tmp_path):
    """``systemd-analyze verify`` of every unit, with /opt/portal standing for this
    checkout (so each ExecStart names a program that exists)."""
    units = sorted((DEPLOY / "systemd").iterdir())
    assert {unit.name for unit in units} >= {"portal-web.service", "portal-worker.service", "portal-school.service",
                                             "portal-backup.service", "portal-backup.timer"}
    for unit in units:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/portal", str(ROOT)))
    checked = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / unit.name) for unit in units)],
                             capture_output=True, text=True)
    problems = [line for line in checked.stderr.splitlines()
                if "portal" in line and "Failed to" not in line or "bad" in line or "fatal" in line]
    assert checked.returncode == 0 and problems == [], checked.stderr


def test_the_services_are_hardened(tmp_path):
    """Each service runs with systemd's sandboxing (``systemd-analyze security``: exposure
    at most 2.0 of 10), and what it writes is not readable by other users of the machine."""
    services = sorted((DEPLOY / "systemd").glob("*.service"))
    for unit in services:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/portal", str(ROOT)))
        checked = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager",
                                  str(tmp_path / unit.name)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr
        report = json.loads(subprocess.run(["systemd-analyze", "security", "--offline=yes", "--json=short",
                                            str(tmp_path / unit.name)], capture_output=True, text=True).stdout)
        umask = next(item for item in report if item["name"] == "UMask=")
        assert "world-readable" not in umask["description"], unit.name


def test_the_web_server_listens_on_this_machine_alone_unless_told_otherwise():
    """portal-web's address when /etc/portal/portal.env names none (an empty PORTAL_HOST
    would make gunicorn listen on every network, where anyone may claim to be nginx)."""
    unit = (DEPLOY / "systemd" / "portal-web.service").read_text()
    defaults = dict(assignment.split("=", 1) for line in unit.splitlines() if line.startswith("Environment=")
                    for assignment in line.removeprefix("Environment=").split())
    start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    bind = re.search(r"--bind (\S+)", start).group(1)
    assert re.sub(r"\$\{(\w+)\}", lambda name: defaults.get(name.group(1), ""), bind) == "127.0.0.1:8000"


def _nginx_in_front(tmp_path: Path, app_port: int) -> tuple[Path, int, int]:
    """deploy/nginx/portal.conf made runnable here: free ports for 80 and 443, a
    self-signed certificate, this test's app server; returns (nginx.conf, http, https)."""
    http, https = _free_port(), _free_port()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
                   check=True, capture_output=True)
    site = (DEPLOY / "nginx" / "portal.conf").read_text()
    site = (site.replace("/etc/ssl/portal/", f"{tmp_path}/").replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
            .replace("listen 80;", f"listen 127.0.0.1:{http};")
            .replace("listen 443 ssl", f"listen 127.0.0.1:{https} ssl")
            .replace("cds.sogddt.example.vn", "localhost"))
    site = "\n".join(line for line in site.splitlines() if "[::]" not in line)  # no IPv6 here
    (tmp_path / "site.conf").write_text(site)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / folder).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""user root;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi; uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
""")
    return conf, http, https


def _token_of_an_administrator(served) -> str:
    """An API token of a new administrator of the served portal (only those signed in
    send large bodies)."""
    def flask(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=served.env,
                              check=True, capture_output=True, text=True).stdout
    flask("accounts", "create", "--email", "quantri@truong.edu.vn", "--password", "Quan-tri-2026-Dak-Song",
          "--role", "admin")
    return flask("accounts", "token", "quantri@truong.edu.vn").strip().split()[-1]


@pytest.mark.long
def test_nginx_with_the_shipped_config_serves_the_portal_over_https(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian's nginx (apt-get install nginx; .ci/run does)
    with serve_portal(tmp_path / "portal", TRUSTED_PROXIES="1") as served:
        conf, http, https = _nginx_in_front(tmp_path, int(served.url.rsplit(":", 1)[1]))
        tested = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
        assert tested.returncode == 0, tested.stderr
        subprocess.run([nginx, "-c", str(conf)], check=True)
        try:
            _wait_for_port(https)
            tls = ssl.create_default_context(cafile=str(tmp_path / "fullchain.pem"))
            tls.check_hostname = False

            def fetch(path: str, data: bytes | None = None, method: str = "GET", **headers: str):
                request = urllib.request.Request(f"https://127.0.0.1:{https}{path}", data=data, method=method,
                                                 headers={"Host": "localhost", **headers})
                try:
                    return urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=tls)).open(
                        request, timeout=60)
                except urllib.error.HTTPError as error:
                    return error

            opener = urllib.request.build_opener(NoRedirect)
            for host in ("localhost", "evil.example"):  # the redirect names the portal, not what was asked
                plain = urllib.request.Request(f"http://127.0.0.1:{http}/login", headers={"Host": host})
                with pytest.raises(urllib.error.HTTPError) as moved:
                    opener.open(plain)
                assert moved.value.code == 301 and moved.value.headers["Location"] == "https://localhost/login"

            page = fetch("/login")
            assert page.status == 200 and "Strict-Transport-Security" in page.headers
            cookies = page.headers.get_all("Set-Cookie") or []
            assert cookies and all("Secure" in cookie and "HttpOnly" in cookie for cookie in cookies)
            request_id = page.headers["X-Request-Id"]
            assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, passed through

            signed_in = {"Authorization": f"Bearer {_token_of_an_administrator(served)}"}
            big = fetch("/api/v1/auth/token", data=b"x" * (12 * 1024 * 1024), method="POST", **signed_in)
            assert big.status == 400  # past nginx's default 1 MB: the portal itself answers (not JSON)
            huge = fetch("/api/v1/auth/token", data=b"x" * (52 * 1024 * 1024), method="POST", **signed_in)
            assert huge.status == 413  # nginx stops what is over UPLOAD_MAX_MB
            assert fetch("/metrics").status == 403  # only from the monitoring network
            assert fetch("/readyz").status == 403
            assert re.fullmatch(r"nginx", page.headers["Server"])  # no version

            # Forwarded headers a client sends itself are not believed: nginx sets each one.
            spoofed = fetch("/", **{"Host": "evil.example", "X-Forwarded-For": "203.0.113.9",
                                    "X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/evil",
                                    "X-Forwarded-Proto": "http", "X-Request-Id": "chosen-by-the-client"})
            assert spoofed.status == 302 and spoofed.headers["Location"].startswith(("/login", "https://localhost/"))
            assert "Strict-Transport-Security" in spoofed.headers  # still seen as HTTPS
            spoofed_id = spoofed.headers["X-Request-Id"]
            assert spoofed_id != "chosen-by-the-client"
        finally:
            subprocess.run([nginx, "-c", str(conf), "-s", "stop"], check=False)
    lines = [json.loads(line) for line in served.err.splitlines() if line.startswith("{")]
    logged = next(line for line in lines if line.get("request_id") == request_id)
    assert logged["path"] == "/login" and logged["remote_addr"] == "127.0.0.1"
    assert next(line for line in lines if line.get("request_id") == spoofed_id)["remote_addr"] == "127.0.0.1"


def _wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None
