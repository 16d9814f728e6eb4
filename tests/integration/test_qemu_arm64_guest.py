"""A Mac's VMs, tried on this x86-64 machine: arm64 guests from an arm64
guest image built here from Debian's arm64 packages (the agent
cross-compiled), booted by the qemu driver under TCG. Placement then is the
Mac's: arm64 runs natively in hv, and amd64 goes to vz, whose image
registers Debian's arm64 qemu-x86_64 in place of Rosetta. One scenario
(TCG emulates a whole other CPU): up, an arm64, an amd64 and an arm/v7
container, down leaving nothing."""

import json
import os
import subprocess

import pytest

from harness import ROOT, ServiceSet, backend_of, build_guest_image, host_snapshot, ok, uid

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: QEMU VMs with a real dockerd inside"),
    pytest.mark.skipif(os.uname().machine != "x86_64", reason="an arm64 host boots arm64 guests natively "
                       "(test_qemu_driver); this tries a foreign guest arch"),
]


def arm64_guest_image():
    r = subprocess.run([os.path.join(ROOT, "tools", "build-agent"), "arm64"],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    return build_guest_image(agent=r.stdout.strip(), arch="arm64", timeout=900)


def test_arm64_guests_place_as_on_a_mac(registry, images):
    image = arm64_guest_image()
    with open(os.path.join(image, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["arch"] == "arm64" and manifest["kernel_version"].endswith("-arm64")
    assert manifest["translators"] == ["qemu-x86_64", "qemu-arm"]
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-arm64", vz_start="on-demand",
                   up_args=["--driver=qemu", "--native_arch=arm64", "--guest_image=" + image])
    try:
        s.up()
        line = s.vm_status("hv")
        assert "arch=aarch64" in line and "accelerator=tcg" in line, line
        pid = int(open(os.path.join(s.state_dir, "vms", "hv", "qemu.pid")).read())
        assert open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")[0].endswith(b"qemu-system-aarch64")
        assert ok(s.docker("info", "--format", "{{.Architecture}} {{.KernelVersion}}")).split() == [
            "aarch64", manifest["kernel_version"]]
        # Asleep, vz is known by its image's manifest: amd64 is placed on it
        # (below) and wakes it.
        assert " asleep" in s.vm_status("vz")

        native = uid("native")
        out = ok(s.docker("run", "--name", native, "--platform", "linux/arm64", images.arm64, "uname", "-m",
                          timeout=300))
        assert out.strip() == "aarch64"
        assert backend_of(s, native) == "hv"
        foreign = uid("foreign")
        out = ok(s.docker("run", "--name", foreign, images.amd64, "uname", "-m", timeout=600))
        assert out.strip() == "x86_64"
        assert backend_of(s, foreign) == "vz"
        line = s.vm_status("vz")
        assert "arch=aarch64" in line and "translators=qemu-arm,qemu-x86_64 " in line, line  # its own probe
        # arm/v7 too, as on a Mac (no AArch32 there): vz's qemu-arm.
        v7 = uid("v7")
        out = ok(s.docker("run", "--name", v7, images.armv7, "uname", "-m", timeout=300))
        assert out.strip() == "armv7l"
        assert backend_of(s, v7) == "vz"
        ok(s.docker("rm", native, foreign, v7))
    finally:
        s.down()
    leftovers = host_snapshot().leaked_since(before, s)
    assert not leftovers, leftovers
