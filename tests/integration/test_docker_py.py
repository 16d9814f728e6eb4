"""docker-py (python3-docker) against the gateway: attach and logs."""

import docker
import pytest


@pytest.fixture
def client(sy):
    c = docker.DockerClient(base_url=sy.host, version="1.41", timeout=60)
    yield c
    c.close()


def test_run_attach_and_logs(client, images):
    client.images.pull(images.multi)
    out = client.containers.run(images.multi, ["sh", "-c", "echo one; echo two >&2"], remove=True,
                                stdout=True, stderr=True)
    # stdout and stderr are separate pipes in the container: no order between them.
    assert sorted(out.splitlines()) == [b"one", b"two"]
    c = client.containers.create(images.multi, ["sh", "-c", "sleep 1; for i in 1 2 3; do echo n$i; done"])
    try:
        stream = c.attach(stream=True, stdout=True, stderr=True, logs=False)
        c.start()
        assert b"".join(stream) == b"n1\nn2\nn3\n"
        assert c.wait()["StatusCode"] == 0
        assert c.logs() == b"n1\nn2\nn3\n"
        assert list(c.logs(stream=True, follow=True)) == [b"n1\n", b"n2\n", b"n3\n"]
    finally:
        c.remove(force=True)


def test_attach_socket_with_stdin(client, images):
    c = client.containers.create(images.multi, ["cat"], stdin_open=True)
    try:
        sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
        c.start()
        raw = sock._sock
        raw.sendall(b"ping\n")
        raw.shutdown(1)  # half-close: stdin EOF, output keeps flowing
        data = b""
        while True:
            b = raw.recv(4096)
            if not b:
                break
            data += b
        assert data == b"\x01\x00\x00\x00\x00\x00\x00\x05ping\n"
        assert c.wait(timeout=20)["StatusCode"] == 0
    finally:
        c.remove(force=True)
