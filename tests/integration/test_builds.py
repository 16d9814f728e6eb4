"""Builds through switchyard with the real clients: the classic builder,
BuildKit through the 20.10 CLI (/session upgraded to h2c, then
/build?version=2), and buildx's docker driver (/grpc upgraded to h2c,
BuildKit's control API proxied per call across both VMs)."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

import buildkit_api
from harness import DOCKER, ok, uid, wait_for

DOCKER_2010 = "/usr/bin/docker"  # Debian's docker.io CLI


def build_command(sy, client, args):
    """The command and environment of one build by `client`."""
    if client == "classic":
        return [DOCKER, "build", *args], build_env(sy, False)
    if client == "buildkit":
        return [DOCKER_2010, "build", "--progress", "plain", *args], build_env(sy, True)
    return [DOCKER, "buildx", "build", "--builder", "default", "--progress", "plain", "--load", *args], sy.env()


def build(sy, client, *args, timeout=300):
    cmd, env = build_command(sy, client, args)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def build_env(sy, buildkit):
    env = sy.env()
    env["DOCKER_BUILDKIT"] = "1" if buildkit else "0"
    return env


def context(tmp_path, base):
    (tmp_path / "Dockerfile").write_text("FROM %s\nRUN uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n" % base)
    return str(tmp_path)


def in_vm(sy, backend, image):
    env = dict(os.environ, DOCKER_HOST="unix://" + sy.guest_socket(backend))
    return subprocess.run([DOCKER, "image", "inspect", image], env=env, capture_output=True).returncode == 0


@pytest.fixture(scope="module", autouse=True)
def pulled(sy, images):
    ok(sy.docker("pull", images.multi))


def test_buildkit_build_with_the_2010_cli_opens_a_session_and_builds(sy, images, tmp_path):
    tag = uid("bk") + ":1"
    r = subprocess.run([DOCKER_2010, "build", "-t", tag, context(tmp_path, images.multi)], env=build_env(sy, True),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "naming to docker.io/library/" + tag in r.stderr  # BuildKit's progress, not the classic builder's
    assert ok(sy.docker("run", "--rm", tag)).strip() == "x86_64"
    ok(sy.docker("rmi", tag))


def test_buildx_uses_the_engines_own_builder(sy, images, tmp_path):
    out = ok(sy.docker("buildx", "ls"))
    default = [line for line in out.splitlines() if line.startswith("default")]
    assert default and " docker" in default[0], out  # driver docker, not docker-container
    assert "linux/amd64" in out and "linux/arm64" in out
    tag = uid("bx") + ":1"
    r = subprocess.run([DOCKER, "buildx", "build", "--builder", "default", "--load", "-t", tag,
                        context(tmp_path, images.multi)], env=sy.env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert ok(sy.docker("run", "--rm", tag)).strip() == "x86_64"
    ok(sy.docker("rmi", tag))


def test_classic_build_with_a_foreign_platform_runs_in_vz(sy, images, tmp_path):
    tag = uid("classic") + ":1"
    r = subprocess.run([DOCKER, "build", "--platform", "linux/arm64", "-t", tag, context(tmp_path, images.multi)],
                       env=build_env(sy, False), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag)
    assert ok(sy.docker("run", "--rm", "--platform", "linux/arm64", tag)).strip() == "aarch64"
    ok(sy.docker("rmi", tag))


def test_a_malformed_dockerfile_is_the_builders_error(sy, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROMM nothing\n")
    for buildkit in (False, True):
        r = subprocess.run([DOCKER_2010, "build", str(tmp_path)], env=build_env(sy, buildkit),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0
        assert "unknown instruction: FROMM" in (r.stdout + r.stderr), (buildkit, r.stderr)


def test_classic_build_goes_where_its_from_images_run(sy, images, tmp_path):
    """No platform: an arm64-only FROM puts the build in vz; a multi-stage
    build whose stages start from native and arm64-only images too."""
    (tmp_path / "Dockerfile.multi").write_text(
        "ARG ARMBASE\n"
        "FROM %s AS tools\nRUN echo tools > /t\n"
        "FROM ${ARMBASE}\nCOPY --from=tools /t /t\nRUN uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n" % images.multi)
    for args, tag in ((["-f", str(tmp_path / "Dockerfile.multi"), "--build-arg", "ARMBASE=" + images.arm64], uid("multi") + ":1"),
                      ([], uid("armfrom") + ":1")):
        if not args:
            context(tmp_path, images.arm64)
        r = subprocess.run([DOCKER, "build", *args, "-t", tag, str(tmp_path)], env=build_env(sy, False),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag), tag
        assert ok(sy.docker("run", "--rm", tag)).strip() == "aarch64"
        ok(sy.docker("rmi", tag))


def test_a_build_from_an_image_only_the_other_vm_holds_copies_it_first(sy, images, tmp_path):
    """An amd64 image committed in vz: a classic build FROM it runs natively
    in hv, which gets a copy of the image before the build."""
    pod, src, base, tag = uid("pod"), uid("src"), "local/%s:1" % uid("base"), uid("onbase") + ":1"
    ok(sy.ctl("group", "pin", "pod:" + pod, "vz"))
    # An amd64-only image: vz may hold the multi-arch tag as its arm64 variant.
    ok(sy.docker("create", "--name", src, "--label", "io.kubernetes.pod.uid=" + pod, "--platform", "linux/amd64",
                 images.amd64, "true"))
    ok(sy.docker("commit", src, base))
    ok(sy.docker("rm", src))
    assert in_vm(sy, "vz", base) and not in_vm(sy, "hv", base)
    r = subprocess.run([DOCKER, "build", "-t", tag, context(tmp_path, base)], env=build_env(sy, False),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert in_vm(sy, "hv", tag) and in_vm(sy, "hv", base)
    assert ok(sy.docker("run", "--rm", tag)).strip() == "x86_64"
    ok(sy.docker("rmi", tag, base))


def test_buildkit_build_for_a_foreign_platform_runs_in_vz_with_its_session(sy, images, tmp_path):
    """The 20.10 CLI opens /session before /build?version=2&platform=…: the
    session waits for its build and follows it to vz."""
    tag = uid("bkarm") + ":1"
    r = subprocess.run([DOCKER_2010, "build", "--platform", "linux/arm64", "-t", tag, context(tmp_path, images.multi)],
                       env=build_env(sy, True), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag)
    assert ok(sy.docker("run", "--rm", "--platform", "linux/arm64", tag)).strip() == "aarch64"
    ok(sy.docker("rmi", tag))


CLIENTS = ("classic", "buildkit", "buildx")


@pytest.mark.parametrize("client", CLIENTS)
def test_each_client_builds_natively_or_for_arm64_where_it_runs_and_says_so(sy, images, tmp_path, client):
    """No platform: the native VM. --platform linux/arm64: vz, where RUN
    sees aarch64. The first progress line says where and why; explain
    agrees; the same build again is served from that VM's cache."""
    ctx = context(tmp_path, images.multi)
    native, arm = uid(client + "n") + ":1", uid(client + "a") + ":1"
    code, out = build(sy, client, "-t", native, ctx)
    assert code == 0, out
    assert "[switchyard] building on hv" in out, out
    assert in_vm(sy, "hv", native) and not in_vm(sy, "vz", native)
    assert ok(sy.docker("run", "--rm", native)).strip() == "x86_64"

    code, out = build(sy, client, "--platform", "linux/arm64", "-t", arm, ctx)
    assert code == 0, out
    assert "[switchyard] building on vz: platform linux/arm64" in out, out
    assert in_vm(sy, "vz", arm) and not in_vm(sy, "hv", arm)
    assert ok(sy.docker("run", "--rm", "--platform", "linux/arm64", arm)).strip() == "aarch64"
    explained = ok(sy.ctl("explain", "build", arm))
    assert "backend   vz" in explained and "platform  linux/arm64" in explained, explained

    code, out = build(sy, client, "--platform", "linux/arm64", "-t", arm, ctx)
    assert code == 0, out
    assert ("Using cache" if client == "classic" else "CACHED") in out, out
    ok(sy.docker("rmi", native, arm))


@pytest.mark.parametrize("client", ("buildkit", "buildx"))
def test_a_buildkit_multi_stage_build_with_stages_from_different_images(sy, images, tmp_path, client):
    (tmp_path / "Dockerfile").write_text(
        "FROM --platform=linux/amd64 %s AS tools\nRUN uname -m > /t\n"
        "FROM %s\nCOPY --from=tools /t /t\nRUN uname -m > /arch\nCMD [\"cat\", \"/t\", \"/arch\"]\n"
        % (images.amd64, images.multi))
    tag = uid(client + "ms") + ":1"
    code, out = build(sy, client, "--platform", "linux/arm64", "-t", tag, str(tmp_path))
    assert code == 0, out
    assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag)
    assert ok(sy.docker("run", "--rm", "--platform", "linux/arm64", tag)).split() == ["x86_64", "aarch64"]
    ok(sy.docker("rmi", tag))


def test_buildx_sees_the_workers_of_both_vms(sy):
    """ListWorkers is answered by every VM: one worker each, where a plain
    dockerd has one."""
    workers = buildkit_api.list_workers(sy.socket)
    assert len(workers) == 2, workers
    for backend in ("hv", "vz"):
        assert len(buildkit_api.list_workers(sy.guest_socket(backend))) == 1


def test_build_cache_of_both_vms_is_listed_and_pruned_by_either_cli(sy, images, tmp_path):
    ctx = context(tmp_path, images.multi)
    for prune in ([DOCKER, "buildx", "prune", "-af"], [DOCKER_2010, "builder", "prune", "-af"]):
        tag = uid("cache") + ":1"
        for platform in ("linux/amd64", "linux/arm64"):
            code, out = build(sy, "buildx", "--platform", platform, "-t", tag, ctx)
            assert code == 0, out
        in_hv = buildkit_api.disk_usage_ids(sy.guest_socket("hv"))
        in_vz = buildkit_api.disk_usage_ids(sy.guest_socket("vz"))
        assert in_hv and in_vz
        assert buildkit_api.disk_usage_ids(sy.socket) == in_hv | in_vz
        du = ok(sy.docker("buildx", "du"))
        assert sorted(in_hv | in_vz)[0][:12] in du or "Total" in du, du
        r = subprocess.run(prune, env=sy.env(), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert not buildkit_api.disk_usage_ids(sy.guest_socket("hv"))
        assert not buildkit_api.disk_usage_ids(sy.guest_socket("vz"))
        ok(sy.docker("rmi", tag))


def processes_running(needle):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                # Under binfmt an arm64 RUN's command line starts with its translator.
                if f.read().replace(b"\0", b" ").strip().endswith(needle.encode()):
                    found.append(int(pid))
        except OSError:
            pass
    return found


def scheduler_threads(sy):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if "switchyard-scheduler" in cmd and sy.run_dir in cmd:
            return len(os.listdir("/proc/%s/task" % pid))
    raise AssertionError("no scheduler process")


@pytest.mark.parametrize("platform", ("linux/amd64", "linux/arm64"))
def test_a_buildx_build_cancelled_with_ctrl_c_leaves_nothing_running(sy, images, tmp_path, platform):
    seconds = 3000 + int(time.time()) % 900
    sleeper = "sleep %d" % seconds
    (tmp_path / "Dockerfile").write_text("FROM %s\nRUN %s\n" % (images.multi, sleeper))
    threads_before = scheduler_threads(sy)
    cmd, env = build_command(sy, "buildx", ["--platform", platform, str(tmp_path)])
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: processes_running(sleeper), 120, 0.2), "the build's RUN to start"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert wait_for(lambda: not processes_running(sleeper), 30, 0.2), "the cancelled RUN to end"
    # Each call's threads end with the call; the VMs' BuildKit connections stay.
    assert wait_for(lambda: scheduler_threads(sy) <= threads_before + 4, 30, 0.2), "the scheduler's call threads to end"


def buildx_error(env, *args):
    r = subprocess.run([DOCKER, "buildx", "build", "--builder", "default", "--progress", "plain", *args], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0, r.stdout + r.stderr
    return [line for line in r.stderr.splitlines() if line.startswith("ERROR:")]


def test_buildx_bad_input_fails_clearly(sy, plain, images, registry, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM %s/sy/no-such-image:latest\nRUN true\n" % registry.addr)
    code, out = build(sy, "buildx", str(tmp_path), timeout=120)
    assert code != 0 and "not found" in out, out

    (tmp_path / "Dockerfile").write_text("FROMM nothing\n")
    code, out = build(sy, "buildx", str(tmp_path), timeout=120)
    assert code != 0 and "unknown instruction: FROMM" in out.replace("fromm", "FROMM"), out

    # A platform no VM runs: switchyard's error, naming it and both VMs.
    context(tmp_path, images.multi)
    # (386 is no longer one: an x86-64 hv runs it natively.)
    code, out = build(sy, "buildx", "--platform", "linux/s390x", str(tmp_path), timeout=120)
    assert code != 0, out
    assert "linux/s390x" in out and "hv" in out and "vz" in out, out
    # One that does not parse: BuildKit's own answer, as from a plain dockerd.
    ours = buildx_error(sy.env(), "--platform", "linux/bogus", str(tmp_path))
    theirs = buildx_error(plain.env(), "--platform", "linux/bogus", str(tmp_path))
    assert ours and ours == theirs, (ours, theirs)


def test_a_session_no_build_claims_is_closed(sy):
    session = uid("session")
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sy.socket)
    try:
        s.sendall(("POST /v1.41/session HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
                   "X-Docker-Expose-Session-Uuid: %s\r\n\r\n" % session).encode())
        started = time.time()
        received = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            received += chunk
        assert received.startswith(b"HTTP/1.1 101"), received
        assert time.time() - started < 25
    finally:
        s.close()
    assert wait_for(lambda: "session=%s closed: no build named it" % session in sy.logs(tail=200), 10, 0.2), "the log line"


def build_without_its_session(socket_path, session):
    """POST /build?version=2 naming `session`, which no client opened: the
    error messages of the answer's JSON stream."""
    r = subprocess.run(["curl", "-sS", "--max-time", "60", "--unix-socket", socket_path, "-X", "POST",
                        "-H", "Content-Type: application/x-tar", "--data-binary", "@-",
                        "http://docker/v1.41/build?version=2&session=%s&remote=client-session&dockerfile=Dockerfile"
                        % session],
                       input=b"", capture_output=True, timeout=90)
    assert r.returncode == 0, r.stderr
    errors = []
    for line in r.stdout.decode().splitlines():
        message = json.loads(line) if line.strip().startswith("{") else {}
        if "error" in message:
            errors.append(message["error"].replace(session, "SESSION"))
        elif "message" in message:
            errors.append(message["message"].replace(session, "SESSION"))
    return errors


def test_a_build_whose_session_never_comes_fails_as_on_dockerd(sy, plain):
    ours = build_without_its_session(sy.socket, uid("nosession"))
    theirs = build_without_its_session(plain.sock, uid("nosession"))
    assert theirs and ours == theirs, (ours, theirs)


class DelayingProxy:
    """A Unix socket in front of the Docker socket that holds back each
    connection whose request line starts with `delayed` for `seconds`: a
    client's session or build arrives second, whatever the client does."""

    def __init__(self, target, delayed, seconds, tmp_path):
        self.path = str(tmp_path / "delay.sock")
        self.target, self.delayed, self.seconds = target, delayed.encode(), seconds
        self.delays = 0
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(self.path)
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        # Each request on the connection, keep-alive ones too: the CLI sends
        # its build on the connection its first /_ping opened.
        request = re.compile(rb"[A-Z]+ (/v[0-9.]+)?%s[? ]" % re.escape(self.delayed))

        def hold(chunk):
            if request.match(chunk):
                self.delays += 1
                time.sleep(self.seconds)

        engine = socket.socket(socket.AF_UNIX)
        engine.connect(self.target)
        threading.Thread(target=buildkit_api._pipe, args=(engine, client), daemon=True).start()
        buildkit_api._pipe(client, engine, on_chunk=hold)

    def close(self):
        self.listener.close()


@pytest.mark.parametrize("second", ("/session", "/build"))
def test_a_buildkit_build_and_its_session_meet_in_either_order(sy, images, tmp_path, second):
    """The 20.10 CLI sends /session and /build?version=2 together; held back
    2 s, either one arrives second, and the arm64 build still runs in vz
    with its session."""
    proxy = DelayingProxy(sy.socket, second, 2, tmp_path)
    try:
        env = build_env(sy, True)
        env["DOCKER_HOST"] = "unix://" + proxy.path
        tag = uid("order") + ":1"
        r = subprocess.run([DOCKER_2010, "build", "--platform", "linux/arm64", "-t", tag,
                            context(tmp_path, images.multi)], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert proxy.delays >= 1
    finally:
        proxy.close()
    assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag)
    ok(sy.docker("rmi", tag))
