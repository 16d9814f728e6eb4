"""Issue 4: one host-port space over both VMs. Published ports are bound on
the host by the VM manager of the VM that runs the container and tunnelled
into its guest; the scheduler keeps one table for both. Driven with the
docker CLI; every port is checked from the host's loopback."""

import json
import os
import signal
import socket
import subprocess
import threading
import urllib.request
import uuid

import pytest

from harness import backend_of, ok, uid, wait_for

ARM64 = "linux/arm64"  # translated: runs on vz
NATIVE = "linux/amd64"  # runs on hv
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port(kind=socket.SOCK_STREAM):
    """A port nothing on the host holds now, outside the ephemeral range the scheduler hands out."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 32768:
            return port
        port = 20000 + (port % 10000)
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def fetch(port, timeout=3, host="127.0.0.1"):
    try:
        with urllib.request.urlopen("http://%s:%d/index.html" % (host, port), timeout=timeout) as r:
            return r.read().decode()
    except OSError:
        return None


def answers(port, text, timeout=20, host="127.0.0.1"):
    return wait_for(lambda: (fetch(port, host=host) or "").strip() == text, timeout=timeout, interval=0.2)


def refused(port, timeout=20, host="127.0.0.1"):
    def closed():
        with socket.socket() as s:
            s.settimeout(2)
            return s.connect_ex((host, port)) != 0
    return wait_for(closed, timeout=timeout, interval=0.2)


def web(name):
    """A command serving /index.html with the container's name on port 80."""
    return ["sh", "-c", "echo %s > /tmp/index.html && exec httpd -f -p 80 -h /tmp" % name]


def run_web(sy, images, name, publish, platform, *extra):
    return sy.docker("run", "-d", "--name", name, "--platform", platform, *extra, "-p", publish,
                     images.multi, *web(name))


def pid_or_none(sy, service):
    try:
        return sy.pid(service)
    except (OSError, ValueError):  # being rewritten by the supervisor
        return None


def vm_pid(sy, backend):
    """The host pid of a VM's agent (its PID 1), from its manager's record."""
    try:
        with open(os.path.join(sy.state_dir, "vms", backend, "vm.json")) as f:
            return json.load(f)["agent_pid"]
    except (OSError, ValueError, KeyError):  # booting: not written yet
        return None


def started_at(sy, ref):
    return ok(sy.docker("inspect", "--format", "{{.State.Status}} {{.State.StartedAt}}", ref)).strip()


@pytest.fixture(scope="module", autouse=True)
def pulled(sy, images):
    ok(sy.docker("pull", "--platform", NATIVE, images.multi))
    ok(sy.docker("pull", "--platform", ARM64, images.multi))


def test_a_published_port_answers_whichever_vm_runs_the_container(sy, images):
    a, b = uid("web-hv"), uid("web-vz")
    pa, pb = free_port(), free_port()
    ok(run_web(sy, images, a, "%d:80" % pa, NATIVE))
    ok(run_web(sy, images, b, "127.0.0.1:%d:80" % pb, ARM64))
    try:
        assert backend_of(sy, a) == "hv" and backend_of(sy, b) == "vz"
        assert answers(pa, a), sy.logs(tail=20)
        assert answers(pb, b), sy.logs(tail=20)
        assert "0.0.0.0:%d" % pa in ok(sy.docker("port", a, "80"))
        assert ok(sy.docker("port", b, "80")).strip() == "127.0.0.1:%d" % pb
        ps = ok(sy.docker("ps", "--filter", "name=" + b, "--format", "{{.Ports}}"))
        assert "127.0.0.1:%d->80/tcp" % pb in ps
    finally:
        sy.docker("rm", "-f", a, b)
    assert refused(pa) and refused(pb)


def host_address():
    """The host's first global IPv4 address, which no guest has: traffic to it stays on this machine."""
    out = subprocess.run(["ip", "-4", "-o", "address", "show", "scope", "global"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        return line.split()[3].split("/")[0]
    return None


def test_a_port_published_on_a_specific_host_address_answers_there_in_either_vm(sy, images):
    address = host_address()
    assert address, "this test needs a global IPv4 address on the host"
    published = {uid("lan-hv"): (free_port(), NATIVE), uid("lan-vz"): (free_port(), ARM64)}
    for name, (port, platform) in published.items():
        ok(run_web(sy, images, name, "%s:%d:80" % (address, port), platform, "--restart", "always"))
    try:
        for name, (port, _) in published.items():
            assert answers(port, name, host=address), sy.logs(tail=20)
            assert refused(port), "bound beyond the address asked for"  # as dockerd: not on 127.0.0.1
            assert ok(sy.docker("port", name, "80")).strip() == "%s:%d" % (address, port)
            ps = ok(sy.docker("ps", "--filter", "name=" + name, "--format", "{{.Ports}}"))
            assert "%s:%d->80/tcp" % (address, port) in ps
        # The guests own the address again after a reboot, before dockerd
        # restarts the containers: crash each VM, and its manager reboots it.
        for backend in ("hv", "vz"):
            old = vm_pid(sy, backend)
            os.kill(old, signal.SIGKILL)
            assert wait_for(lambda: vm_pid(sy, backend) not in (None, old), timeout=60), backend
        for name, (port, _) in published.items():
            assert answers(port, name, timeout=60, host=address), "%s after reboot\n%s" % (name, sy.logs(tail=30))
    finally:
        sy.docker("rm", "-f", *published)
    for port, _ in published.values():
        assert refused(port, host=address)


def test_a_taken_host_port_gets_dockerds_error_in_either_vm(sy, images):
    holder, rival_vz, rival_hv = uid("holder"), uid("rival-vz"), uid("rival-hv")
    port = free_port()
    ok(run_web(sy, images, holder, "%d:80" % port, NATIVE))
    try:
        assert answers(port, holder)
        for rival, platform in ((rival_vz, ARM64), (rival_hv, NATIVE)):
            r = run_web(sy, images, rival, "%d:80" % port, platform)
            assert r.returncode != 0 and "port is already allocated" in r.stderr, r.stderr
            # As with dockerd: the container exists, created but not running, holding nothing.
            status = ok(sy.docker("inspect", "--format", "{{.State.Status}}", rival)).strip()
            assert status == "created"
        assert answers(port, holder)
    finally:
        sy.docker("rm", "-f", holder, rival_vz, rival_hv)
    assert refused(port)


def test_two_vms_racing_for_one_host_port_exactly_one_wins(sy, images):
    port = free_port()
    names = {uid("race-hv"): NATIVE, uid("race-vz"): ARM64}
    for name, platform in names.items():
        ok(sy.docker("create", "--name", name, "--platform", platform, "-p", "%d:80" % port, images.multi,
                     *web(name)))
    results = {}

    def start(name):
        results[name] = sy.docker("start", name)

    threads = [threading.Thread(target=start, args=(n,)) for n in names]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [n for n, r in results.items() if r.returncode == 0]
        losers = [n for n, r in results.items() if r.returncode != 0]
        assert len(winners) == 1, {n: (r.returncode, r.stderr) for n, r in results.items()}
        assert "port is already allocated" in results[losers[0]].stderr
        assert answers(port, winners[0])
    finally:
        sy.docker("rm", "-f", *names)
    assert refused(port)


def test_empty_host_ports_and_publish_all_get_ports_the_scheduler_chooses(sy, images):
    a, b = uid("anyport"), uid("allports")
    ok(sy.docker("run", "-d", "--name", a, "--platform", ARM64, "-p", "80", images.multi, *web(a)))
    ok(sy.docker("run", "-d", "--name", b, "--platform", NATIVE, "--expose", "80", "-P", images.multi, *web(b)))
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first, last = map(int, f.read().split())
        ports = []
        for name in (a, b):
            line = ok(sy.docker("port", name, "80")).splitlines()[0]
            port = int(line.rsplit(":", 1)[1])
            assert first <= port <= last, line
            assert answers(port, name), sy.logs(tail=20)
            ports.append(port)
        assert ports[0] != ports[1]
    finally:
        sy.docker("rm", "-f", a, b)


def test_ports_are_released_on_stop_and_rm_and_come_back_on_restart(sy, images):
    a, b = uid("release-hv"), uid("release-vz")
    port = free_port()
    ok(run_web(sy, images, a, "%d:80" % port, NATIVE))
    try:
        assert answers(port, a)
        ok(sy.docker("stop", "-t", "1", a))
        assert refused(port)
        # Released for the other VM too.
        ok(run_web(sy, images, b, "%d:80" % port, ARM64))
        assert answers(port, b)
        ok(sy.docker("rm", "-f", b))
        assert refused(port)
        ok(sy.docker("start", a))
        assert answers(port, a)
        ok(sy.docker("restart", "-t", "1", a))
        assert answers(port, a)
        ok(sy.docker("kill", a))  # dies: released
        assert refused(port)
    finally:
        sy.docker("rm", "-f", a, b)
    assert refused(port)


def test_a_restart_policy_brings_the_port_back(sy, images):
    name = uid("phoenix")
    port = free_port()
    script = ("rm -f /tmp/die; echo %s > /tmp/index.html; httpd -p 80 -h /tmp; "
              "while [ ! -e /tmp/die ]; do sleep 0.2; done; exit 3" % name)
    ok(sy.docker("run", "-d", "--name", name, "--platform", ARM64, "--restart", "on-failure",
                 "-p", "%d:80" % port, images.multi, "sh", "-c", script))
    try:
        assert answers(port, name)
        ok(sy.docker("exec", name, "touch", "/tmp/die"))
        assert wait_for(lambda: sy.docker("inspect", "--format", "{{.RestartCount}}", name).stdout.strip()
                        not in ("", "0"), timeout=30)
        assert answers(port, name), sy.logs(tail=20)
    finally:
        sy.docker("rm", "-f", name)
    assert refused(port)


@pytest.fixture(scope="module")
def udp_echo(tmp_path_factory):
    """A static UDP echo server, bind-mounted into containers from the host."""
    out = str(tmp_path_factory.mktemp("udp") / "udp_echo")
    subprocess.run(["cc", "-static", "-O2", "-o", out, os.path.join(HERE, "programs", "udp_echo.c")], check=True)
    return out


def test_udp_ports_round_trip_and_host_bind_mounts_work(sy, images, udp_echo):
    name = uid("udp")
    port = free_port(socket.SOCK_DGRAM)
    ok(sy.docker("run", "-d", "--name", name, "--platform", ARM64, "-v", udp_echo + ":/udp_echo:ro",
                 "-p", "%d:9999/udp" % port, images.multi, "/udp_echo", "9999"))
    try:
        assert "0.0.0.0:%d" % port in ok(sy.docker("port", name, "9999/udp"))

        def echoed():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(1)
                payload = uuid.uuid4().bytes * 64
                s.sendto(payload, ("127.0.0.1", port))
                try:
                    return s.recvfrom(65536)[0] == payload
                except OSError:
                    return False
        assert wait_for(echoed, timeout=20, interval=0.2), sy.logs(tail=20)
    finally:
        sy.docker("rm", "-f", name)


def test_every_published_port_answers_after_each_switchyard_process_restarts(sy, images):
    # No restart policy: a VM manager that restarts adopts its running VM, so
    # the very same containers keep running and serving, never restarted.
    published = {uid("survive-hv"): (free_port(), NATIVE), uid("survive-vz"): (free_port(), ARM64)}
    for name, (port, platform) in published.items():
        ok(run_web(sy, images, name, "%d:80" % port, platform))
    try:
        for name, (port, _) in published.items():
            assert answers(port, name)
        started = {name: started_at(sy, name) for name in published}
        assert all(s.startswith("running ") for s in started.values()), started
        vms = {backend: vm_pid(sy, backend) for backend in ("hv", "vz")}
        for service in ("gateway", "scheduler", "vmm-hv", "vmm-vz"):
            old = sy.pid(service)
            os.kill(old, signal.SIGKILL)
            assert wait_for(lambda: pid_or_none(sy, service) not in (None, old), timeout=30), service
            assert wait_for(lambda: sy.docker("ps").returncode == 0, timeout=60), service
            for name, (port, _) in published.items():
                assert answers(port, name, timeout=60), "%s after %s restart\n%s" % (name, service, sy.logs(tail=30))
            assert {name: started_at(sy, name) for name in published} == started, service
        assert {backend: vm_pid(sy, backend) for backend in ("hv", "vz")} == vms, "a VM was rebooted"
    finally:
        sy.docker("rm", "-f", *published)
    for port, _ in published.values():
        assert refused(port)
