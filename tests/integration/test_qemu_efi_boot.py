"""krunkit's boot path, tried on Linux: UEFI firmware (Debian's OVMF) boots
the guest image's EFI disk (systemd-boot, the EFI-stub kernel and the
initramfs on a GPT EFI System Partition), shared read-only by both VMs,
and each VM finds its own settings on the small disk its driver wrote.
Under TCG, so one scenario: up, an amd64 container, down leaving nothing."""

import json
import os

import pytest

from harness import ServiceSet, build_guest_image, host_snapshot, ok

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: QEMU VMs with a real dockerd inside")


def test_the_efi_disk_boots_a_vm_that_reads_its_own_settings(registry, images):
    image = build_guest_image()
    with open(os.path.join(image, "manifest.json")) as f:
        assert json.load(f)["efi_disk"], "the image has no efi.img: systemd-boot-efi, dosfstools or mtools missing"
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-efi", vz_start="on-demand",
                   up_args=["--driver=qemu", "--guest_boot=efi", "--guest_image=" + image])
    try:
        s.up()
        cmdline = open("/proc/%d/cmdline" % int(open(os.path.join(s.state_dir, "vms", "hv", "qemu.pid")).read()),
                       "rb").read().split(b"\0")
        assert b"-bios" in cmdline and b"-kernel" not in cmdline
        out = ok(s.docker("run", "--rm", images.amd64, "sh", "-c", "uname -m; hostname", timeout=180))
        assert out.split()[0] == "x86_64", out
        console = open(os.path.join(s.state_dir, "vms", "hv", "console.log"), errors="replace").read()
        assert "EFI stub" in console, console[-2000:]  # booted by the firmware, not by QEMU's loader
        assert "switchyard-init: settings from /dev/vdc" in console, console[-2000:]
        assert "formatting the data disk" in console  # /dev/vdb, not the EFI disk
    finally:
        s.down()
    leftovers = host_snapshot().leaked_since(before, s)
    assert not leftovers, leftovers
