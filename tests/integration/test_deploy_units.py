"""Issue 5, the service set as systemd and launchd run it. Each systemd
unit's commands are run the way systemd runs them (in the units' After=
order, ExecStartPost as the readiness gate, SIGTERM in reverse order to
stop); the launchd plists' commands are run the way launchd runs them (all at
once, no ordering). The only changes are the binary's path and private
run/state directories, given as flags. Real clients then work through the
set, and the stop leaves nothing behind."""

import configparser
import os
import plistlib
import shlex
import signal
import subprocess
import time

import pytest

from harness import BIN, ROOT, ServiceSet, host_snapshot, wait_for

SYSTEMD = os.path.join(ROOT, "deploy", "systemd")
LAUNCHD = os.path.join(ROOT, "deploy", "launchd")
INSTALLED = "/usr/local/bin/switchyard"
SERVICES = ["vmm-hv", "vmm-vz", "scheduler", "gateway"]


def read_unit(name):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(os.path.join(SYSTEMD, name))
    return parser


def systemd_units():
    """service name -> (unit file, instance or None), for the units the target wants."""
    target = read_unit("switchyard.target")
    units = {}
    for wanted in target["Unit"]["Wants"].split():
        stem = wanted[: -len(".service")]
        if "@" in stem:
            template, instance = stem.split("@")
            units["vmm-" + instance] = (template + "@.service", instance)
        else:
            units[stem[len("switchyard-"):]] = (wanted, None)
    return units


def start_order(units):
    """A topological order of the units by their After= lines."""
    after = {}
    for service, (unit_file, instance) in units.items():
        deps = read_unit(unit_file)["Unit"].get("After", "").split()
        after[service] = set()
        for dep in deps:
            for other, (other_file, other_instance) in units.items():
                name = other_file.replace("@.", "@%s." % other_instance) if other_instance else other_file
                if name == dep:
                    after[service].add(other)
    order = []
    while len(order) < len(units):
        ready = sorted(s for s in units if s not in order and after[s] <= set(order))
        assert ready, "the units' After= lines form a cycle: %s" % after
        order.extend(ready)
    return order


class Manager:
    """Starts commands as a service manager would and stops them all, even on failure."""

    def __init__(self, sy, registry_port):
        self.sy = sy
        self.flags = ["--run_dir=" + sy.run_dir, "--state_dir=" + sy.state_dir, "--instance=" + sy.instance,
                      "--loopback_forward=%d" % registry_port]
        self.procs = {}
        os.makedirs(os.path.join(sy.state_dir, "logs"), exist_ok=True)

    def localize(self, text):
        return text.replace(INSTALLED, os.path.join(BIN, "switchyard")).replace("/run/switchyard", self.sy.run_dir)

    def start(self, service, argv):
        argv = [self.localize(a) for a in argv] + self.flags
        log = open(os.path.join(self.sy.state_dir, "logs", "unit-%s.log" % service), "ab")
        self.procs[service] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def stop(self, service, timeout):
        p = self.procs.pop(service)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return "killed after %d s" % timeout

    def stop_all(self):
        for service in reversed(SERVICES):
            if service in self.procs:
                self.stop(service, 60)


def test_every_service_restarts_on_failure_and_logs_to_a_file():
    units = systemd_units()
    assert sorted(units) == sorted(SERVICES)
    for service, (unit_file, instance) in units.items():
        svc = read_unit(unit_file)["Service"]
        assert svc["Restart"] == "on-failure", unit_file
        assert svc["StandardOutput"].startswith("append:/var/log/switchyard/"), unit_file
        argv = shlex.split(svc["ExecStart"].replace("%i", instance or ""))
        assert argv == [INSTALLED, "run", service], unit_file
    for service in SERVICES:
        with open(os.path.join(LAUNCHD, "dev.switchyard.%s.plist" % service), "rb") as f:
            plist = plistlib.load(f)
        assert plist["Label"] == "dev.switchyard." + service
        assert plist["ProgramArguments"] == [INSTALLED, "run", service]
        assert plist["KeepAlive"] == {"SuccessfulExit": False}  # restart on failure, not after a clean stop
        assert plist["StandardOutPath"].endswith("/%s.log" % service)


def run_set_and_use_it(registry, images, starter):
    before = host_snapshot()
    sy = ServiceSet(registry_port=registry.port, instance="sy-units")
    manager = Manager(sy, registry.port)
    try:
        stops = starter(manager)
        for arch in ("amd64", "arm64"):
            r = sy.docker("run", "--rm", "--platform", "linux/" + arch, images.multi, "uname", "-m", timeout=180)
            assert r.returncode == 0, (arch, r.stderr, sy.logs(tail=30))
        # Stopped as systemd stops a target: the reverse of the start order.
        for service, timeout in stops:
            code = manager.stop(service, timeout)
            assert code == 0, (service, code, sy.logs(tail=30))
    finally:
        manager.stop_all()
        sy.down()
    assert wait_for(lambda: not host_snapshot().leaked_since(before, sy), timeout=30), \
        host_snapshot().leaked_since(before, sy)


def test_the_systemd_units_start_in_order_gate_on_their_sockets_and_stop_cleanly(registry, images):
    units = systemd_units()
    order = start_order(units)
    assert order.index("scheduler") > max(order.index("vmm-hv"), order.index("vmm-vz"))
    assert order.index("gateway") > order.index("scheduler")

    def starter(manager):
        stops = []
        for service in order:
            unit_file, instance = units[service]
            svc = read_unit(unit_file)["Service"]
            expand = lambda s: s.replace("%i", instance or "")
            manager.start(service, shlex.split(expand(svc["ExecStart"])))
            # systemd starts the next unit only once ExecStartPost succeeded.
            post = manager.localize(expand(svc["ExecStartPost"]))
            r = subprocess.run(shlex.split(post), capture_output=True, text=True, timeout=90)
            assert r.returncode == 0, (service, post, manager.sy.logs(tail=30))
            stops.insert(0, (service, int(svc.get("TimeoutStopSec", "90"))))
        return stops

    run_set_and_use_it(registry, images, starter)


def test_the_launchd_jobs_start_all_at_once_and_wait_for_their_peers(registry, images):
    def starter(manager):
        # launchd has no ordering: start the gateway first, the VMs last.
        for service in reversed(SERVICES):
            with open(os.path.join(LAUNCHD, "dev.switchyard.%s.plist" % service), "rb") as f:
                manager.start(service, plistlib.load(f)["ProgramArguments"])
        assert wait_for(lambda: os.path.exists(manager.sy.socket), timeout=120), manager.sy.logs(tail=30)
        assert wait_for(lambda: manager.sy.docker("info").returncode == 0, timeout=60), manager.sy.logs(tail=30)
        return [(s, 60) for s in reversed(SERVICES)]

    run_set_and_use_it(registry, images, starter)
