"""app.ops.worker: a request body that stops coming is a client gone, never a shorter body."""

from __future__ import annotations

import socket

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser
from werkzeug.exceptions import ClientDisconnected
from werkzeug.formparser import parse_form_data

from app.ops.worker import RequestClock, read_under

pytestmark = pytest.mark.database_free

HEAD = (b"POST /schools/1/rooms/7 HTTP/1.1\r\nHost: portal\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n")


def _request(server: socket.socket, clock: RequestClock):
    parser = RequestParser(Config(), server, ("192.168.1.23", 50000))
    read_under(clock, parser, server)  # as PortalThreadWorker's connections do
    request = next(parser)
    clock.start_body()  # as PortalThreadWorker.handle_request does
    return request


def test_a_form_whose_body_stops_coming_is_refused_not_read_short():
    """A phone that stalls mid-form (past REQUEST_TIMEOUT) must not have the part that
    arrived saved as the whole form: its last fields (a checkbox left out reads as off)."""
    body = b"csrf_token=t&name=Ph%C3%B2ng+6A&internet=y"
    server, client = socket.socketpair()
    with server, client:
        clock = RequestClock(timeout=1)
        client.sendall(HEAD % len(body) + body[:24])  # stalls before "internet=y"
        request = _request(server, clock)
        environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/x-www-form-urlencoded",
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": request.body, "wsgi.input_terminated": True}
        with pytest.raises(ClientDisconnected):
            parse_form_data(environ)
        assert clock.timed_out
        assert request.body.failed  # gunicorn closes the connection instead of reading on


def test_a_body_that_arrives_in_time_is_read_whole():
    body = b"csrf_token=t&name=Ph%C3%B2ng+6A&internet=y"
    server, client = socket.socketpair()
    with server, client:
        clock = RequestClock(timeout=1)
        client.sendall(HEAD % len(body) + body)
        assert _request(server, clock).body.read() == body and not clock.timed_out
