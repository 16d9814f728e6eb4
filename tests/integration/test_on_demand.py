"""The translating VM only when it is needed: vz sleeps until a workload
needs it, stops when idle, and while it sleeps its objects stay visible
from what it last reported, without waking it."""

import glob
import os
import signal
import subprocess
import threading
import time

import pytest

from harness import DOCKER, ServiceSet, host_snapshot, ok, uid, wait_for

ARM64 = "linux/arm64"
IDLE = 6  # seconds: vz's idle stop in these tests


@pytest.fixture(scope="module")
def od(registry):
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-od", vz_start="on-demand", vz_idle_stop_seconds=IDLE)
    try:
        s.up()
        yield s
    finally:
        s.down()
    assert not host_snapshot().leaked_since(before, s)


def vz_processes(s):
    """Host processes of vz's guest: its agent and dockerd run from its state dir."""
    vz_dir = os.path.join(s.state_dir, "vms", "vz")
    found = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if vz_dir in cmd and "switchyard-vmm" not in cmd:
            found.append(cmd)
    return found


def asleep(s):
    return " asleep" in s.vm_status("vz")


def boots_since_last_sleep(s):
    with open(os.path.join(s.state_dir, "logs", "vmm-vz.log")) as f:
        log = f.read()
    tail = log[log.rfind("VM asleep"):]
    return tail.count("booting the VM")


def test_vz_sleeps_after_up_and_lists_do_not_wake_it(od):
    assert asleep(od) and "not started yet" in od.vm_status("vz")
    assert not vz_processes(od)
    for args in (["ps", "-a"], ["images"], ["volume", "ls"], ["network", "ls"], ["info"]):
        ok(od.docker(*args))
    info = ok(od.docker("info", "--format", "{{json .Labels}}"))
    assert "io.switchyard.backend.vz=asleep" in info, info
    assert asleep(od) and not vz_processes(od)


def test_a_foreign_workload_wakes_vz_then_idle_puts_it_back_to_sleep(od, images):
    name = uid("woke")
    t = time.time()
    out = ok(od.docker("run", "--name", name, "--platform", ARM64, images.arm64, "uname", "-m"))
    woke_in = time.time() - t
    assert out.strip() == "aarch64"
    assert " running" in od.vm_status("vz") and vz_processes(od)
    # Nothing runs there now: after the idle time it sleeps, and says why.
    assert wait_for(lambda: asleep(od), IDLE + 60, 0.5), "vz to go to sleep when idle"
    assert "idle for %ds" % IDLE in od.vm_status("vz")
    assert wait_for(lambda: not vz_processes(od), 30, 0.5), "vz's processes to end"

    # Asleep but visible: list and inspect its container, with dockerd's Status text.
    rows = ok(od.docker("ps", "-a", "--filter", "name=" + name, "--format", "{{.Names}}|{{.Status}}"))
    assert rows.startswith(name + "|Exited (0) ") and rows.strip().endswith(" ago"), rows
    assert ok(od.docker("inspect", "--format", "{{.State.Status}} {{.Platform}}", name)).strip() == "exited linux"
    assert images.arm64.split("/", 1)[1].split(":")[0] in ok(od.docker("images"))
    assert asleep(od) and not vz_processes(od)

    # Changing its state wakes it.
    ok(od.docker("start", "-a", name))
    assert " running" in od.vm_status("vz")
    ok(od.docker("rm", name))
    print("woke vz and ran in %.2fs" % woke_in)


def test_a_container_with_a_restart_policy_keeps_vz_up(od, images):
    name = uid("always")
    ok(od.docker("run", "-d", "--name", name, "--restart", "always", "--platform", ARM64, images.arm64,
                 "sleep", "1"))
    time.sleep(IDLE + 10)  # well past the idle time: it restarts, so it runs
    assert " running" in od.vm_status("vz")
    ok(od.docker("rm", "-f", name))
    assert wait_for(lambda: asleep(od), IDLE + 60, 0.5), "vz to sleep once the container is gone"


def test_concurrent_callers_share_one_boot(od, images):
    assert wait_for(lambda: asleep(od), IDLE + 60, 0.5), "vz asleep"
    results = []

    def run():
        results.append(od.docker("run", "--rm", "--platform", ARM64, images.arm64, "true", timeout=120))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert boots_since_last_sleep(od) == 1


def test_a_vm_manager_restarted_while_vz_sleeps_keeps_it_asleep_and_visible(od, images):
    name = uid("kept")
    ok(od.docker("create", "--name", name, "--platform", ARM64, images.arm64, "true"))
    assert wait_for(lambda: asleep(od), IDLE + 60, 0.5), "vz asleep"
    with open(os.path.join(od.run_dir, "vmm-vz.pid")) as f:
        pid = int(f.read().strip())
    os.kill(pid, signal.SIGKILL)

    def restarted():
        try:
            with open(os.path.join(od.run_dir, "vmm-vz.pid")) as f:
                return int(f.read().strip()) != pid and asleep(od)
        except (OSError, ValueError, AssertionError):
            return False

    assert wait_for(restarted, 60, 0.5), "vmm-vz to be restarted, asleep"
    assert not vz_processes(od)
    rows = ok(od.docker("ps", "-a", "--filter", "name=" + name, "--format", "{{.Names}} {{.Status}}"))
    assert rows.strip() == name + " Created", rows
    assert asleep(od)
    ok(od.docker("rm", name))  # a change: wakes it
    assert " running" in od.vm_status("vz")


def test_docker_events_started_while_vz_sleeps_shows_its_events_once_it_wakes(od, images):
    assert wait_for(lambda: asleep(od), IDLE + 60, 0.5), "vz asleep"
    name = uid("evented")
    watcher = subprocess.Popen([DOCKER, "events", "--filter", "type=container", "--filter", "name=" + name,
                                "--format", "{{.Action}} {{.Actor.Attributes.name}}"],
                               env=od.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        ok(od.docker("run", "--rm", "--name", name, "--platform", ARM64, images.arm64, "true"))
        time.sleep(3)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=30)
    assert "start " + name in out and "die " + name in out, out


def test_a_vm_manager_killed_while_waking_vz_comes_back_serving(od, images):
    """Killed while the call that woke vz waits for its boot: the manager
    restarts, takes over the VM (or boots it again), and the next call runs."""
    assert wait_for(lambda: asleep(od), IDLE + 60, 0.5), "vz asleep"
    with open(os.path.join(od.run_dir, "vmm-vz.pid")) as f:
        pid = int(f.read().strip())
    name = uid("midwake")
    runner = subprocess.Popen([DOCKER, "run", "--name", name, "--platform", ARM64, images.arm64, "true"],
                              env=od.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: not asleep(od), 30, 0.05), "vz to start waking"
        os.kill(pid, signal.SIGKILL)
        out, err = runner.communicate(timeout=180)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()

    def restarted():
        try:
            with open(os.path.join(od.run_dir, "vmm-vz.pid")) as f:
                return int(f.read().strip()) != pid and od.vm_status("vz")
        except (OSError, ValueError, AssertionError):
            return False

    # The interrupted run either went through or failed saying so; once its
    # manager is back, vz serves.
    assert runner.returncode == 0 or err.strip(), (out, err)
    assert wait_for(restarted, 60, 0.5), "vmm-vz to be restarted"
    ok(od.docker("run", "--rm", "--platform", ARM64, images.arm64, "true"))
    assert " running" in od.vm_status("vz")
    od.docker("rm", "-f", name)
