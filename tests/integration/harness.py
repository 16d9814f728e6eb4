"""Starts and drives a switchyard service set for tests."""

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("SWITCHYARD_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "bin")
DOCKER = "/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else shutil.which("docker")
# Where the qemu tests' guest images are built, and cached across runs.
GUEST_IMAGE_OUT = os.environ.get("SY_GUEST_IMAGE_OUT", "/var/cache/switchyard/guest")


def build_guest_image(agent=os.path.join(BIN, "switchyard-agent"), arch=None, timeout=600):
    """tools/guest-image/build for `arch` (the host's when None); the image directory."""
    cmd = [os.path.join(ROOT, "tools", "guest-image", "build"), "--agent", agent, "--out", GUEST_IMAGE_OUT]
    if arch:
        cmd += ["--arch", arch]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


class ServiceSet:
    def __init__(self, registry_port=None, instance="sy-it", prepare=None, up_args=(), vz_start="eager",
                 vz_idle_stop_seconds=0):
        # Short paths: containerd's sockets live under the state dir (108-byte limit).
        self.tmp = tempfile.mkdtemp(prefix="sy-", dir="/tmp")
        self.run_dir = os.path.join(self.tmp, "run")
        self.state_dir = os.path.join(self.tmp, "state")
        self.registry_port = registry_port
        self.instance = instance
        self.prepare = prepare
        # vz boots at `up` and stays up unless a test is about sleeping and
        # waking (the product's default is on demand, stopped when idle).
        self.up_args = ["--vz_start=" + vz_start, "--vz_idle_stop_seconds=%d" % vz_idle_stop_seconds] + list(up_args)
        self.socket = os.path.join(self.run_dir, "docker.sock")
        self.host = "unix://" + self.socket
        self.docker_config = os.path.join(self.tmp, "docker-config")
        os.makedirs(self.docker_config)

    def switchyard(self, *args, check=True, timeout=240):
        cmd = [os.path.join(BIN, "switchyard"), *args, "--run_dir=" + self.run_dir,
               "--state_dir=" + self.state_dir, "--instance=" + self.instance]
        if args[0] == "up" and self.registry_port:
            cmd += ["--loopback_forward=%d" % self.registry_port]
        if args[0] == "up":
            cmd += self.up_args
        # The docker context `up` creates goes to this set's own docker config.
        env = dict(os.environ, DOCKER_CONFIG=self.docker_config)
        env.pop("DOCKER_HOST", None)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check, env=env)

    def up(self):
        if self.prepare:
            self.prepare(self)
        r = self.switchyard("up", check=False)
        if r.returncode != 0:
            raise RuntimeError("switchyard up failed:\n%s\n%s\n%s" % (r.stdout, r.stderr, self.logs()))
        return r

    def down(self):
        r = self.switchyard("down", check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return r

    def logs(self, tail=None):
        """Each service's log: its last 3000 characters, or its last `tail` lines."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.state_dir, "logs", "*.log"))):
            with open(path, errors="replace") as f:
                text = f.read()
            text = "\n".join(text.splitlines()[-tail:]) if tail else text[-3000:]
            out.append("== %s\n%s" % (path, text))
        return "\n".join(out)

    def env(self):
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env["DOCKER_CONFIG"] = self.docker_config
        env.pop("DOCKER_CONTEXT", None)
        return env

    def docker(self, *args, input=None, check=False, timeout=120):
        return subprocess.run([DOCKER, *args], input=input, capture_output=True, text=True,
                              timeout=timeout, env=self.env(), check=check)

    def docker_tty(self, command, timeout=60):
        """Runs a docker command line under a pseudo-terminal (script -e keeps its exit code)."""
        return subprocess.run(["script", "-eqc", "%s %s" % (DOCKER, command), "/dev/null"],
                              capture_output=True, text=True, timeout=timeout, env=self.env(),
                              stdin=subprocess.DEVNULL)

    def guest_socket(self, backend):
        return os.path.join(self.state_dir, "vms", backend, "docker.sock")

    def ctl(self, *args):
        return subprocess.run([os.path.join(BIN, "switchyardctl"), "--run_dir=" + self.run_dir, *args],
                              capture_output=True, text=True, timeout=60)

    def compose(self, project_dir, *args, timeout=180):
        return subprocess.run(["docker-compose", *args], cwd=project_dir, capture_output=True, text=True,
                              timeout=timeout, env=self.env())

    def pid(self, service):
        with open(os.path.join(self.run_dir, service + ".pid")) as f:
            return int(f.read())

    def vm_status(self, backend):
        """The `vm <backend> …` line of `switchyard status`."""
        out = self.switchyard("status", check=False).stdout
        for line in out.splitlines():
            if line.startswith("vm %s " % backend):
                return line
        raise AssertionError("no vm line for %s in %r" % (backend, out))


def raw_request(path, data, timeout=10, half_close=False):
    """Sends raw bytes on a Unix socket and returns everything the server answers."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed before reading everything
    if half_close:
        s.shutdown(socket.SHUT_WR)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    except (socket.timeout, ConnectionResetError):
        pass  # a server that closes with our request unread resets after its answer
    s.close()
    return b"".join(chunks)


def parse_response(raw):
    """(status, headers dict lower-cased, body bytes de-chunked) of one HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding") == "chunked":
        out = b""
        while body:
            size_line, _, rest = body.partition(b"\r\n")
            n = int(size_line, 16)
            if n == 0:
                break
            out += rest[:n]
            body = rest[n + 2:]
        body = out
    elif "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return status, headers, body


def http(path, method, target, body=None, headers=None):
    data = "%s %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n" % (method, target)
    for k, v in (headers or {}).items():
        data += "%s: %s\r\n" % (k, v)
    if body is not None:
        data += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    data = data.encode() + b"\r\n" + (body or b"")
    return parse_response(raw_request(path, data))


class Snapshot:
    def __init__(self):
        self.pids = {}
        self.mounts = set()
        self.links = set()
        self.iptables = set()
        self.cgroups = set()

    def leaked_since(self, before, service_set):
        leaks = {}
        new_pids = {p: c for p, c in self.pids.items() if p not in before.pids and service_set.tmp in c}
        if new_pids:
            leaks["processes"] = new_pids
        if self.mounts - before.mounts:
            leaks["mounts"] = sorted(self.mounts - before.mounts)
        if self.links - before.links:
            leaks["links"] = sorted(self.links - before.links)
        if self.iptables - before.iptables:
            leaks["iptables"] = sorted(self.iptables - before.iptables)
        cg = {c for c in self.cgroups - before.cgroups if service_set.instance in c}
        if cg:
            leaks["cgroups"] = sorted(cg)
        return leaks


def host_snapshot():
    snap = Snapshot()
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                snap.pids[int(d[6:])] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            pass
    with open("/proc/mounts") as f:
        snap.mounts = set(f.read().splitlines())
    snap.links = {l.split(":")[1].strip().split("@")[0] for l in
                  subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()}
    for table in ("filter", "nat"):
        r = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True)
        snap.iptables |= {table + " " + l for l in r.stdout.splitlines()}
    snap.cgroups = set(glob.glob("/sys/fs/cgroup/*/*"))
    return snap


def wait_for(predicate, timeout=30, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def uid(prefix):
    """A name no other test uses: "prefix-1a2b3c4d"."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def ok(r):
    """The stdout of a command that must have succeeded; its output otherwise."""
    assert r.returncode == 0, "rc=%d\nstdout=%s\nstderr=%s" % (r.returncode, r.stdout, r.stderr)
    return r.stdout


def backend_of(sy, ref):
    """The VM switchyard placed a container on, from its label."""
    return ok(sy.docker("inspect", "--format", '{{index .Config.Labels "io.switchyard.backend"}}', ref)).strip()
