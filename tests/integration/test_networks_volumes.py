"""Issues 3 and 4: user-defined networks and named volumes across both VMs.
One is made in every VM until its first container settles it in that
container's VM; later users follow it there. Lists merge both VMs; each
VM's dockerd has its own address pools, so subnets never overlap."""

import ipaddress
import json
import os
import subprocess

import pytest

from harness import backend_of, ok, uid

ARM64 = "linux/arm64"  # translated: runs on vz
NATIVE = "linux/amd64"  # runs on hv


def guest(sy, backend, *args):
    env = dict(os.environ, DOCKER_HOST="unix://" + sy.guest_socket(backend))
    env.pop("DOCKER_CONTEXT", None)
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=60)


def names(sy, *args):
    return ok(sy.docker(*args, "--format", "{{.Name}}")).split()


@pytest.fixture(scope="module", autouse=True)
def pulled(sy, images):
    ok(sy.docker("pull", "--platform", NATIVE, images.multi))
    ok(sy.docker("pull", "--platform", ARM64, images.multi))


def test_a_network_settles_with_its_first_container_and_its_members_resolve_each_other(sy, images):
    net, a, b = uid("net"), uid("first"), uid("second")
    created_id = ok(sy.docker("network", "create", net)).strip()
    try:
        assert names(sy, "network", "ls", "--filter", "name=" + net).count(net) == 1
        ok(sy.docker("run", "-d", "--name", a, "--network", net, "--platform", ARM64, images.multi, "sleep", "300"))
        assert backend_of(sy, a) == "vz"
        # Settled in vz: the unused copy in hv is gone.
        assert guest(sy, "hv", "network", "inspect", net).returncode != 0
        assert guest(sy, "vz", "network", "inspect", net).returncode == 0
        # The image alone would go to hv; the network takes it to vz.
        ok(sy.docker("run", "-d", "--name", b, "--network", net, images.multi, "sleep", "300"))
        assert backend_of(sy, b) == "vz"
        ok(sy.docker("exec", b, "ping", "-c", "1", "-W", "5", a))
        members = json.loads(ok(sy.docker("network", "inspect", "--format", "{{json .Containers}}", net)))
        assert len(members) == 2
        # The id create answered still names the network.
        assert ok(sy.docker("network", "inspect", "--format", "{{.Name}}", created_id)).strip() == net
    finally:
        sy.docker("rm", "-f", a, b)
    ok(sy.docker("network", "rm", created_id))
    assert net not in names(sy, "network", "ls")


def test_subnets_never_overlap_across_vms_and_an_overlapping_subnet_gets_dockerds_error(sy, images, plain):
    n1, n2, on_hv, on_vz = uid("auto-hv"), uid("auto-vz"), uid("on-hv"), uid("on-vz")
    fixed, clash = uid("fixed"), uid("clash")
    ok(sy.docker("network", "create", n1))
    ok(sy.docker("network", "create", n2))
    try:
        ok(sy.docker("run", "-d", "--name", on_hv, "--network", n1, "--platform", NATIVE, images.multi, "sleep", "300"))
        ok(sy.docker("run", "-d", "--name", on_vz, "--network", n2, "--platform", ARM64, images.multi, "sleep", "300"))
        assert backend_of(sy, on_hv) == "hv" and backend_of(sy, on_vz) == "vz"
        subnets = []
        for backend in ("hv", "vz"):
            for n in json.loads(ok(guest(sy, backend, "network", "inspect",
                                         *ok(guest(sy, backend, "network", "ls", "-q")).split()))):
                for cfg in (n.get("IPAM") or {}).get("Config") or []:
                    if cfg.get("Subnet"):
                        subnets.append((backend, n["Name"], ipaddress.ip_network(cfg["Subnet"])))
        for i, (b1, name1, s1) in enumerate(subnets):
            for b2, name2, s2 in subnets[i + 1:]:
                if b1 != b2:
                    assert not s1.overlaps(s2), (name1, s1, name2, s2)

        ok(sy.docker("network", "create", "--subnet", "10.199.0.0/24", fixed))
        r = sy.docker("network", "create", "--subnet", "10.199.0.128/25", clash)
        assert r.returncode != 0
        plain.docker("network", "create", "--subnet", "10.199.0.0/24", fixed)
        reference = plain.docker("network", "create", "--subnet", "10.199.0.128/25", clash, check=False)
        assert reference.returncode != 0
        assert r.stderr.strip() == reference.stderr.strip()
        assert clash not in names(sy, "network", "ls")
    finally:
        sy.docker("rm", "-f", on_hv, on_vz)
        sy.docker("network", "rm", n1, n2, fixed, clash)
        plain.docker("network", "rm", fixed, check=False)


def test_connect_disconnect_and_prune_work_across_vms(sy, images):
    net, c = uid("join"), uid("joiner")
    ok(sy.docker("network", "create", net))
    ok(sy.docker("run", "-d", "--name", c, "--platform", NATIVE, images.multi, "sleep", "300"))
    try:
        ok(sy.docker("network", "connect", net, c))
        assert guest(sy, "vz", "network", "inspect", net).returncode != 0  # settled in hv with c
        assert net in ok(sy.docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", c))
        ok(sy.docker("network", "disconnect", net, c))
        assert net not in ok(sy.docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", c))
    finally:
        sy.docker("rm", "-f", c)
    out = ok(sy.docker("network", "prune", "-f"))
    assert net in out
    assert net not in names(sy, "network", "ls")


def test_a_named_volume_lives_in_its_groups_vm_and_volume_commands_merge(sy, images):
    vol, writer, reader = uid("vol"), uid("writer"), uid("reader")
    ok(sy.docker("volume", "create", vol))
    try:
        assert ok(sy.docker("volume", "ls", "-q")).split().count(vol) == 1
        ok(sy.docker("run", "--name", writer, "--platform", ARM64, "-v", vol + ":/data", images.multi,
                     "sh", "-c", "echo kept > /data/file"))
        assert backend_of(sy, writer) == "vz"
        assert guest(sy, "hv", "volume", "inspect", vol).returncode != 0
        out = ok(sy.docker("run", "--name", reader, "--mount", "type=volume,source=%s,target=/data" % vol,
                           images.multi, "cat", "/data/file"))
        assert out.strip() == "kept" and backend_of(sy, reader) == "vz"
        assert ok(sy.docker("volume", "inspect", "--format", "{{.Name}}", vol)).strip() == vol
        r = sy.docker("volume", "rm", vol)
        assert r.returncode != 0 and "volume is in use" in r.stderr
    finally:
        sy.docker("rm", "-f", writer, reader)
    ok(sy.docker("volume", "rm", vol))
    assert vol not in ok(sy.docker("volume", "ls", "-q")).split()
    spare = uid("spare")
    ok(sy.docker("volume", "create", spare))
    assert spare in ok(sy.docker("volume", "prune", "-f"))
    assert spare not in ok(sy.docker("volume", "ls", "-q")).split()


def test_bind_mounts_of_host_paths_work_in_both_vms(sy, images, tmp_path):
    (tmp_path / "greeting").write_text("from the host\n")
    for platform in (NATIVE, ARM64):
        out = ok(sy.docker("run", "--rm", "--platform", platform, "-v", "%s:/mnt:ro" % tmp_path, images.multi,
                           "cat", "/mnt/greeting"))
        assert out == "from the host\n"
