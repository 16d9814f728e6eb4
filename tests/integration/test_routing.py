"""Issue 3: routing policy, workload groups and the durable registry, driven
with the docker CLI, docker-compose and switchyardctl on a running service
set. This machine's table: native = amd64 (hv), arm64 translated on vz
through qemu-user binfmt."""

import json
import os
import textwrap
import uuid

import pytest

from harness import ServiceSet, http, ok, uid

ARM64 = "linux/arm64"
NATIVE = "linux/amd64"


def labels_of(sy, ref):
    return json.loads(ok(sy.docker("inspect", "--format", "{{json .Config.Labels}}", ref)))


def backend_of(sy, ref):
    return labels_of(sy, ref)["io.switchyard.backend"]


def explain(sy, ref):
    out = ok(sy.ctl("explain", ref))
    return dict(line.split(None, 1) for line in out.strip().splitlines())


@pytest.fixture(scope="module", autouse=True)
def pulled(sy, images):
    ok(sy.docker("pull", images.multi))


def test_platform_native_runs_on_hv(sy, images):
    c = uid("nat")
    ok(sy.docker("run", "-d", "--name", c, "--platform", NATIVE, images.multi, "sleep", "60"))
    assert backend_of(sy, c) == "hv"
    assert labels_of(sy, c)["io.switchyard.platform"] == NATIVE
    e = explain(sy, c)
    assert e["backend"] == "hv" and "is native" in e["rule"]
    ok(sy.docker("rm", "-f", c))


def test_platform_foreign_runs_translated_on_vz(sy, images):
    c = uid("arm")
    out = ok(sy.docker("run", "--name", c, "--platform", ARM64, images.multi, "uname", "-m"))
    assert out.strip() == "aarch64"
    assert backend_of(sy, c) == "vz"
    e = explain(sy, c)
    assert e["backend"] == "vz" and "translated on vz" in e["rule"], e
    ok(sy.docker("rm", c))


def test_no_platform_foreign_only_image_goes_to_vz_via_registry(sy, images):
    # Not in either guest: the registry's manifest says arm64-only. The CLI's
    # pull after the 404 lands in vz too.
    sy.docker("rmi", "-f", images.arm64)
    c = uid("reg")
    out = ok(sy.docker("run", "--name", c, images.arm64, "uname", "-m"))
    assert out.strip() == "aarch64"
    assert backend_of(sy, c) == "vz"
    assert "arm64-only" in explain(sy, c)["rule"]
    ok(sy.docker("rm", c))
    # `images` says where the image lives.
    status, _, body = http(sy.socket, "GET", "/v1.41/images/json")
    rows = [r for r in json.loads(body) if images.arm64 in (r.get("RepoTags") or [])]
    assert rows and rows[0]["Labels"]["io.switchyard.backends"] == "vz"


def test_no_platform_native_variant_goes_to_hv(sy, images):
    c = uid("multi")
    ok(sy.docker("run", "--name", c, images.multi, "true"))
    assert backend_of(sy, c) == "hv"
    assert "native variant" in explain(sy, c)["rule"]
    ok(sy.docker("rm", c))


def test_pull_with_platform_lands_in_vz(sy, images):
    ok(sy.docker("pull", "--platform", ARM64, images.amd64.replace("busybox-amd64", "busybox")))
    status, _, body = http(sy.socket, "GET", "/v1.41/images/json")
    assert status == 200
    homes = {tag: r["Labels"]["io.switchyard.backends"]
             for r in json.loads(body) for tag in (r.get("RepoTags") or [])}
    assert "vz" in homes[images.multi].split(",")


def test_unknown_platform_is_a_clear_error(sy, images):
    r = sy.docker("run", "--rm", "--platform", "linux/sparc64", images.multi, "true")
    assert r.returncode != 0
    assert "sparc64" in r.stderr
    r = sy.docker("run", "--rm", "--platform", "bogus//x", images.multi, "true")
    assert r.returncode != 0 and "bogus//x" in r.stderr


def test_shared_namespaces_join_the_group_on_its_backend(sy, images):
    x = uid("x")
    ok(sy.docker("run", "-d", "--name", x, "--platform", ARM64, images.multi, "sleep", "60"))
    y = uid("y")
    ok(sy.docker("run", "-d", "--name", y, "--network", "container:" + x, images.multi, "sleep", "60"))
    assert backend_of(sy, y) == "vz"
    assert labels_of(sy, y)["io.switchyard.group"] == labels_of(sy, x)["io.switchyard.group"]
    z = uid("z")
    ok(sy.docker("run", "-d", "--name", z, "--volumes-from", x, images.multi, "sleep", "60"))
    assert backend_of(sy, z) == "vz"
    ok(sy.docker("rm", "-f", x, y, z))


def test_pod_members_share_a_backend_and_a_misfit_gets_a_clear_error(sy, images):
    pod = uuid.uuid4().hex
    a = uid("poda")
    ok(sy.docker("run", "-d", "--name", a, "--label", "io.kubernetes.pod.uid=" + pod, images.multi, "sleep", "60"))
    assert backend_of(sy, a) == "hv"
    b = uid("podb")
    r = sy.docker("run", "-d", "--name", b, "--label", "io.kubernetes.pod.uid=" + pod, "--platform", ARM64,
                  images.multi, "sleep", "60")
    assert r.returncode == 125
    for words in ("pod:" + pod, "backend hv", "switchyardctl group pin"):
        assert words in r.stderr, r.stderr
    assert sy.docker("inspect", b).returncode != 0  # not left half-created
    ok(sy.docker("rm", "-f", a))


def test_pod_with_a_translated_member_goes_to_vz(sy, images):
    pod = uuid.uuid4().hex
    a = uid("poda")
    ok(sy.docker("run", "-d", "--name", a, "--label", "io.kubernetes.pod.uid=" + pod, "--platform", ARM64,
                 images.multi, "sleep", "60"))
    b = uid("podb")
    ok(sy.docker("run", "-d", "--name", b, "--label", "io.kubernetes.pod.uid=" + pod, images.multi, "sleep", "60"))
    assert backend_of(sy, a) == backend_of(sy, b) == "vz"
    ok(sy.docker("rm", "-f", a, b))


def test_group_pin_places_the_group_ahead_of_time(sy, images):
    pod = uuid.uuid4().hex
    ok(sy.ctl("group", "pin", "pod:" + pod, "vz"))
    a = uid("pinned")
    ok(sy.docker("run", "-d", "--name", a, "--label", "io.kubernetes.pod.uid=" + pod, images.multi, "sleep", "60"))
    assert backend_of(sy, a) == "vz"
    assert "pinned" in explain(sy, a)["rule"]
    r = sy.ctl("group", "pin", "pod:" + pod, "hv")
    assert r.returncode != 0 and "member(s) on backend vz" in r.stderr
    assert sy.ctl("group", "pin", "pod:" + pod, "nowhere").returncode != 0
    assert "pod:" + pod in ok(sy.ctl("group", "ls"))
    ok(sy.docker("rm", "-f", a))


def test_conflicting_group_labels_are_refused(sy, images):
    r = sy.docker("run", "--rm", "--label", "com.docker.compose.project=p1",
                  "--label", "io.kubernetes.pod.uid=u1", images.multi, "true")
    assert r.returncode == 125 and "two groups" in r.stderr


def compose_project(tmp_path, services):
    d = tmp_path / uid("proj")
    d.mkdir()
    (d / "docker-compose.yml").write_text(textwrap.dedent(services))
    return str(d)


def test_compose_project_with_a_foreign_only_service_runs_wholly_on_vz(sy, images, tmp_path):
    d = compose_project(tmp_path, """
        version: "3"
        services:
          aweb:
            image: %s
            command: sh -c 'echo web up; sleep 300'
          worker:
            image: %s
            command: sh -c 'echo worker on $$(uname -m); sleep 300'
        """ % (images.multi, images.arm64))
    project = os.path.basename(d)
    try:
        ok(sy.compose(d, "up", "-d"))
        ps = ok(sy.compose(d, "ps"))
        assert "Up" in ps
        for svc in ("aweb", "worker"):
            cid = ok(sy.compose(d, "ps", "-q", svc)).strip()
            assert backend_of(sy, cid) == "vz", svc
            assert labels_of(sy, cid)["io.switchyard.group"] == "compose:" + project
        assert "worker on aarch64" in ok(sy.compose(d, "logs", "worker"))
        assert ok(sy.compose(d, "exec", "-T", "aweb", "echo", "exec ok")).strip() == "exec ok"
    finally:
        ok(sy.compose(d, "down"))
    assert ok(sy.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=" + project)).strip() == ""


def test_compose_project_with_native_variants_runs_on_hv(sy, images, tmp_path):
    d = compose_project(tmp_path, """
        version: "3"
        services:
          one:
            image: %s
            command: sleep 300
        """ % images.multi)
    try:
        ok(sy.compose(d, "up", "-d"))
        cid = ok(sy.compose(d, "ps", "-q", "one")).strip()
        assert backend_of(sy, cid) == "hv"
    finally:
        ok(sy.compose(d, "down"))


def test_malformed_compose_file_is_a_clear_error(sy, images, tmp_path):
    # docker-compose validates its own file; a file changed under a running
    # project (read by the scheduler at the first member) is ours to refuse.
    d = compose_project(tmp_path, "services: [\n")
    project = os.path.basename(d)
    body = json.dumps({"Image": images.multi, "Labels": {
        "com.docker.compose.project": project,
        "com.docker.compose.project.config_files": os.path.join(d, "docker-compose.yml"),
        "com.docker.compose.project.working_dir": d}})
    status, _, reply = http(sy.socket, "POST", "/v1.41/containers/create", body.encode())
    assert status == 400, reply
    assert "docker-compose.yml" in json.loads(reply)["message"]


def test_registry_survives_a_scheduler_restart_and_adopts_containers_made_behind_its_back(sy, images):
    import signal
    import subprocess
    c = uid("keep")
    ok(sy.docker("run", "-d", "--name", c, "--platform", ARM64, images.multi, "sleep", "120"))
    before = explain(sy, c)
    # Behind the scheduler's back, straight into the hv guest.
    stray = uid("stray")
    env = dict(os.environ, DOCKER_HOST="unix://" + sy.guest_socket("hv"))
    ok(subprocess.run(["docker", "run", "-d", "--name", stray, images.multi, "sleep", "120"],
                      capture_output=True, text=True, env=env))
    os.kill(sy.pid("scheduler"), signal.SIGKILL)
    from harness import wait_for
    assert wait_for(lambda: sy.docker("ps").returncode == 0, timeout=30)
    assert explain(sy, c) == before
    e = explain(sy, stray)
    assert e["backend"] == "hv" and "adopted" in e["rule"]
    ok(sy.docker("rm", "-f", c, stray))


@pytest.fixture(scope="module")
def no_translation(registry):
    s = ServiceSet(registry_port=registry.port, instance="sy-nt", up_args=["--translators_vz_enabled=false"])
    try:
        s.up()
        yield s
    finally:
        s.down()


def test_foreign_platform_without_translator_names_platform_backends_and_setting(no_translation, images):
    r = no_translation.docker("run", "--rm", "--platform", ARM64, images.multi, "true")
    assert r.returncode == 125
    for words in ("linux/arm64", "backend vz", "backend hv", "translators.vz.enabled"):
        assert words in r.stderr, r.stderr


def test_info_shows_each_backend_with_arch_translators_and_counts(sy):
    info = json.loads(ok(sy.docker("info", "--format", "{{json .}}")))
    by_backend = {l.split("=", 1)[0]: l for l in info["Labels"] if l.startswith("io.switchyard.backend.")}
    vz = by_backend["io.switchyard.backend.vz"]
    assert "running" in vz and "arch=" in vz and "containers=" in vz
    assert "qemu-aarch64" in vz  # the translator vz runs arm64 with
    assert "translators=" in by_backend["io.switchyard.backend.hv"]


def test_load_reads_the_archive_arch_and_loads_where_it_will_run(sy, images, tmp_path):
    ok(sy.docker("pull", "--platform", ARM64, images.arm64))
    tar = str(tmp_path / "arm64.tar")
    ok(sy.docker("save", "-o", tar, images.arm64))
    ok(sy.docker("rmi", images.arm64))
    assert "Loaded image" in ok(sy.docker("load", "-i", tar))
    status, _, body = http(sy.socket, "GET", "/v1.41/images/json")
    homes = {tag: r["Labels"]["io.switchyard.backends"]
             for r in json.loads(body) for tag in (r.get("RepoTags") or [])}
    assert homes[images.arm64] == "vz"
    # A garbage archive gets dockerd's own error, not a crash.
    r = sy.docker("load", input="not a tar")
    assert r.returncode != 0


def test_reflection_alone_lists_and_calls_every_scheduler_rpc(sy, images):
    """grpcurl-style: descriptors from the server's reflection, no generated code."""
    import base64
    import time
    from grpc_probe import call, reflect_service
    ok(sy.docker("pull", "--platform", ARM64, images.multi))
    sock = os.path.join(sy.run_dir, "scheduler.sock")
    pool, service = reflect_service(sock, "switchyard.scheduler.v1.Scheduler")
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    unb64 = lambda s: base64.b64decode(s).decode()
    name, pod = uid("reflected"), uuid.uuid4().hex
    body = json.dumps({"Image": images.multi, "Cmd": ["sleep", "60"]})
    now = int(time.time())
    results = {}
    # In an order where each call can use what the one before made.
    order = ["GetVersion", "GetSystemInfo", "GetStatus", "CreateContainer", "ListContainers", "ListImages",
             "ExplainContainer", "ExplainBuilds", "Forward", "StreamEvents", "PinGroup", "ListGroups"]
    assert sorted(order) == sorted(m.name for m in service.methods), "a scheduler RPC has no call here"
    requests = {
        "GetVersion": {"apiVersion": "1.41"},
        "GetSystemInfo": {"apiVersion": "1.41"},
        "GetStatus": {},
        "CreateContainer": {"apiVersion": "1.41", "name": name, "platform": ARM64, "body": b64(body)},
        "ListContainers": {"apiVersion": "1.41", "query": "all=1"},
        "ListImages": {"apiVersion": "1.41"},
        "ExplainContainer": {"container": name},
        "ExplainBuilds": {},
        "Forward": [{"request": {"method": "GET", "target": "/v1.41/containers/%s/json" % name}}],
        "StreamEvents": {"apiVersion": "1.41", "query": "since=%d&until=%d" % (now - 600, now + 1)},
        "PinGroup": {"group": "pod:" + pod, "backend": "vz"},
        "ListGroups": {},
    }
    try:
        for m in order:
            results[m] = call(sock, pool, service.methods_by_name[m], requests[m])
        assert results["GetVersion"]["status"] == 200
        assert json.loads(unb64(results["GetVersion"]["body"]))["ApiVersion"] == "1.41"
        assert "io.switchyard" in unb64(results["GetSystemInfo"]["body"])
        assert sorted(b["backend"] for b in results["GetStatus"]["backends"]) == ["hv", "vz"]
        assert results["CreateContainer"]["status"] == 201
        created = json.loads(unb64(results["CreateContainer"]["body"]))["Id"]
        assert created in unb64(results["ListContainers"]["body"])
        assert images.multi in unb64(results["ListImages"]["body"])
        assert results["ExplainContainer"]["backend"] == "vz" and results["ExplainContainer"]["id"] == created
        assert all(b["backend"] in ("hv", "vz") and b["rule"] for b in results["ExplainBuilds"].get("builds", []))
        head = results["Forward"][0]["response"]
        assert head["status"] == 200
        assert created in "".join(unb64(f["data"]) for f in results["Forward"][1:] if "data" in f)
        assert results["StreamEvents"][0]["response"]["status"] == 200
        events = "".join(unb64(f["data"]) for f in results["StreamEvents"][1:] if "data" in f)
        assert created in events  # its create event, from vz, in the merged stream
        assert results["PinGroup"]["group"]["backend"] == "vz"
        assert any(g["id"] == "pod:" + pod for g in results["ListGroups"]["groups"])
    finally:
        sy.docker("rm", "-f", name)


def test_the_registry_records_image_placements_with_their_rule(sy, images):
    import sqlite3
    from harness import wait_for
    ok(sy.docker("pull", "--platform", ARM64, images.multi))
    # The vz copy is the arm64 variant: its own id, which other tags (sy/busybox-arm64) may share.

    def recorded():
        # Read-only, beside the scheduler's own connection (WAL).
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(sy.state_dir, "scheduler.db"), uri=True)
        try:
            return db.execute("SELECT backend, reference, rule FROM images").fetchall()
        finally:
            db.close()
    # Image placements are read from the guests at reconcile (every 10 s).
    assert wait_for(lambda: any(r[0] == "vz" and r[2].startswith("pulled: --platform linux/arm64") for r in recorded()),
                    timeout=30), recorded()
