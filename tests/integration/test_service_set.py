"""The service set itself: every internal service serves health and
reflection, the agent reaps, a VM that fails to boot is named everywhere
while the other keeps serving, and down leaves nothing behind, even after
the supervisor was killed."""

import glob
import json
import os
import signal
import subprocess

import pytest

from grpc_probe import health, list_services
import harness
from harness import ServiceSet, host_snapshot
from plain_dockerd import process_running


def test_every_internal_service_serves_health_and_reflection(sy):
    sockets = {
        "scheduler.sock": "switchyard.scheduler.v1.Scheduler",
        "vmm-hv.sock": "switchyard.vmm.v1.VmManager",
        "vmm-vz.sock": "switchyard.vmm.v1.VmManager",
    }
    for sock, service in sockets.items():
        path = os.path.join(sy.run_dir, sock)
        assert oct(os.stat(path).st_mode & 0o777) == "0o600", sock
        assert health(path) == 1, sock
        names = list_services(path)
        assert service in names and "grpc.health.v1.Health" in names, (sock, names)
    for backend in ("hv", "vz"):
        path = os.path.join(sy.state_dir, "vms", backend, "agent.sock")
        assert health(path) == 1
        assert "switchyard.agent.v1.GuestAgent" in list_services(path)
    # The socket's group may pass through the run directory to docker.sock,
    # not list it (test_security.py: a member reaches nothing else).
    assert oct(os.stat(sy.run_dir).st_mode & 0o777) == "0o710"
    assert os.stat(sy.run_dir).st_gid == os.stat(sy.socket).st_gid != 0
    assert oct(os.stat(sy.socket).st_mode & 0o777) == "0o660"


def test_up_creates_the_switchyard_docker_context(sy):
    env = dict(os.environ, DOCKER_CONFIG=sy.docker_config)
    env.pop("DOCKER_HOST", None)
    r = subprocess.run([harness.DOCKER, "--context", "switchyard", "info", "--format", "{{.Name}}"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "switchyard", r.stderr


def test_status_lists_every_service_and_vm(sy):
    r = sy.switchyard("status", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    for service in ("supervisor", "vmm-hv", "vmm-vz", "scheduler", "gateway"):
        assert any(line.startswith(service) and "running" in line for line in r.stdout.splitlines()), r.stdout
    assert "vm hv       running arch=x86_64" in r.stdout
    assert "vm vz       running" in r.stdout and "qemu-aarch64" in r.stdout


def _agent_pids(sy):
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            cmd = open(d + "/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"switchyard-agent") and any(sy.state_dir.encode() in a for a in cmd):
            pids.append(int(d[6:]))
    return pids


def _zombie_children(pid):
    zombies = []
    for d in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(d).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == pid:
            zombies.append(d)
    return zombies


def test_agent_is_pid_1_and_reaps(sy, images):
    for i in range(3):
        sy.docker("run", "--rm", images.multi, "true")
        sy.docker("run", "--rm", "--platform", "linux/arm64", images.arm64, "true")
    agents = _agent_pids(sy)
    assert len(agents) == 2
    for pid in agents:
        status = open("/proc/%d/status" % pid).read()
        nspid = [l for l in status.splitlines() if l.startswith("NSpid:")][0].split()
        assert nspid[-1] == "1", "the agent is PID 1 of its VM"
        assert not _zombie_children(pid), "the agent left zombies"


def _break_vz(s):
    # A state path that cannot be a directory: the vz VM cannot boot.
    os.makedirs(os.path.join(s.state_dir, "vms"), exist_ok=True)
    open(os.path.join(s.state_dir, "vms", "vz"), "w").close()


def test_a_vm_that_fails_to_boot_is_named_and_the_other_serves(registry, images):
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-bad", prepare=_break_vz)
    try:
        s.up()
        status = s.switchyard("status", check=False)
        assert status.returncode == 1
        vz_line = [l for l in status.stdout.splitlines() if l.startswith("vm vz")][0]
        assert "failed" in vz_line and "VM vz failed to boot" in vz_line, status.stdout
        info = json.loads(s.docker("info", "--format", "{{json .}}").stdout)
        assert any("backend vz is not running" in w and "VM vz failed to boot" in w for w in info["Warnings"])
        r = s.docker("run", "--rm", "--platform", "linux/arm64", images.arm64, "true")
        assert r.returncode == 125 and "backend vz is not running" in r.stderr, r.stderr
        r = s.docker("run", "--rm", images.multi, "echo", "hv-still-serves")
        assert r.returncode == 0 and r.stdout == "hv-still-serves\n", r.stderr
        assert s.docker("ps", "-a").returncode == 0
    finally:
        down = s.down()
    assert down.returncode == 0, down.stderr
    leftovers = host_snapshot().leaked_since(before, s)
    assert not leftovers, leftovers


def test_a_second_vm_manager_for_a_running_vm_refuses_to_start(sy, tmp_path):
    # It would boot a second VM, with a second dockerd on the same data root.
    r = subprocess.run([os.path.join(harness.BIN, "switchyard-vmm"), "--backend=hv",
                        "--state_dir=" + os.path.join(sy.state_dir, "vms", "hv"), "--run_dir=" + str(tmp_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "another VM manager runs for" in r.stdout + r.stderr
    assert sy.docker("ps").returncode == 0


def test_down_stops_what_a_killed_supervisor_left_running(registry, images):
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-orphan")
    services = ("gateway", "scheduler", "vmm-hv", "vmm-vz")
    try:
        s.up()
        pids = {name: s.pid(name) for name in services}
        supervisor = s.pid("supervisor")
        os.kill(supervisor, signal.SIGKILL)
        assert harness.wait_for(lambda: not process_running(supervisor))
        # The services, and the VMs they hold, outlive their supervisor.
        assert all(process_running(pid) for pid in pids.values()), pids
        r = s.switchyard("down", check=False)
        assert r.returncode == 0, r.stderr
        for name in services:
            assert "stopped %s (pid %d), left running by a supervisor that died" % (name, pids[name]) in r.stdout, \
                r.stdout
        assert s.switchyard("down", check=False).stdout == "switchyard is not running\n"
    finally:
        down = s.down()
    assert down.returncode == 0, down.stderr
    leftovers = host_snapshot().leaked_since(before, s)
    assert not leftovers, leftovers


def test_an_invalid_config_stops_up_naming_the_key_and_accepted_values(tmp_path):
    bad = tmp_path / "switchyard.json"
    bad.write_text('{"translators": {"vz_enabled": true}, "native_arch": "sparc"}')
    s = ServiceSet(instance="sy-cfg")
    try:
        r = s.switchyard("up", "--config=%s" % bad, check=False, timeout=30)
        assert r.returncode == 2
        assert r.stderr.strip() == ('switchyard: invalid config: %s: native_arch: "sparc" is not accepted; '
                                    'accepted values: "amd64", "arm64", "" (this machine\'s)' % bad)
        assert not os.path.exists(os.path.join(s.run_dir, "supervisor.pid"))  # nothing started
    finally:
        s.down()


def test_the_config_file_sets_each_vms_address_pools(registry, images, tmp_path):
    config = tmp_path / "switchyard.json"
    config.write_text(json.dumps({"backends": {"vz": {"bip": "10.232.0.1/24", "address_pool": "10.233.0.0/16"}},
                                  "translators": {"vz_enabled": True}}))
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-cfg", up_args=["--config=%s" % config])
    try:
        s.up()
        env = dict(os.environ, DOCKER_HOST="unix://" + s.guest_socket("vz"))
        env.pop("DOCKER_CONTEXT", None)
        bridge = json.loads(subprocess.run(["docker", "network", "inspect", "bridge"], capture_output=True,
                                           text=True, env=env, check=True).stdout)
        assert bridge[0]["IPAM"]["Config"][0]["Subnet"] == "10.232.0.0/24"
        r = s.docker("network", "create", "cfg-net")
        assert r.returncode == 0, r.stderr
        r = s.docker("run", "--rm", "--network", "cfg-net", "--platform", "linux/arm64", images.multi,
                     "ip", "-4", "-o", "addr", "show", "eth0")
        assert r.returncode == 0 and " 10.233." in r.stdout, (r.stdout, r.stderr)
    finally:
        s.docker("network", "rm", "cfg-net")
        down = s.down()
    assert down.returncode == 0, down.stderr
    assert not host_snapshot().leaked_since(before, s)
