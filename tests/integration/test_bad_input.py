"""Bad input gets dockerd's own status and message, or a clean close; never
a crash, a hang or a leaked stream. The plain dockerd is the reference."""

import json
import os
import socket
import time

import pytest

from harness import http, parse_response, raw_request, wait_for

CASES = [
    ("GET", "/v1.41/nosuch", None),
    ("GET", "/v1.41/containers/nosuch-xyz/json", None),
    ("POST", "/v1.41/containers/nosuch-xyz/start", None),
    ("DELETE", "/v1.41/containers/nosuch-xyz", None),
    ("POST", "/v1.41/containers/create", b"{not json"),
    ("POST", "/v1.41/containers/create", b'{"Image": 5}'),
    ("POST", "/v1.41/containers/create", b'{"Image": "nosuchimage:1"}'),
    ("POST", "/v1.41/containers/create?name=bad/name", b'{"Image": "nosuchimage:1"}'),
    ("GET", "/v1.41/exec/nosuchexec/json", None),
    ("POST", "/v1.41/exec/nosuchexec/start", b'{"Detach":false}'),
    ("GET", "/v1.41/images/nosuch:1/json", None),
    ("DELETE", "/v1.41/images/nosuch:1", None),
    ("GET", "/v9.99/info", None),
    ("GET", "/v1.41/containers/json?filters=notjson", None),
    # What dockerd does not serve is its 404 "page not found", whatever the method.
    ("PUT", "/v1.41/containers/json", None),
    ("HEAD", "/v1.41/version", None),
    ("GET", "/v1.41/containers/nosuch-xyz/bogus", None),
    ("PATCH", "/v1.41/info", None),
    # Routed by the route table rather than sent to hv.
    ("POST", "/v1.41/commit?container=nosuch-xyz", None),
    ("POST", "/v1.41/commit", None),
    ("DELETE", "/v1.41/containers/nosuch-xyz/db?link=1", None),
    ("GET", "/v1.41/swarm", None),
    ("POST", "/v1.41/session", None),
]


@pytest.mark.parametrize("method,target,body", CASES, ids=["%s %s" % (m, t) for m, t, _ in CASES])
def test_errors_match_plain_dockerd(sy, plain, method, target, body):
    got = http(sy.socket, method, target, body)
    want = http(plain.sock, method, target, body)
    assert got[0] == want[0], (got, want)
    if method == "HEAD":
        assert got[2] == want[2] == b""
    elif want[0] >= 400:
        assert json.loads(got[2])["message"] == json.loads(want[2])["message"]


def test_malformed_http_gets_400_and_close(sy, plain):
    for path in (sy.socket, plain.sock):
        raw = raw_request(path, b"NOT HTTP AT ALL\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n"), raw
    # The gateway still serves after garbage.
    assert http(sy.socket, "GET", "/_ping")[2] == b"OK"


def test_oversized_header_is_refused_not_crashed(sy):
    raw = raw_request(sy.socket, b"GET /_ping HTTP/1.1\r\nX-Big: " + b"a" * (2 << 20) + b"\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")  # Go's answer, as dockerd's
    assert http(sy.socket, "GET", "/_ping")[0] == 200


def gateway_threads(sy):
    return len(os.listdir("/proc/%d/task" % sy.pid("gateway")))


def test_clients_that_disconnect_mid_stream_leak_nothing(sy, images):
    r = sy.docker("run", "-d", images.multi, "sh", "-c", "while true; do echo tick; sleep 0.2; done")
    cid = r.stdout.strip()
    baseline = gateway_threads(sy)
    for _ in range(10):
        for target in ("/v1.41/containers/%s/logs?follow=1&stdout=1" % cid, "/v1.41/events",
                       "/v1.41/containers/%s/attach?stream=1&stdout=1" % cid):
            s = socket.socket(socket.AF_UNIX)
            s.connect(sy.socket)
            s.sendall(("POST" if "attach" in target else "GET").encode() + b" " + target.encode() +
                      b" HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            s.recv(100)
            s.close()
    # Every stream ends once its client is gone: the gateway is back to its idle threads.
    assert wait_for(lambda: gateway_threads(sy) <= baseline, timeout=15), (gateway_threads(sy), baseline)
    assert sy.docker("rm", "-f", cid).returncode == 0
