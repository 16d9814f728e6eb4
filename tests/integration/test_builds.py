"""Builds through switchyard with the real clients: the classic builder,
BuildKit through the 20.10 CLI (/session upgraded to h2c, then
/build?version=2), and buildx's docker driver (/grpc upgraded to h2c).
Sessions and BuildKit builds run in the native VM for now; the classic
builder follows its platform query."""

import json
import os
import subprocess

import pytest

from harness import DOCKER, ok, uid

DOCKER_2010 = "/usr/bin/docker"  # Debian's docker.io CLI


def build_env(sy, buildkit):
    env = sy.env()
    env["DOCKER_BUILDKIT"] = "1" if buildkit else "0"
    return env


def context(tmp_path, base):
    (tmp_path / "Dockerfile").write_text("FROM %s\nRUN uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n" % base)
    return str(tmp_path)


def in_vm(sy, backend, image):
    env = dict(os.environ, DOCKER_HOST="unix://" + sy.guest_socket(backend))
    return subprocess.run([DOCKER, "image", "inspect", image], env=env, capture_output=True).returncode == 0


@pytest.fixture(scope="module", autouse=True)
def pulled(sy, images):
    ok(sy.docker("pull", images.multi))


def test_buildkit_build_with_the_2010_cli_opens_a_session_and_builds(sy, images, tmp_path):
    tag = uid("bk") + ":1"
    r = subprocess.run([DOCKER_2010, "build", "-t", tag, context(tmp_path, images.multi)], env=build_env(sy, True),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "naming to docker.io/library/" + tag in r.stderr  # BuildKit's progress, not the classic builder's
    assert ok(sy.docker("run", "--rm", tag)).strip() == "x86_64"
    ok(sy.docker("rmi", tag))


def test_buildx_uses_the_engines_own_builder(sy, images, tmp_path):
    out = ok(sy.docker("buildx", "ls"))
    default = [line for line in out.splitlines() if line.startswith("default")]
    assert default and " docker" in default[0], out  # driver docker, not docker-container
    assert "linux/amd64" in out and "linux/arm64" in out
    tag = uid("bx") + ":1"
    r = subprocess.run([DOCKER, "buildx", "build", "--builder", "default", "--load", "-t", tag,
                        context(tmp_path, images.multi)], env=sy.env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert ok(sy.docker("run", "--rm", tag)).strip() == "x86_64"
    ok(sy.docker("rmi", tag))


def test_classic_build_with_a_foreign_platform_runs_in_vz(sy, images, tmp_path):
    tag = uid("classic") + ":1"
    r = subprocess.run([DOCKER, "build", "--platform", "linux/arm64", "-t", tag, context(tmp_path, images.multi)],
                       env=build_env(sy, False), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag)
    assert ok(sy.docker("run", "--rm", "--platform", "linux/arm64", tag)).strip() == "aarch64"
    ok(sy.docker("rmi", tag))


def test_a_malformed_dockerfile_is_the_builders_error(sy, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROMM nothing\n")
    for buildkit in (False, True):
        r = subprocess.run([DOCKER_2010, "build", str(tmp_path)], env=build_env(sy, buildkit),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0
        assert "unknown instruction: FROMM" in (r.stdout + r.stderr), (buildkit, r.stderr)


def test_classic_build_goes_where_its_from_images_run(sy, images, tmp_path):
    """No platform: an arm64-only FROM puts the build in vz; a multi-stage
    build whose stages start from native and arm64-only images too."""
    (tmp_path / "Dockerfile.multi").write_text(
        "ARG ARMBASE\n"
        "FROM %s AS tools\nRUN echo tools > /t\n"
        "FROM ${ARMBASE}\nCOPY --from=tools /t /t\nRUN uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n" % images.multi)
    for args, tag in ((["-f", str(tmp_path / "Dockerfile.multi"), "--build-arg", "ARMBASE=" + images.arm64], uid("multi") + ":1"),
                      ([], uid("armfrom") + ":1")):
        if not args:
            context(tmp_path, images.arm64)
        r = subprocess.run([DOCKER, "build", *args, "-t", tag, str(tmp_path)], env=build_env(sy, False),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag), tag
        assert ok(sy.docker("run", "--rm", tag)).strip() == "aarch64"
        ok(sy.docker("rmi", tag))


def test_a_build_from_an_image_only_the_other_vm_holds_copies_it_first(sy, images, tmp_path):
    """An amd64 image committed in vz: a classic build FROM it runs natively
    in hv, which gets a copy of the image before the build."""
    pod, src, base, tag = uid("pod"), uid("src"), "local/%s:1" % uid("base"), uid("onbase") + ":1"
    ok(sy.ctl("group", "pin", "pod:" + pod, "vz"))
    # An amd64-only image: vz may hold the multi-arch tag as its arm64 variant.
    ok(sy.docker("create", "--name", src, "--label", "io.kubernetes.pod.uid=" + pod, "--platform", "linux/amd64",
                 images.amd64, "true"))
    ok(sy.docker("commit", src, base))
    ok(sy.docker("rm", src))
    assert in_vm(sy, "vz", base) and not in_vm(sy, "hv", base)
    r = subprocess.run([DOCKER, "build", "-t", tag, context(tmp_path, base)], env=build_env(sy, False),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert in_vm(sy, "hv", tag) and in_vm(sy, "hv", base)
    assert ok(sy.docker("run", "--rm", tag)).strip() == "x86_64"
    ok(sy.docker("rmi", tag, base))


def test_buildkit_build_for_a_foreign_platform_runs_in_vz_with_its_session(sy, images, tmp_path):
    """The 20.10 CLI opens /session before /build?version=2&platform=…: the
    session waits for its build and follows it to vz."""
    tag = uid("bkarm") + ":1"
    r = subprocess.run([DOCKER_2010, "build", "--platform", "linux/arm64", "-t", tag, context(tmp_path, images.multi)],
                       env=build_env(sy, True), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag)
    assert ok(sy.docker("run", "--rm", "--platform", "linux/arm64", tag)).strip() == "aarch64"
    ok(sy.docker("rmi", tag))
