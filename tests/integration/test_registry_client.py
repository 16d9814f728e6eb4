"""switchyard-registry-platforms (libs/registry_client) against real servers on
loopback: Debian's docker-registry with the offline test images, and a
bearer-token registry (tests/lib/token_registry.py)."""

import os
import socket
import subprocess

import pytest

from token_registry import TokenRegistry


def _bin():
    return os.path.join(os.environ.get("SWITCHYARD_BUILD", "build"), "bin", "switchyard-registry-platforms")


def platforms(ref, *flags):
    p = subprocess.run([_bin(), ref, *flags], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout.split(), p.stderr.strip()


def test_manifest_list_has_both_platforms(registry):
    assert platforms("%s/sy/busybox:latest" % registry.addr) == (0, ["linux/amd64", "linux/arm64/v8"], "")


def test_single_arch_images_read_their_config(registry):
    assert platforms("%s/sy/busybox-amd64" % registry.addr) == (0, ["linux/amd64"], "")
    assert platforms("%s/sy/busybox-arm64:latest" % registry.addr) == (0, ["linux/arm64/v8"], "")


def test_by_digest(registry):
    import json
    import urllib.request
    req = urllib.request.Request("%s/v2/sy/busybox/manifests/latest" % registry.url, method="HEAD",
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.list.v2+json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        digest = r.headers["Docker-Content-Digest"]
    assert platforms("%s/sy/busybox@%s" % (registry.addr, digest))[:2] == (0, ["linux/amd64", "linux/arm64/v8"])


def test_missing_tag_is_not_found_in_dockers_words(registry):
    rc, out, err = platforms("%s/sy/busybox:nope" % registry.addr)
    assert rc == 2 and out == []
    assert "manifest for %s/sy/busybox:nope not found: manifest unknown" % registry.addr in err


def test_invalid_reference():
    rc, out, err = platforms("127.0.0.1:5000/sy/BusyBox")
    assert rc == 3 and "invalid reference format" in err


def test_unreachable_registry_names_it():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, out, err = platforms("127.0.0.1:%d/sy/busybox" % port)
    assert rc == 1 and "registry 127.0.0.1:%d unreachable" % port in err


@pytest.mark.parametrize("token_field", ["token", "access_token"])
def test_bearer_token_dance_fixed_index(token_field):
    with TokenRegistry(token_field=token_field) as tr:
        rc, out, err = platforms("%s/sy/multi" % tr.addr)
        assert (rc, out) == (0, ["linux/amd64", "linux/arm64/v8", "linux/s390x"]), err
        assert tr.statuses("/v2/sy/multi/manifests/") == [401, 200]
        assert tr.statuses("/token") == [200]


def test_bearer_token_reused_for_config_blob():
    with TokenRegistry() as tr:
        rc, out, err = platforms("%s/sy/single" % tr.addr)
        assert (rc, out) == (0, ["linux/arm/v7"]), err
        assert tr.statuses("/token") == [200]
        assert tr.statuses("/v2/sy/single/blobs/") == [200]


def test_bearer_token_missing_tag():
    with TokenRegistry() as tr:
        rc, out, err = platforms("%s/sy/multi:nope" % tr.addr)
        assert rc == 2 and "manifest for %s/sy/multi:nope not found: manifest unknown" % tr.addr in err


def test_token_server_with_basic_credentials():
    with TokenRegistry(basic_auth=("sy", "s3cret")) as tr:
        rc, out, err = platforms("%s/sy/multi" % tr.addr)
        assert rc == 1 and "refused a token" in err
        rc, out, err = platforms("%s/sy/multi" % tr.addr, "--user=sy:s3cret")
        assert (rc, out) == (0, ["linux/amd64", "linux/arm64/v8", "linux/s390x"]), err


def test_bearer_token_proxy_to_real_registry(registry):
    with TokenRegistry(upstream=registry.addr) as tr:
        assert platforms("%s/sy/busybox" % tr.addr)[:2] == (0, ["linux/amd64", "linux/arm64/v8"])
        assert platforms("%s/sy/busybox-arm64" % tr.addr)[:2] == (0, ["linux/arm64/v8"])
        assert tr.statuses("/token") == [200, 200]
