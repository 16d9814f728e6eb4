"""Issue 5, security: what the Docker socket refuses, and what the service
set never exposes. (An oversize head: test_bad_input.py.)"""

import glob
import json
import os
import socket

from harness import http, parse_response


def raw(path, data, timeout=10):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may answer and close before reading everything
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out


def test_an_oversize_create_body_gets_413_with_a_clear_message(sy):
    body = json.dumps({"Image": "x", "Env": ["A=" + "b" * (17 << 20)]}).encode()
    head = ("POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)).encode()
    status, _, reply = parse_response(raw(sy.socket, head + body))
    assert status == 413
    assert "larger than 16777216 bytes" in json.loads(reply)["message"]
    assert http(sy.socket, "GET", "/_ping")[0] == 200  # and it still serves


def test_too_many_concurrent_connections_get_503_and_the_rest_still_work(sy):
    held = []
    try:
        for _ in range(512):
            s = socket.socket(socket.AF_UNIX)
            s.connect(sy.socket)
            held.append(s)
        answer = raw(sy.socket, b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
        status, _, body = parse_response(answer)
        assert status == 503
        assert "too many concurrent connections" in json.loads(body)["message"]
    finally:
        for s in held:
            s.close()
    import time
    deadline = time.time() + 10
    while time.time() < deadline and http(sy.socket, "GET", "/_ping")[0] != 200:
        time.sleep(0.1)
    assert http(sy.socket, "GET", "/_ping")[0] == 200


def test_no_service_listens_on_tcp_unless_a_port_is_published(sy):
    pids = {name: sy.pid(name) for name in ("gateway", "scheduler", "vmm-hv", "vmm-vz")}
    inodes = {}
    for name, pid in pids.items():
        for fd in glob.glob("/proc/%d/fd/*" % pid):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = name
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                    listening.append((inodes[cols[9]], cols[1]))
    published = sy.docker("ps", "--format", "{{.Ports}}").stdout.strip()
    if not published:
        assert listening == [], listening
    else:
        assert all(name.startswith("vmm-") for name, _ in listening), listening


def test_a_member_of_the_socket_group_uses_docker_and_nothing_else(sy):
    """As dockerd's docker group: a non-root member runs `docker ps`; the
    private sockets beside docker.sock stay root's."""
    import grp
    import subprocess
    import uuid
    from harness import DOCKER
    group = grp.getgrgid(os.stat(sy.socket).st_gid).gr_name
    assert group == "docker", "the docker group owns the socket by default, as it does dockerd's"
    member, outsider = "sy-m-" + uuid.uuid4().hex[:6], "sy-o-" + uuid.uuid4().hex[:6]
    # Test-made temp dirs are 0700; the run dir's parent must be passable, as /run is.
    base_mode = os.stat(sy.tmp).st_mode & 0o7777
    try:
        subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-G", "docker", "-s", "/bin/sh", member], check=True)
        subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-s", "/bin/sh", outsider], check=True)
        os.chmod(sy.tmp, 0o711)

        def as_user(user, *cmd):
            env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "DOCKER_HOST": sy.host}
            return subprocess.run(["/usr/sbin/runuser", "-u", user, "--", *cmd], capture_output=True, text=True,
                                  timeout=60, env=env)

        r = as_user(member, DOCKER, "ps", "--format", "{{.Names}}")
        assert r.returncode == 0, (r.stderr, [(p, oct(os.stat(p).st_mode), os.stat(p).st_gid) for p in (sy.tmp, sy.run_dir, sy.socket)])
        assert as_user(member, DOCKER, "version", "--format", "{{.Server.APIVersion}}").stdout.strip() == "1.41"
        # The private sockets and the directory's listing stay closed to the group.
        probe = "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])"
        for private in ("scheduler.sock", "vmm-hv.sock", "vmm-vz.sock"):
            r = as_user(member, "/usr/bin/python3", "-c", probe, os.path.join(sy.run_dir, private))
            assert r.returncode != 0 and "Permission denied" in r.stderr, (private, r.stderr)
        assert as_user(member, "/bin/ls", sy.run_dir).returncode != 0
        # Someone outside the group is refused, as by dockerd.
        r = as_user(outsider, DOCKER, "ps")
        assert r.returncode != 0 and "permission denied" in r.stderr, r.stderr
    finally:
        os.chmod(sy.tmp, base_mode)
        for user in (member, outsider):
            subprocess.run(["userdel", user], capture_output=True)
