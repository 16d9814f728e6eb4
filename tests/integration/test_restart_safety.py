"""Issue 5, restart safety: while a client creates, starts, execs into and
removes containers on both VMs, every switchyard service and each guest
dockerd is killed with SIGKILL in turn. Every call ends within a bound (no
hangs); afterwards every container the client was told exists exists, the
registry knows every container the guests hold, and every published port
answers."""

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest

from harness import ServiceSet, host_snapshot, wait_for

CALL_BOUND = 90  # seconds any one docker call may take, outage or not


def guest_dockerd_pid(sy, backend):
    vm_dir = os.path.join(sy.state_dir, "vms", backend)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"dockerd") and any(vm_dir.encode() in a for a in args):
            return int(d)
    return None


def answers(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/index.html" % port, timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def restarting(registry, images):
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-rs")
    try:
        s.up()
        for platform in ("linux/amd64", "linux/arm64"):
            r = s.docker("pull", "--platform", platform, images.multi)
            assert r.returncode == 0, r.stderr
        yield s
    finally:
        s.down()
    assert not host_snapshot().leaked_since(before, s)


def test_killing_each_service_and_guest_dockerd_loses_nothing(restarting, images):
    sy = restarting
    told_exist, uncertain, slow, timeline, errors = set(), set(), [], [], []
    t0 = time.time()
    stop = threading.Event()

    def call(*args):
        t = time.time()
        try:
            r = sy.docker(*args, timeout=CALL_BOUND)
        except subprocess.TimeoutExpired:
            slow.append((args, "started at +%.1f s, no answer within %d s" % (t - t0, CALL_BOUND)))
            return None
        if time.time() - t > CALL_BOUND:
            slow.append((args, time.time() - t))
        if r.returncode != 0:
            errors.append((args[0], "+%.1f s" % (t - t0), r.returncode, r.stderr.strip()))
        return r

    def client():
        i = 0
        while not stop.is_set():
            i += 1
            name = "rs-%d-%s" % (i, uuid.uuid4().hex[:6])
            platform = "linux/amd64" if i % 2 else "linux/arm64"
            r = call("run", "-d", "--name", name, "--platform", platform, "--restart", "always",
                     "-p", "127.0.0.1::80", images.multi, "sh", "-c",
                     "echo ok > /tmp/index.html && exec httpd -f -p 80 -h /tmp")
            if r is None or r.returncode != 0:
                uncertain.add(name)  # may or may not exist: the client was not told
                continue
            told_exist.add(name)
            call("exec", name, "true")
            if i % 3 == 0:
                r = call("rm", "-f", name)
                told_exist.discard(name)
                if r is None or r.returncode != 0:
                    uncertain.add(name)

    worker = threading.Thread(target=client)
    worker.start()
    try:
        time.sleep(3)
        victims = ["gateway", "scheduler", "vmm-hv", "vmm-vz", "dockerd-hv", "dockerd-vz"]
        for victim in victims:
            if victim.startswith("dockerd-"):
                pid = guest_dockerd_pid(sy, victim.split("-")[1])
                assert pid, "no guest dockerd for " + victim
            else:
                pid = sy.pid(victim)
            os.kill(pid, signal.SIGKILL)
            timeline.append("+%.1f s killed %s" % (time.time() - t0, victim))
            assert wait_for(lambda: sy.docker("ps", timeout=CALL_BOUND).returncode == 0, timeout=120), victim
            time.sleep(3)  # let the client work against the recovered set
    finally:
        stop.set()
        worker.join(timeout=CALL_BOUND * 4)
    assert not worker.is_alive(), "the client loop hangs"
    assert not slow, (slow, timeline, sy.logs(tail=40))
    print("\n".join(timeline))
    for e in errors:
        print("failed call:", *e)
    # A failed call says why: a daemon error with a message, or (when the
    # gateway itself dies under it) the CLI's connection error. The one
    # exception is the CLI's own: an exec whose stream ended and whose exit
    # code it then cannot ask for, because it cannot connect, exits 255 with
    # nothing printed ("the daemon probably died", docker/cli
    # getExecExitStatus), as it does when a plain dockerd dies.
    for command, at, rc, stderr in errors:
        if command == "exec" and rc == 255 and not stderr:
            continue
        assert stderr and ("Error response from daemon: " in stderr or "error during connect" in stderr
                           or "Cannot connect to the Docker daemon" in stderr), (command, at, rc, stderr)
    assert told_exist, "the client never got a container created"

    # Every container the client was told exists, exists.
    for name in told_exist:
        r = sy.docker("inspect", "--format", "{{.Name}}", name)
        assert r.returncode == 0, (name, r.stderr, sy.logs(tail=30))

    # The registry knows every container the guests hold (reconcile runs every 10 s).
    def mismatches():
        wrong = []
        for backend in ("hv", "vz"):
            env = dict(os.environ, DOCKER_HOST="unix://" + sy.guest_socket(backend))
            env.pop("DOCKER_CONTEXT", None)
            ids = subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True, text=True,
                                 env=env).stdout.split()
            for cid in ids:
                r = sy.ctl("explain", cid)
                fields = dict(line.split(None, 1) for line in r.stdout.strip().splitlines() if " " in line)
                if r.returncode != 0 or fields.get("backend") != backend:
                    wrong.append((backend, cid[:12], r.returncode, r.stdout.strip(), r.stderr.strip()))
        return wrong
    assert wait_for(lambda: not mismatches(), timeout=60, interval=2), (mismatches(), sy.logs(tail=30))

    # Every published port answers.
    for name in told_exist:
        port = int(sy.docker("port", name, "80").stdout.splitlines()[0].rsplit(":", 1)[1])
        assert wait_for(lambda: answers(port), timeout=90, interval=0.5), (name, port, sy.logs(tail=30))

    for name in told_exist | uncertain:
        sy.docker("rm", "-f", name)
