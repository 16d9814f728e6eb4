"""Translators are proven at boot, not assumed: each VM's agent runs a tiny
busybox of each foreign arch through binfmt, and only the ones that ran are
reported and routed to."""

import json
import os

from harness import ServiceSet, host_snapshot, ok

INSTALLED_PROBES = "/usr/local/lib/switchyard/probes"


def backend_labels(s):
    labels = json.loads(ok(s.docker("info", "--format", "{{json .Labels}}")))
    return {l.split("=", 1)[0]: l.split("=", 1)[1] for l in labels if l.startswith("io.switchyard.backend.")}


def test_info_shows_each_vm_s_proven_translators_only(sy):
    """Not the host's whole binfmt list (qemu-sparc, qemu-riscv64 … are
    registered here): the arm64 translator, with its probe's time."""
    vz = backend_labels(sy)["io.switchyard.backend.vz"]
    assert "arch=x86_64" in vz
    translators = vz.split("translators=", 1)[1].split(" ")[0]
    assert translators.startswith("qemu-aarch64(arm64,") and translators.endswith("ms)"), vz
    assert "sparc" not in vz and "riscv64" not in vz and "mips" not in vz, vz


def test_a_translator_that_fails_its_probe_is_refused_naming_what_failed(registry, images, tmp_path):
    # A broken arm64 probe: the translator is registered and enabled, but
    # what it should run does not run. (Disabling the host's handler would
    # break arm64 for everything else on the machine.)
    probes = tmp_path / "probes"
    probes.mkdir()
    with open(os.path.join(INSTALLED_PROBES, "busybox-arm64"), "rb") as f:
        (probes / "busybox-arm64").write_bytes(f.read()[:4096])
    os.chmod(probes / "busybox-arm64", 0o755)
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-tr", up_args=["--probe_dir=%s" % probes])
    try:
        s.up()
        r = s.docker("run", "--rm", "--platform", "linux/arm64", images.arm64, "true")
        assert r.returncode != 0
        for words in ("linux/arm64", "backend vz is broken (qemu-aarch64: probe busybox-arm64 ",
                      "backend hv"):
            assert words in r.stderr, r.stderr
        assert "qemu-aarch64" not in backend_labels(s)["io.switchyard.backend.vz"].split("translators=")[1]
    finally:
        s.down()
    assert not host_snapshot().leaked_since(before, s)
