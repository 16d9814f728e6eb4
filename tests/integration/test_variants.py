"""Issue 17: an arch with a variant (arm/v7, Debian's armhf busybox) is
placed by one rule whether it arrives by load, pull, create or build: here
arm is foreign, so all of them go to vz, whose qemu-arm runs it. Each step
is also done on a plain dockerd, which must answer the same."""

import json
import os
import subprocess

import pytest

from harness import DOCKER, backend_of, http, ok, uid

LOADED = "sy/loadme-armv7:latest"


def in_vm(sy, backend, image):
    env = dict(os.environ, DOCKER_HOST="unix://" + sy.guest_socket(backend))
    return subprocess.run([DOCKER, "image", "inspect", image], env=env, capture_output=True).returncode == 0


def create(sock, platform, image):
    """POST /containers/create?platform=…: (status, message or None)."""
    status, _, body = http(sock, "POST", "/v1.41/containers/create?platform=" + platform,
                           json.dumps({"Image": image, "Cmd": ["true"]}).encode())
    if status >= 400:
        return status, json.loads(body).get("message")
    return status, None


@pytest.fixture(scope="module")
def loaded(sy, plain, images):
    """The arm/v7 archive, loaded into both engines."""
    for engine in (sy, plain):
        out = engine.docker("load", "-i", images.save_tar_armv7, check=False)
        assert out.returncode == 0 and out.stdout.strip() == "Loaded image: " + LOADED, out.stderr
    yield
    for engine in (sy, plain):
        engine.docker("rmi", "-f", LOADED, images.armv7, check=False)


def test_a_loaded_arm_v7_image_lands_in_vz_and_runs_there(sy, plain, loaded):
    assert in_vm(sy, "vz", LOADED) and not in_vm(sy, "hv", LOADED)
    inspect = "{{.Architecture}}/{{.Variant}}"
    assert ok(sy.docker("image", "inspect", "--format", inspect, LOADED)).strip() == "arm/v7"
    for engine in (sy, plain):
        name = uid("v7")
        engine.docker("create", "--name", name, LOADED, "uname", "-m", check=True)
        if engine is sy:
            assert backend_of(sy, name) == "vz"
        r = engine.docker("start", "-a", name, check=False)
        engine.docker("rm", "-f", name, check=False)
        assert (r.returncode, r.stdout.strip()) == (0, "armv7l"), r.stderr


@pytest.mark.parametrize("platform", ["linux/arm/v7", "linux/armhf", "linux/arm", "linux/arm64"])
def test_a_create_naming_a_platform_the_image_serves_runs_in_vz(sy, plain, loaded, platform):
    # arm64 takes arm: an arm64 CPU runs arm code, as dockerd decides.
    for engine in (sy, plain):
        name = uid("v7p")
        r = engine.docker("run", "--name", name, "--platform", platform, LOADED, "uname", "-m", check=False)
        where = backend_of(sy, name) if engine is sy else None
        engine.docker("rm", "-f", name, check=False)
        assert (r.returncode, r.stdout.strip()) == (0, "armv7l"), r.stderr
        assert where in ("vz", None)


@pytest.mark.parametrize("platform", ["linux/arm/v6", "linux/amd64", "linux/386"])
def test_a_create_naming_a_platform_the_image_does_not_serve_is_dockerds_404(sy, plain, loaded, platform):
    # arm/v6 is placed in vz, which holds the image; amd64 and 386 in hv,
    # which does not: both answer with dockerd's own words.
    ours, theirs = create(sy.socket, platform, LOADED), create(plain.sock, platform, LOADED)
    assert ours == theirs, (ours, theirs)
    assert ours[0] == 404 and "was found but does not match the specified platform" in ours[1], ours


def test_a_pulled_arm_v7_image_lands_in_vz_and_runs_there(sy, plain, images, loaded):
    for engine in (sy, plain):
        engine.docker("pull", images.armv7, check=True)
        r = engine.docker("run", "--rm", images.armv7, "uname", "-m", check=False)
        assert (r.returncode, r.stdout.strip()) == (0, "armv7l"), r.stderr
    assert in_vm(sy, "vz", images.armv7) and not in_vm(sy, "hv", images.armv7)


# BuildKit reads the Dockerfile itself, so it is told the platform: without
# one, a plain dockerd's BuildKit also looks for linux/amd64 and goes to the
# registry. The classic builder is placed from the FROM line.
@pytest.mark.parametrize("buildkit,platform", [(False, None), (True, "linux/arm/v7")], ids=["classic", "buildkit"])
def test_a_build_from_an_arm_v7_image_runs_in_vz(sy, plain, loaded, tmp_path, buildkit, platform):
    (tmp_path / "Dockerfile").write_text("FROM %s\nRUN uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n" % LOADED)
    tag = uid("v7b") + ":1"
    answers = []
    for engine in (plain, sy):
        env = engine.env()
        env["DOCKER_BUILDKIT"] = "1" if buildkit else "0"
        r = subprocess.run([DOCKER, "build", *(["--platform", platform] if platform else []), "-t", tag,
                            str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        if engine is sy:
            assert "[switchyard] building on vz" in r.stdout + r.stderr, r.stdout + r.stderr
            assert in_vm(sy, "vz", tag) and not in_vm(sy, "hv", tag)
        answers.append(engine.docker("run", "--rm", tag, check=False).stdout.strip())
        engine.docker("rmi", "-f", tag, check=False)
    assert answers == ["armv7l", "armv7l"]
