"""Real VMs: the whole service set on the qemu driver, each VM a QEMU guest
with its own kernel booted from the project's guest image, its agent reached
over a virtio-serial port. Under TCG here (no usable KVM), so one scenario,
in order: up, an amd64 and an arm64 container, a published port, a bind
mount, the VM manager killed and its VM adopted, down leaving nothing."""

import glob
import json
import os
import signal
import subprocess
import tempfile
import urllib.request

import pytest

from harness import ServiceSet, backend_of, build_guest_image, host_snapshot, ok, uid, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: QEMU VMs with a real dockerd inside")


@pytest.fixture(scope="module")
def guest_image():
    return build_guest_image()


@pytest.fixture(scope="module")
def qs(registry, guest_image):
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-qemu", vz_start="on-demand",
                   up_args=["--driver=qemu", "--guest_image=" + guest_image])
    s.before = before
    try:
        s.up()
        yield s
    finally:
        if os.path.isdir(s.tmp):
            s.down()


def qemu_pid(s, backend):
    with open(os.path.join(s.state_dir, "vms", backend, "qemu.pid")) as f:
        return int(f.read())


def web_answers(s):
    try:
        return urllib.request.urlopen(s.web_url, timeout=5).read() == b"served-from-the-guest\n"
    except OSError:
        return False


def test_up_boots_real_vms_and_says_which_accelerator(qs, guest_image):
    line = qs.vm_status("hv")
    assert " running driver=qemu accelerator=" in line, line
    assert "arch=x86_64" in line
    cmdline = open("/proc/%d/cmdline" % qemu_pid(qs, "hv"), "rb").read().split(b"\0")
    assert cmdline[0].endswith(b"qemu-system-x86_64")
    # Its own kernel: the engine runs on the image's kernel, not the host's.
    with open(os.path.join(guest_image, "manifest.json")) as f:
        kernel = json.load(f)["kernel_version"]
    assert kernel != os.uname().release
    assert ok(qs.docker("info", "--format", "{{.KernelVersion}}")).strip() == kernel
    # vz sleeps until a workload needs it.
    assert " asleep" in qs.vm_status("vz")


def test_amd64_and_arm64_containers_run(qs, images):
    out = ok(qs.docker("run", "--rm", images.amd64, "uname", "-rm", timeout=180))
    assert "x86_64" in out
    assert "-amd64" in out  # Debian's kernel from the guest image
    name = uid("arm")
    out = ok(qs.docker("run", "--name", name, "--platform", "linux/arm64", images.arm64, "uname", "-m", timeout=300))
    assert out.strip() == "aarch64"
    assert backend_of(qs, name) == "vz"
    ok(qs.docker("rm", name))
    assert "translators=qemu-aarch64,qemu-arm " in qs.vm_status("vz")
    # arm/v7 is foreign too: vz's qemu-arm runs it, as in the sandbox.
    out = ok(qs.docker("run", "--rm", images.armv7, "uname", "-m", timeout=300))
    assert out.strip() == "armv7l"


def test_a_published_port_answers(qs, images):
    qs.web = uid("web")
    ok(qs.docker("run", "-d", "--name", qs.web, "-p", "127.0.0.1::8080", images.amd64, "sh", "-c",
                 "mkdir -p /www && echo served-from-the-guest > /www/index.html && httpd -f -p 8080 -h /www",
                 timeout=120))
    port = ok(qs.docker("port", qs.web, "8080")).strip().rsplit(":", 1)[1]
    qs.web_url = "http://127.0.0.1:%s/" % port

    assert wait_for(lambda: web_answers(qs), 60, 0.5)


def test_a_bind_mount_of_a_shared_host_directory_is_visible(qs, images):
    host_dir = tempfile.mkdtemp(prefix="sy-share-", dir="/tmp")
    try:
        with open(os.path.join(host_dir, "from-host"), "w") as f:
            f.write("written on the host\n")
        out = ok(qs.docker("run", "--rm", "-v", "%s:/x" % host_dir, images.amd64, "sh", "-c",
                           "cat /x/from-host && echo written-in-the-guest > /x/from-guest", timeout=120))
        assert out == "written on the host\n"
        with open(os.path.join(host_dir, "from-guest")) as f:
            assert f.read() == "written-in-the-guest\n"
    finally:
        subprocess.run(["rm", "-rf", host_dir])


def test_a_killed_vm_manager_adopts_its_running_vm(qs, images):
    vm_pid = qemu_pid(qs, "hv")
    vmm_pid = qs.pid("vmm-hv")
    os.kill(vmm_pid, signal.SIGKILL)

    def replaced():
        try:
            return qs.pid("vmm-hv") != vmm_pid and " running" in qs.vm_status("hv")
        except (OSError, ValueError, AssertionError):
            return False
    assert wait_for(replaced, 90, 0.5), qs.logs(tail=30)
    assert qemu_pid(qs, "hv") == vm_pid  # the same VM, not a reboot
    with open(os.path.join(qs.state_dir, "logs", "vmm-hv.log")) as f:
        assert "adopted the running qemu VM" in f.read()
    # Its container kept running, and its published port still answers.
    assert ok(qs.docker("inspect", "--format", "{{.State.Running}}", qs.web)).strip() == "true"
    assert wait_for(lambda: web_answers(qs), 60, 0.5)


def test_down_leaves_no_process_socket_or_open_disk(qs):
    disks = glob.glob(os.path.join(qs.state_dir, "vms", "*", "data.img"))
    assert len(disks) == 2
    ok(qs.switchyard("down"))
    assert glob.glob(os.path.join(qs.state_dir, "vms", "*", "*.sock")) == []
    open_disks = []
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in disks:
                open_disks.append(fd)
        except OSError:
            pass
    assert open_disks == []
    leaks = host_snapshot().leaked_since(qs.before, qs)
    assert not leaks, leaks
