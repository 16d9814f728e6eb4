"""Issue 13: every endpoint routed on purpose. Calls that name an object in
either VM, and answers that cover both VMs (prune, df), with the docker CLI;
the plain dockerd is the reference where one engine would answer alike."""

import json
import os
import subprocess

from harness import DOCKER, backend_of, ok, uid

import pytest

ARM64 = "linux/arm64"


@pytest.fixture(scope="module", autouse=True)
def pulled(sy, images):
    ok(sy.docker("pull", images.multi))
    ok(sy.docker("pull", "--platform", ARM64, images.arm64))


def test_commit_of_a_container_in_either_vm(sy, images):
    for platform, image, backend in (("linux/amd64", images.multi, "hv"), (ARM64, images.arm64, "vz")):
        c, repo = uid("commit"), uid("snap")
        ok(sy.docker("run", "-d", "--name", c, "--platform", platform, image, "sh", "-c",
                     "echo %s > /marker; sleep 300" % backend))
        assert backend_of(sy, c) == backend
        image_id = ok(sy.docker("commit", c, repo + ":1")).strip()
        assert image_id.startswith("sha256:")
        # The image landed where its container runs, and runs from there.
        out = ok(sy.docker("run", "--rm", "--platform", platform, repo + ":1", "cat", "/marker"))
        assert out.strip() == backend
        ok(sy.docker("rm", "-f", c))
        ok(sy.docker("rmi", repo + ":1"))


def test_prune_and_df_cover_both_vms(sy, images):
    hv_c, vz_c = uid("prune-hv"), uid("prune-vz")
    ok(sy.docker("create", "--name", hv_c, images.multi, "true"))
    ok(sy.docker("create", "--name", vz_c, "--platform", ARM64, images.arm64, "true"))
    assert backend_of(sy, hv_c) == "hv" and backend_of(sy, vz_c) == "vz"
    ids = {ok(sy.docker("inspect", "-f", "{{.Id}}", c)).strip() for c in (hv_c, vz_c)}

    df = ok(sy.docker("system", "df", "-v", "--format", "{{json .}}"))
    names = {n for row in json.loads(df)["Containers"] for n in row["Names"].split(",")}
    assert {hv_c, vz_c} <= names

    out = ok(sy.docker("container", "prune", "-f"))
    assert ids <= set(out.split()), out
    assert "Total reclaimed space" in out
    left = ok(sy.docker("ps", "-a", "--format", "{{.Names}}")).split()
    assert hv_c not in left and vz_c not in left


def test_image_prune_reaches_both_vms(sy, images):
    # A dangling image in each VM: a commit whose tag is then taken by another.
    made = []
    for platform, image in (("linux/amd64", images.multi), (ARM64, images.arm64)):
        c, repo = uid("dangle"), uid("dangle")
        ok(sy.docker("create", "--name", c, "--platform", platform, image, "true"))
        made.append(ok(sy.docker("commit", "--change", "LABEL v=1", c, repo + ":x")).strip())
        ok(sy.docker("commit", "--change", "LABEL v=2", c, repo + ":x"))
        ok(sy.docker("rm", c))
    out = ok(sy.docker("image", "prune", "-f"))
    for image_id in made:
        assert image_id in out, out
        assert sy.docker("image", "inspect", image_id).returncode != 0


def test_link_removal_as_plain_dockerd(sy, plain, images):
    for engine in (sy, plain):
        db, web = uid("db"), uid("web")
        image = images.multi
        if engine is plain:
            ok(engine.docker("pull", image))
        ok(engine.docker("run", "-d", "--name", db, image, "sleep", "300"))
        ok(engine.docker("run", "-d", "--name", web, "--link", db + ":db", image, "sleep", "300"))
        out = ok(engine.docker("rm", "--link", "%s/db" % web))
        assert out.strip() == "%s/db" % web
        links = json.loads(ok(engine.docker("inspect", "-f", "{{json .HostConfig.Links}}", web)))
        assert links is None or links == []
        ok(engine.docker("rm", "-f", db, web))


def test_swarm_calls_go_to_the_native_vm(sy, plain):
    # Not a swarm member: dockerd's own 503, from one engine.
    for engine in (sy, plain):
        r = engine.docker("node", "ls", check=False)
        assert r.returncode != 0
        assert "This node is not a swarm manager" in r.stderr


def test_volumes_from_two_containers_of_one_backend_join_them_in_one_group(sy, images):
    a, b, c = uid("vfa"), uid("vfb"), uid("vfc")
    ok(sy.docker("run", "-d", "--name", a, "-v", "/a", images.multi, "sleep", "300"))
    ok(sy.docker("run", "-d", "--name", b, "-v", "/b", images.multi, "sleep", "300"))
    out = ok(sy.docker("run", "--name", c, "--volumes-from", a, "--volumes-from", b + ":ro", images.multi,
                       "sh", "-c", "test -d /a && test -d /b && echo both"))
    assert out.strip() == "both"
    groups = {dict(line.split(None, 1) for line in ok(sy.ctl("explain", n)).strip().splitlines())["group"]
              for n in (a, b, c)}
    assert len(groups) == 1, groups
    ok(sy.docker("rm", "-f", a, b, c))


def test_volumes_from_containers_on_two_backends_is_a_clear_error(sy, images):
    a, b = uid("vfx"), uid("vfy")
    ok(sy.docker("run", "-d", "--name", a, images.multi, "sleep", "300"))
    ok(sy.docker("run", "-d", "--name", b, "--platform", ARM64, images.arm64, "sleep", "300"))
    r = sy.docker("create", "--volumes-from", a, "--volumes-from", b, images.multi, "true")
    assert r.returncode != 0
    assert "on backend hv" in r.stderr and "on backend vz" in r.stderr, r.stderr
    ok(sy.docker("rm", "-f", a, b))


def test_volume_create_and_inspect_agree(sy):
    from harness import http
    n = uid("vol")
    status, _, created = http(sy.socket, "POST", "/v1.41/volumes/create", json.dumps({"Name": n}).encode())
    assert status == 201
    status, _, inspected = http(sy.socket, "GET", "/v1.41/volumes/" + n)
    assert status == 200
    assert json.loads(inspected)["Mountpoint"] == json.loads(created)["Mountpoint"]
    ok(sy.docker("volume", "rm", n))


def test_compose_v2_project_with_a_local_amd64_image_and_an_arm64_service_runs_on_vz(sy, images, tmp_path):
    """Compose v2 sees the local image in the merged list and does not pull;
    the project goes to vz for its arm64 service; the image follows it."""
    project = uid("mixed")
    local = "local/%s:1" % uid("app")
    # Built locally in hv: a commit, so no other VM can hold it already.
    src = uid("appsrc")
    ok(sy.docker("create", "--name", src, "--platform", "linux/amd64", images.amd64, "true"))
    assert backend_of(sy, src) == "hv"
    ok(sy.docker("commit", src, local))
    ok(sy.docker("rm", src))
    # Only hv holds it before the project starts.
    guest = dict(os.environ, DOCKER_HOST="unix://" + sy.guest_socket("vz"))
    assert subprocess.run([DOCKER, "image", "inspect", local], env=guest, capture_output=True).returncode != 0
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(
        "services:\n"
        "  arm:\n    image: %s\n    command: sleep 300\n    volumes: [\"data:/data\"]\n"
        "  app:\n    image: %s\n    command: sleep 300\n"
        "volumes:\n  data: {}\n" % (images.arm64, local))
    base = ["compose", "-f", str(compose_file), "-p", project]
    try:
        ok(sy.docker(*base, "up", "-d", timeout=240))
        names = ok(sy.docker("ps", "--filter", "label=com.docker.compose.project=" + project,
                             "--format", "{{.Names}}")).split()
        assert len(names) == 2, names
        assert {backend_of(sy, n) for n in names} == {"vz"}
        app = [n for n in names if "app" in n][0]
        assert ok(sy.docker("exec", app, "uname", "-m")).strip() == "x86_64"
        assert project + "_data" in ok(sy.docker("volume", "ls", "--format", "{{.Name}}")).split()
    finally:
        r = sy.docker(*base, "down", "-v", timeout=240)
    ok(r)
    assert ok(sy.docker("ps", "-a", "--filter", "label=com.docker.compose.project=" + project, "-q")) == ""
    assert project not in ok(sy.docker("network", "ls", "--format", "{{.Name}}"))
    assert project + "_data" not in ok(sy.docker("volume", "ls", "--format", "{{.Name}}")).split()
    ok(sy.docker("rmi", local))
    assert sy.docker("image", "inspect", local).returncode != 0


def test_a_single_node_swarm_in_the_native_vm_with_an_attachable_overlay_network(sy, images):
    net = uid("ovl")
    ok(sy.docker("swarm", "init", timeout=120))
    try:
        assert ok(sy.docker("info", "--format", "{{.Swarm.LocalNodeState}}")).strip() == "active"
        ok(sy.docker("network", "create", "-d", "overlay", "--attachable", net))
        scope = ok(sy.docker("network", "inspect", "-f", "{{.Scope}} {{.Driver}}", net)).strip()
        assert scope == "swarm overlay"
        out = ok(sy.docker("run", "--rm", "--network", net, images.multi, "echo", "on-overlay"))
        assert out.strip() == "on-overlay"
        ok(sy.docker("network", "rm", net))
    finally:
        ok(sy.docker("swarm", "leave", "--force", timeout=120))


def test_ps_and_images_since_and_before_name_objects_in_either_vm(sy, images):
    first = uid("first")
    ok(sy.docker("create", "--name", first, images.multi, "true"))                    # hv
    middle = uid("middle")
    ok(sy.docker("create", "--name", middle, "--platform", ARM64, images.arm64, "true"))  # vz
    last = uid("last")
    ok(sy.docker("create", "--name", last, images.multi, "true"))                     # hv
    assert [backend_of(sy, n) for n in (first, middle, last)] == ["hv", "vz", "hv"]

    def names(*filters):
        args = ["ps", "-a", "--format", "{{.Names}}"]
        for f in filters:
            args += ["--filter", f]
        return [n for n in ok(sy.docker(*args)).split() if n in (first, middle, last)]

    assert names("since=" + middle) == [last]
    assert names("before=" + middle) == [first]
    assert names("since=" + first) == [last, middle]
    assert names("since=" + first, "before=" + last) == [middle]
    r = sy.docker("ps", "-a", "--filter", "since=nosuch-" + uid("x"))
    assert r.returncode != 0 and "no such container" in r.stderr
    # An image in one VM names an order for the images of both.
    out = ok(sy.docker("images", "--filter", "before=" + images.arm64, "--format", "{{.ID}}"))
    assert sy.docker("images", "--filter", "since=" + images.arm64).returncode == 0, out
    ok(sy.docker("rm", first, middle, last))


def test_a_copy_cut_by_a_vm_restart_loads_nothing_and_the_create_says_why(sy, images):
    """The image's VM restarts while its save streams out: the create fails
    naming the copy, and the target VM holds no part of the image."""
    import signal
    import threading
    import time
    big, src = "local/%s:1" % uid("big"), uid("bigsrc")
    # Incompressible, so the save takes long enough to be cut.
    ok(sy.docker("run", "--name", src, "--platform", "linux/amd64", images.amd64, "sh", "-c",
                 "head -c 300000000 /dev/urandom > /big", timeout=300))
    ok(sy.docker("commit", src, big))
    ok(sy.docker("rm", src))
    pod = uid("pod")
    ok(sy.ctl("group", "pin", "pod:" + pod, "vz"))
    log = os.path.join(sy.state_dir, "logs", "scheduler.log")
    with open(log, errors="replace") as f:
        f.seek(0, os.SEEK_END)
        log_start = f.tell()
    result = {}
    create = threading.Thread(target=lambda: result.update(r=sy.docker(
        "create", "--label", "io.kubernetes.pod.uid=" + pod, big, "true", timeout=300)))
    create.start()
    deadline = time.time() + 60
    started = False
    while time.time() < deadline and not started:
        with open(log, errors="replace") as f:
            f.seek(log_start)
            started = "image=%s arch=amd64 copy backend=hv -> backend=vz" % big in f.read()
        time.sleep(0.02)
    assert started, "the copy never started"
    with open(os.path.join(sy.state_dir, "vms", "hv", "vm.json")) as f:
        os.kill(json.load(f)["agent_pid"], signal.SIGKILL)  # hv restarts mid-save
    create.join(300)
    r = result["r"]
    assert r.returncode != 0
    assert "copying image %s from backend hv to backend vz failed" % big in r.stderr, r.stderr
    guest = dict(os.environ, DOCKER_HOST="unix://" + sy.guest_socket("vz"))
    assert subprocess.run([DOCKER, "image", "inspect", big], env=guest, capture_output=True).returncode != 0
    # hv is back with its image; the next create copies it whole.
    deadline = time.time() + 120
    while time.time() < deadline and sy.docker("image", "inspect", big).returncode != 0:
        time.sleep(0.5)
    made = ok(sy.docker("create", "--label", "io.kubernetes.pod.uid=" + pod, big, "true", timeout=300)).strip()
    assert backend_of(sy, made) == "vz"
    ok(sy.docker("rm", made))
    ok(sy.docker("rmi", big))
