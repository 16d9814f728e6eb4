"""Fixtures for the integration and differential tests, one instance each
per run: the whole switchyard service set with real guest dockerds, a
loopback registry with the offline test images, and a plain dockerd as the
reference."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "integration"), os.path.join(HERE, "lib"), os.path.join(HERE, "images")]

from harness import ServiceSet, host_snapshot  # noqa: E402


def pytest_configure(config):
    if os.geteuid() != 0:
        raise pytest.UsageError("integration tests need root: they create namespaces and run dockerd")


@pytest.fixture(scope="session")
def registry():
    from registry import Registry
    import build_test_images
    with Registry() as reg:
        out = build_test_images.ensure_test_images(
            os.environ.get("SY_IMAGE_CACHE", "/tmp/sy-img"), registry=reg.addr,
            save_tar=os.path.join(os.environ.get("SY_IMAGE_CACHE", "/tmp/sy-img"), "loadme.tar"))
        reg.save_tar = out["save_tar"]
        reg.save_tar_armv7 = out["save_tar_armv7"]
        yield reg


@pytest.fixture(scope="session")
def images(registry):
    class Images:
        multi = "%s/sy/busybox:latest" % registry.addr
        amd64 = "%s/sy/busybox-amd64:latest" % registry.addr
        arm64 = "%s/sy/busybox-arm64:latest" % registry.addr
        armv7 = "%s/sy/busybox-armv7:latest" % registry.addr
        save_tar = registry.save_tar
        save_tar_armv7 = registry.save_tar_armv7
    return Images


@pytest.fixture(scope="session")
def sy(registry):
    """The service set every CLI test shares; torn down with a leak check."""
    before = host_snapshot()
    s = ServiceSet(registry_port=registry.port, instance="sy-it")
    try:
        s.up()
        yield s
    finally:
        s.down()
    leftovers = host_snapshot().leaked_since(before, s)
    assert not leftovers, "switchyard down left things behind: %r" % leftovers


@pytest.fixture(scope="session")
def plain(registry):
    from plain_dockerd import PlainDockerd
    with PlainDockerd(forward_ports=(registry.port,)) as d:
        yield d


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the tail of the service set's logs next to its assertion."""
    outcome = yield
    report = outcome.get_result()
    service_set = item.funcargs.get("sy") if hasattr(item, "funcargs") else None
    if report.failed and call.when == "call" and service_set is not None:
        report.sections.append(("switchyard logs (tail)", service_set.logs(tail=40)))
