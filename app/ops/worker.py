"""gunicorn's threaded worker with a time limit on reading each request, for a portal
served without a buffering proxy in front (``flask serve`` on a school's PC).

gunicorn's ``gthread`` worker (27.0) closes a connection that sends nothing, but gives one
to a thread once its first bytes arrive and then reads the request with a blocking
socket, for as long as the client takes: a few clients that send half a request and
stop (a slowloris, or phones that leave the Wi-Fi mid-request) hold every thread and the
portal stops answering. Here each request is read under limits, like nginx's
``client_header_timeout`` and ``client_body_timeout``:

- the request line and headers arrive within ``REQUEST_TIMEOUT`` seconds of a thread
  taking the request (a keep-alive connection's next request included);
- each piece of its body comes within ``REQUEST_TIMEOUT`` seconds, and the time spent
  waiting for the body stays under ``REQUEST_TIMEOUT`` plus a second for each
  ``MIN_BODY_BYTES_PER_SECOND`` bytes received: a slow upload that keeps moving
  finishes, one that trickles a few bytes at a time does not hold a thread for hours.

A request that misses a limit reads as if the client had gone (a body cut short is
refused, never taken for a shorter body): its connection is closed and the thread
freed. Only reading the request is limited: a response, a large download among them, is
written for as long as the client keeps taking it."""

from __future__ import annotations

import errno
import os
import time

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import ClientDisconnected

from app.config import Defaults

# Slower than any Wi-Fi a phone stays connected to (about 16 kbit/s).
MIN_BODY_BYTES_PER_SECOND = 2048


def request_timeout() -> float:
    """REQUEST_TIMEOUT as ``flask serve`` passes it to gunicorn (PORTAL_REQUEST_TIMEOUT)."""
    return float(os.environ.get("PORTAL_REQUEST_TIMEOUT") or Defaults.REQUEST_TIMEOUT)


class RequestClock:
    """How long the next read of one request may wait for the client: the time left for
    its headers, then each body read's share of the body's allowance."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.start_request()

    def start_request(self) -> None:
        self.headers_by = time.monotonic() + self.timeout
        self.timed_out = False
        self.reading_body = False
        self.body_waited = 0.0
        self.body_received = 0

    def start_body(self) -> None:
        self.reading_body = True

    def next_wait(self) -> float:
        """Seconds the next read may wait; 0 or less when the request is out of time."""
        if not self.reading_body:
            return self.headers_by - time.monotonic()
        allowance = self.timeout + self.body_received / MIN_BODY_BYTES_PER_SECOND
        return min(self.timeout, allowance - self.body_waited)

    def read(self, waited: float, received: int) -> None:
        """Count a read that waited ``waited`` seconds for ``received`` bytes."""
        if self.reading_body:
            self.body_waited += waited
            self.body_received += received


class BodyTimedOut(ClientDisconnected, TimeoutError):
    """The rest of a request's body did not come in time: the application answers 400
    (werkzeug's ClientDisconnected) and gunicorn's body drain gives up (a TimeoutError),
    so the part that came is never taken for the whole body."""


class TimedSocketUnreader(SocketUnreader):
    """gunicorn's reader of a request from its socket, each read bounded by ``clock``.
    A read of the request line or headers out of time marks the clock timed out and
    returns b"" (the end of the stream), which gunicorn takes as a client that went away;
    one of the body raises BodyTimedOut, as b"" would read as a shorter body, complete (a
    form without its last fields). A shorter timeout a caller set on the socket
    (gunicorn's body drain) is kept, and the socket is left as it was found, so writing
    the response is never limited."""

    def __init__(self, sock, clock: RequestClock, max_chunk: int = 8192):
        super().__init__(sock, max_chunk)
        self.clock = clock

    def chunk(self, size_hint=None):
        wait = self.clock.next_wait()
        if wait <= 0:
            return self._out_of_time()
        callers = self.sock.gettimeout()
        self.sock.settimeout(wait if callers is None else min(wait, callers))
        started = time.monotonic()
        try:
            data = super().chunk(size_hint)
        except TimeoutError:
            if callers is not None and callers < wait:
                raise  # the caller's own limit: it handles it
            data = None
        finally:
            self.sock.settimeout(callers)
        if data is None:
            return self._out_of_time()
        self.clock.read(time.monotonic() - started, len(data))
        return data

    def _out_of_time(self) -> bytes:
        self.clock.timed_out = True
        if self.clock.reading_body:
            raise BodyTimedOut()
        return b""


def read_under(clock: RequestClock, parser, sock) -> None:
    """Have gunicorn's request ``parser`` read ``sock`` under ``clock`` from now on,
    keeping what it has read already."""
    timed = TimedSocketUnreader(sock, clock)
    timed.buf = parser.unreader.buf
    parser.unreader = timed


class TimedConn(TConn):
    """A client connection whose requests are read under a RequestClock."""

    def __init__(self, cfg, sock, client, server, timeout: float):
        super().__init__(cfg, sock, client, server)
        self.clock = RequestClock(timeout)

    def init(self):
        super().init()
        if type(self.parser.unreader) is SocketUnreader:  # HTTP/1 on a plain or TLS socket
            read_under(self.clock, self.parser, self.sock)

    def close(self, graceful=False):
        # Not lingering (up to 2 s, in the worker's main loop) for a client cut off for its
        # time: it would not close its end, and every other request would wait.
        super().close(graceful and not self.clock.timed_out)


class PortalThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker whose connections are TimedConn: a connection that
    does not deliver its request in time is closed at once, and its thread freed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout()

    def accept(self, listener):
        # gunicorn's own accept (27.0), making a TimedConn instead of a TConn.
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        self.enqueue_req(TimedConn(self.cfg, client_sock, client_addr, listener.getsockname(),
                                   self.request_timeout))

    def handle(self, conn):
        conn.clock.start_request()
        keep_alive = super().handle(conn)
        if conn.clock.timed_out:
            client = conn.client[0] if isinstance(conn.client, tuple) else conn.client
            self.log.info("Closed the connection of %s: its request did not arrive within the time allowed "
                          "(REQUEST_TIMEOUT, %g s).", client, self.request_timeout)
            return False
        return keep_alive

    def handle_request(self, req, conn):
        conn.clock.start_body()  # the request line and headers are in
        return super().handle_request(req, conn)
