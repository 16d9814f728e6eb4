"""BuildKit's control API as buildx's docker driver reaches it: POST /grpc
upgraded to h2c on the Docker socket. gRPC Python cannot speak over an
upgraded connection, so a local Unix socket relays each connection it
accepts into one such upgrade. Messages are raw protobuf bytes, read with
grpc_probe's field walker: no generated code."""

import contextlib
import os
import socket
import tempfile
import threading

import grpc

from grpc_probe import _fields


def _pipe(src, dst, on_chunk=None):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if on_chunk:
                on_chunk(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _upgrade(docker_socket):
    s = socket.socket(socket.AF_UNIX)
    s.connect(docker_socket)
    s.sendall(b"POST /v1.41/grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise RuntimeError("no answer to the /grpc upgrade: %r" % head)
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("/grpc upgrade refused: %r" % head)
    return s


@contextlib.contextmanager
def channel(docker_socket):
    """A gRPC channel to the engine's BuildKit behind `docker_socket`."""
    tmp = tempfile.mkdtemp(prefix="bk-")
    path = os.path.join(tmp, "relay.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(8)
    conns = []

    def accept():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            engine = _upgrade(docker_socket)
            conns.extend([client, engine])
            threading.Thread(target=_pipe, args=(client, engine), daemon=True).start()
            threading.Thread(target=_pipe, args=(engine, client), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        with grpc.insecure_channel("unix:" + path) as ch:
            yield ch
    finally:
        listener.close()
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
            os.rmdir(tmp)


def _platforms(record):
    out = []
    for n, _, v in _fields(record):
        if n == 3:  # WorkerRecord.platforms
            p = {pn: pv.decode() for pn, _, pv in _fields(v)}
            out.append("%s/%s" % (p.get(2, ""), p.get(1, "")))  # OS = 2, Architecture = 1
    return out


def list_workers(docker_socket, timeout=30):
    """Each worker's platforms, as ListWorkers answers."""
    with channel(docker_socket) as ch:
        reply = ch.unary_unary("/moby.buildkit.v1.Control/ListWorkers")(b"", timeout=timeout)
    return [_platforms(v) for n, _, v in _fields(reply) if n == 1]


def disk_usage_ids(docker_socket, timeout=30):
    """The ids of the build cache records DiskUsage lists."""
    with channel(docker_socket) as ch:
        reply = ch.unary_unary("/moby.buildkit.v1.Control/DiskUsage")(b"", timeout=timeout)
    ids = set()
    for n, _, record in _fields(reply):
        if n == 1:  # DiskUsageResponse.record
            ids.update(v.decode() for rn, _, v in _fields(record) if rn == 1)  # UsageRecord.ID
    return ids
