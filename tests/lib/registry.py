"""Start/stop Debian's docker-registry (distribution 2.8) on loopback for tests.

    from tests.lib.registry import Registry
    with Registry() as reg:            # random free port on 127.0.0.1
        reg.addr    -> "127.0.0.1:PORT"
        reg.url     -> "http://127.0.0.1:PORT"
        reg.port    -> PORT

Storage is a temp dir removed on stop (unless root_dir= is given: then it is
kept, so a pushed image set can be reused between runs). The registry is
stopped by its PID (SIGTERM, then SIGKILL); nothing else is signalled.

pytest:
    @pytest.fixture(scope="session")
    def registry():
        with Registry() as r:
            yield r
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

DOCKER_REGISTRY = "/usr/bin/docker-registry"

CONFIG = """\
version: 0.1
log:
  level: {log_level}
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {host}:{port}
  headers:
    X-Content-Type-Options: [nosniff]
"""


def free_port(host="127.0.0.1"):
    s = socket.socket()
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Registry:
    def __init__(self, port=None, host="127.0.0.1", root_dir=None,
                 binary=DOCKER_REGISTRY, log_level="warn", start_timeout=20.0):
        self.host = host
        self.port = port
        self.binary = binary
        self.log_level = log_level
        self.start_timeout = start_timeout
        self._root_dir = root_dir
        self.workdir = None
        self.proc = None

    @property
    def addr(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return "http://" + self.addr

    @property
    def log_path(self):
        return os.path.join(self.workdir, "registry.log")

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def _ping(self):
        try:
            with urllib.request.urlopen(self.url + "/v2/", timeout=1) as r:
                return r.status == 200
        except urllib.error.HTTPError as e:
            return e.code == 401  # answered (auth would be a config mistake, but it's up)
        except OSError:
            return False

    def start(self):
        if self.proc is not None:
            raise RuntimeError("registry already started")
        self.workdir = tempfile.mkdtemp(prefix="sy-registry-")
        root = self._root_dir or os.path.join(self.workdir, "storage")
        os.makedirs(root, exist_ok=True)
        fixed_port = self.port is not None
        for attempt in range(1 if fixed_port else 3):
            if not fixed_port:
                self.port = free_port(self.host)
            cfg = os.path.join(self.workdir, "config.yml")
            with open(cfg, "w") as f:
                f.write(CONFIG.format(root=root, host=self.host, port=self.port,
                                      log_level=self.log_level))
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    [self.binary, "serve", cfg], stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                    env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                         "OTEL_TRACES_EXPORTER": "none"})
            finally:
                log.close()
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self._ping():
                    return self
                time.sleep(0.05)
            self._kill()
        tail = self.log_tail()
        self.stop()
        raise RuntimeError("docker-registry did not come up on %s:\n%s" % (self.addr, tail))

    def _kill(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def stop(self):
        self._kill()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # convenience -----------------------------------------------------------
    def catalog(self):
        import json
        with urllib.request.urlopen(self.url + "/v2/_catalog", timeout=5) as r:
            return json.load(r)["repositories"]
