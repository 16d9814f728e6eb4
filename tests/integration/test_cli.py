"""The real docker CLI against the gateway: the commands of the walking
skeleton, with the output and exit codes a plain dockerd gives."""

import json
import re
import time
import uuid

import pytest


def name(prefix="c"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def ok(r):
    assert r.returncode == 0, "rc=%d\nstdout=%s\nstderr=%s" % (r.returncode, r.stdout, r.stderr)
    return r.stdout


@pytest.fixture(scope="module", autouse=True)
def pulled(sy, images):
    ok(sy.docker("pull", images.multi))
    ok(sy.docker("pull", "--platform", "linux/arm64", images.arm64))


def test_version_negotiates_api_1_41(sy):
    assert ok(sy.docker("version", "--format", "{{.Server.APIVersion}}")).strip() == "1.41"


def test_info_shows_both_backends(sy):
    info = json.loads(ok(sy.docker("info", "--format", "{{json .}}")))
    assert info["Name"] == "switchyard"
    labels = " ".join(info["Labels"])
    assert "io.switchyard.backend.hv=running" in labels
    assert "io.switchyard.backend.vz=running" in labels


def test_run_attached_prints_output(sy, images):
    r = sy.docker("run", "--rm", images.multi, "echo", "hi")
    assert ok(r) == "hi\n"


def test_run_separates_stdout_and_stderr(sy, images):
    r = sy.docker("run", "--rm", images.multi, "sh", "-c", "echo out; echo err >&2")
    assert ok(r) == "out\n"
    assert r.stderr == "err\n"


def test_run_returns_the_container_exit_code(sy, images):
    assert sy.docker("run", "--rm", images.multi, "sh", "-c", "exit 3").returncode == 3


def test_run_with_piped_stdin(sy, images):
    r = sy.docker("run", "--rm", "-i", images.multi, "sh", "-c", "cat; echo done", input="hello\nworld\n")
    assert ok(r) == "hello\nworld\ndone\n"


def test_run_with_a_tty(sy, images):
    r = sy.docker_tty("run --rm -it %s sh -c 'tty; echo tty-ok'" % images.multi)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "/dev/pts/0" in r.stdout and "tty-ok" in r.stdout


def test_run_detached_then_ps_filter_format(sy, images):
    n = name()
    cid = ok(sy.docker("run", "-d", "--name", n, images.multi, "sleep", "300")).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert n in ok(sy.docker("ps", "--format", "{{.Names}}")).split()
    out = ok(sy.docker("ps", "-a", "--filter", "name=" + n, "--format", "{{.ID}} {{.Names}} {{.Status}}"))
    assert out.startswith(cid[:12] + " " + n + " Up")
    ok(sy.docker("rm", "-f", n))
    assert n not in ok(sy.docker("ps", "-a", "--format", "{{.Names}}")).split()


def test_inspect_shows_placement_labels(sy, images):
    n = name()
    ok(sy.docker("create", "--name", n, images.multi, "true"))
    labels = json.loads(ok(sy.docker("inspect", "-f", "{{json .Config.Labels}}", n)))
    assert labels["io.switchyard.backend"] == "hv"
    assert "io.switchyard.group" in labels and "io.switchyard.platform" in labels
    ok(sy.docker("rm", n))


def test_logs_tail_timestamps_and_follow(sy, images):
    n = name()
    ok(sy.docker("run", "-d", "--name", n, images.multi, "sh", "-c",
                 "for i in 1 2 3; do echo line$i; done; sleep 0.3; echo oops >&2; sleep 2; echo last"))
    time.sleep(1)
    r = sy.docker("logs", "--tail", "2", n)
    assert ok(r) == "line3\n" and r.stderr == "oops\n"  # the last two lines of both streams, in order
    r = sy.docker("logs", "-t", n)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line1\n", r.stdout)
    # -f ends when the container exits, with every line.
    r = sy.docker("logs", "-f", n, timeout=30)
    assert ok(r) == "line1\nline2\nline3\nlast\n"
    assert r.stderr == "oops\n"
    ok(sy.docker("rm", n))


def test_stop_kill_restart_wait_rm(sy, images):
    n = name()
    ok(sy.docker("run", "-d", "--name", n, images.multi, "sleep", "300"))
    assert ok(sy.docker("stop", "-t", "1", n)).strip() == n
    assert ok(sy.docker("inspect", "-f", "{{.State.Status}}", n)).strip() == "exited"
    assert ok(sy.docker("restart", "-t", "1", n)).strip() == n
    assert ok(sy.docker("inspect", "-f", "{{.State.Running}}", n)).strip() == "true"
    assert ok(sy.docker("kill", n)).strip() == n
    assert ok(sy.docker("wait", n)).strip() == "137"
    assert ok(sy.docker("rm", n)).strip() == n
    r = sy.docker("rm", n)
    assert r.returncode == 1
    assert r.stderr.strip() == "Error response from daemon: No such container: %s" % n


def test_wait_prints_exit_code(sy, images):
    cid = ok(sy.docker("run", "-d", images.multi, "sh", "-c", "sleep 1; exit 7")).strip()
    assert ok(sy.docker("wait", cid)).strip() == "7"
    ok(sy.docker("rm", cid))


def test_rename(sy, images):
    a, b = name(), name()
    ok(sy.docker("create", "--name", a, images.multi, "true"))
    ok(sy.docker("rename", a, b))
    assert ok(sy.docker("inspect", "-f", "{{.Name}}", b)).strip() == "/" + b
    ok(sy.docker("rm", b))


def test_exec_variants(sy, images):
    n = name()
    ok(sy.docker("run", "-d", "--name", n, images.multi, "sleep", "300"))
    assert ok(sy.docker("exec", n, "echo", "inside")) == "inside\n"
    assert sy.docker("exec", n, "sh", "-c", "exit 5").returncode == 5
    ok(sy.docker("exec", "-d", n, "touch", "/tmp/made-by-exec-d"))
    time.sleep(0.5)
    ok(sy.docker("exec", n, "ls", "/tmp/made-by-exec-d"))
    r = sy.docker_tty("exec -it %s sh -c 'tty; exit 4'" % n)
    assert r.returncode == 4 and "/dev/pts/" in r.stdout
    ok(sy.docker("rm", "-f", n))


def test_top(sy, images):
    n = name()
    ok(sy.docker("run", "-d", "--name", n, images.multi, "sleep", "300"))
    out = ok(sy.docker("top", n))
    assert "PID" in out.splitlines()[0] and "sleep 300" in out
    ok(sy.docker("rm", "-f", n))


def test_images_pull_tag_save_load_rmi(sy, images, tmp_path):
    listed = ok(sy.docker("images", "--format", "{{.Repository}}:{{.Tag}}")).split()
    assert images.multi in listed
    ok(sy.docker("tag", images.multi, "sy-tagged:v1"))
    assert "sy-tagged:v1" in ok(sy.docker("images", "--format", "{{.Repository}}:{{.Tag}}")).split()
    tar = tmp_path / "saved.tar"
    ok(sy.docker("save", "-o", str(tar), "sy-tagged:v1"))
    assert tar.stat().st_size > 100000
    assert ok(sy.docker("rmi", "sy-tagged:v1")).strip() == "Untagged: sy-tagged:v1"
    assert ok(sy.docker("load", "-i", images.save_tar)).strip() == "Loaded image: sy/loadme:latest"
    assert ok(sy.docker("run", "--rm", "sy/loadme:latest", "echo", "loaded")) == "loaded\n"
    ok(sy.docker("rmi", "sy/loadme:latest"))
    r = sy.docker("rmi", "sy/loadme:latest")
    assert r.returncode == 1
    assert "No such image: sy/loadme:latest" in r.stderr


def test_events_merge_both_backends(sy, images):
    since = str(int(time.time()) - 1)
    a = ok(sy.docker("run", "-d", images.multi, "true")).strip()
    b = ok(sy.docker("run", "-d", "--platform", "linux/arm64", images.arm64, "true")).strip()
    ok(sy.docker("wait", a)), ok(sy.docker("wait", b))
    until = str(int(time.time()) + 1)
    time.sleep(1.2)
    out = ok(sy.docker("events", "--since", since, "--until", until, "--filter", "type=container",
                       "--format", "{{.Actor.ID}} {{.Action}}", timeout=30))
    assert "%s start" % a in out and "%s start" % b in out
    assert "%s die" % a in out and "%s die" % b in out
    ok(sy.docker("rm", a, b))


def test_platform_picks_the_vm(sy, images):
    a = ok(sy.docker("run", "-d", "--platform", "linux/amd64", images.multi, "sleep", "300")).strip()
    b = ok(sy.docker("run", "-d", "--platform", "linux/arm64", images.arm64, "sleep", "300")).strip()
    backend = lambda c: ok(sy.docker("inspect", "-f", '{{index .Config.Labels "io.switchyard.backend"}}', c)).strip()
    assert backend(a) == "hv" and backend(b) == "vz"
    assert ok(sy.docker("exec", b, "uname", "-m")).strip() == "aarch64"
    assert ok(sy.docker("exec", a, "uname", "-m")).strip() == "x86_64"
    # One list for both VMs.
    ids = ok(sy.docker("ps", "-q", "--no-trunc")).split()
    assert a in ids and b in ids
    ok(sy.docker("rm", "-f", a, b))


def test_names_are_unique_across_vms(sy, images):
    n = name()
    vz_id = ok(sy.docker("create", "--name", n, "--platform", "linux/arm64", images.arm64, "true")).strip()
    r = sy.docker("run", "--name", n, images.multi, "true")
    assert r.returncode == 125
    assert ('Error response from daemon: Conflict. The container name "/%s" is already in use by container '
            '"%s". You have to remove (or rename) that container to be able to reuse that name.' % (n, vz_id)) in r.stderr
    # rename onto a name held in the other VM is refused too
    other = ok(sy.docker("create", images.multi, "true")).strip()
    r = sy.docker("rename", other, n)
    assert r.returncode == 1 and "is already in use by container" in r.stderr
    ok(sy.docker("rm", vz_id, other))


def test_ids_prefixes_and_ambiguity_across_vms(sy, images):
    made = {"hv": [], "vz": []}
    try:
        # Containers in both VMs until one hex digit starts exactly one id in each.
        for _ in range(24):
            made["hv"].append(ok(sy.docker("create", images.multi, "true")).strip())
            made["vz"].append(ok(sy.docker("create", "--platform", "linux/arm64", images.arm64, "true")).strip())
            every = made["hv"] + made["vz"] + ok(sy.docker("ps", "-aq", "--no-trunc")).split()
            shared = [d for d in "0123456789abcdef"
                      if sum(1 for c in made["hv"] if c[0] == d) == 1
                      and sum(1 for c in made["vz"] if c[0] == d) == 1
                      and len({c for c in every if c[0] == d}) == 2]
            if shared:
                break
        assert shared, "could not find a shared prefix"
        d = shared[0]
        r = sy.docker("inspect", "--type", "container", d)
        assert r.returncode == 1
        assert "multiple IDs found with provided prefix: %s" % d in r.stderr
        vz_id = next(c for c in made["vz"] if c[0] == d)
        unique = vz_id[:12]
        assert ok(sy.docker("inspect", "-f", "{{.Id}}", unique)).strip() == vz_id
        assert ok(sy.docker("inspect", "-f", "{{.Id}}", vz_id)).strip() == vz_id
    finally:
        sy.docker("rm", *(made["hv"] + made["vz"]))


def test_unknown_container_and_image_errors(sy):
    r = sy.docker("inspect", "--type", "container", "nosuch-xyz")
    assert r.returncode == 1 and "No such container: nosuch-xyz" in r.stderr
    r = sy.docker("stop", "nosuch-xyz")
    assert r.returncode == 1 and r.stderr.strip() == "Error response from daemon: No such container: nosuch-xyz"
    r = sy.docker("exec", "nosuch-xyz", "true")
    assert r.returncode == 1 and "No such container: nosuch-xyz" in r.stderr
