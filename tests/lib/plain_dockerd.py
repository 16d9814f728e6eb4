"""A reference plain dockerd (Debian docker.io 20.10) for differential tests
and benchmarks, isolated from the host and from other dockerds.

    from plain_dockerd import PlainDockerd
    with PlainDockerd(forward_ports=[reg.port]) as d:
        d.host                      # "unix:///tmp/sy-plain-XXXX/docker.sock"
        d.docker("pull", "127.0.0.1:%d/sy/busybox" % reg.port)   # CompletedProcess
        d.client()                  # docker.DockerClient (python3-docker)
        d.nsenter("ss", "-ltn")     # run a host binary inside its namespaces

Layout: everything lives in one temp dir (data-root, exec-root, socket,
pidfile, daemon.json, logs). dockerd runs under
`unshare --mount --pid --net --uts --ipc --fork --propagation private
--mount-proc`, below a small Python init that is PID 1 of the pid namespace
(it reaps containerd-shim orphans, which dockerd as PID 1 would not), mounts
a tmpfs on /run (private /run/containerd, /run/docker, xtables lock), brings
up lo, and, with network=True, waits for slirp4netns (started from here on the
init's PID: tap0 10.0.2.100, host loopback at 10.0.2.2) and starts one socat
forwarder per forwarded port: 127.0.0.1:P in the namespace -> 10.0.2.2:P, so
`docker pull 127.0.0.1:P/...` reaches a registry on the host's loopback
(127.0.0.0/8 is an insecure registry by default).

Containers get --bip 10.250.0.1/24 and --cgroup-parent sy-plain (cgroupfs).

Cleanup (stop()/__exit__, also after a failed start): SIGKILL to the init
(or, with graceful_stop=True, SIGTERM forwarded to dockerd first, SIGKILL
after a grace period); the kernel then kills everything in the pid namespace,
and the mount and net namespaces go with it (overlay mounts, veths, bridge,
iptables rules); then slirp4netns by PID, cgroup dirs under <ctrl>/<cgroup-parent>
that did not exist before start, then the temp dir. Only PIDs started here are
signalled. If the test process itself dies (die_with_parent=True, started from
the main thread), PR_SET_PDEATHSIG + `unshare --kill-child` still kill
unshare, the namespace (hence dockerd and containers) and slirp4netns; the
temp dir and empty cgroup dirs are then left (sy-plain-* in /tmp).
"""

import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DOCKERD = "/usr/sbin/dockerd"
DOCKER_CLI = "/usr/local/bin/docker"
PYTHON = "/usr/bin/python3"
CGROUP_ROOT = "/sys/fs/cgroup"
SLIRP_HOST = "10.0.2.2"

_INIT = r'''
import json, os, signal, subprocess, sys, time, socket
cfg = json.load(open(sys.argv[1]))
log = open(cfg["init_log"], "a", buffering=1)
def say(m): log.write("%.3f init: %s\n" % (time.time(), m))
def sh(*a): subprocess.run(a, check=True, stdout=log, stderr=log)

children = {}
term = []
def on_term(sig, frm):
    term.append(sig)
    p = children.get("dockerd")
    if p:
        try: os.kill(p, signal.SIGTERM)
        except ProcessLookupError: pass
signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)

try:
    sh("mount", "-t", "tmpfs", "-o", "mode=755,nosuid,nodev", "sy-plain-run", "/run")
    socket.sethostname(cfg["hostname"])
    sh("ip", "link", "set", "lo", "up")
    if cfg["network"]:
        deadline = time.monotonic() + 20
        while True:
            r = subprocess.run(["ip", "-4", "route", "show", "default"],
                               stdout=subprocess.PIPE, text=True).stdout
            if "tap0" in r:
                break
            if time.monotonic() > deadline or term:
                say("no tap0 default route (slirp4netns not up)"); sys.exit(3)
            time.sleep(0.02)
        for port in cfg["forward_ports"]:
            p = subprocess.Popen(["socat", "TCP4-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % port,
                                  "TCP4:%s:%d" % (cfg["slirp_host"], port)],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            children["socat%d" % port] = p.pid
    if term:
        sys.exit(0)
    dl = open(cfg["dockerd_log"], "ab")
    p = subprocess.Popen(cfg["dockerd_argv"], stdin=subprocess.DEVNULL, stdout=dl, stderr=dl,
                         env=cfg["env"])
    children["dockerd"] = p.pid
    say("dockerd pid %d" % p.pid)
except SystemExit:
    raise
except Exception as e:
    say("setup failed: %r" % (e,)); sys.exit(2)

code = 0
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    if pid == children.get("dockerd"):
        code = os.waitstatus_to_exitcode(status)
        say("dockerd exited %d" % code)
        break
for name, pid in children.items():
    if name != "dockerd":
        try: os.kill(pid, signal.SIGTERM)
        except ProcessLookupError: pass
sys.exit(0 if code in (0, -signal.SIGTERM) else 1)
'''


def _pdeathsig():
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=2):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


def _children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    out = []
    for st in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(st) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(st.split("/")[2]))
        except (OSError, IndexError, ValueError):
            pass
    return out


def _starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def cleanup_stale(tmp_parent="/tmp", cgroup_parent="sy-plain"):
    """Remove what a crashed test run left: /tmp/sy-plain-* dirs whose unshare
    process is gone, and empty cgroup dirs under <ctrl>/<cgroup_parent>
    (only if no live PlainDockerd uses that parent). Returns removed paths."""
    removed, live_parents = [], set()
    for d in glob.glob(os.path.join(tmp_parent, "sy-plain-*")):
        try:
            with open(os.path.join(d, "owner.json")) as f:
                o = json.load(f)
            pid, st = o["unshare"]
            if _starttime(pid) == st:
                live_parents.add(o.get("cgroup_parent"))
                continue
        except (OSError, ValueError, KeyError, TypeError):
            if time.time() - os.path.getmtime(d) < 120:  # maybe still starting
                continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    if cgroup_parent not in live_parents:
        for ctrl in glob.glob(os.path.join(CGROUP_ROOT, "*")):
            top = os.path.join(ctrl, cgroup_parent)
            if not os.path.isdir(top):
                continue
            for d in sorted((x for x, _, _ in os.walk(top)), key=len, reverse=True):
                try:
                    os.rmdir(d)
                    removed.append(d)
                except OSError:
                    pass
    return removed


def process_running(pid):
    """Alive and not a zombie waiting to be reaped."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class PlainDockerd:
    def __init__(self, forward_ports=(), network=True, bip="10.250.0.1/24",
                 cgroup_parent="sy-plain", hostname="sy-plain", extra_args=(),
                 daemon_json=None, storage_driver="overlay2", shutdown_timeout=5,
                 start_timeout=60.0, dockerd=DOCKERD, tmp_parent="/tmp",
                 keep_workdir=False, graceful_stop=False, die_with_parent=True):
        self.forward_ports = [int(p) for p in forward_ports]
        self.network = network
        self.bip = bip
        self.cgroup_parent = cgroup_parent
        self.hostname = hostname
        self.extra_args = list(extra_args)
        self.daemon_json = daemon_json or {}
        self.storage_driver = storage_driver
        self.shutdown_timeout = shutdown_timeout
        self.start_timeout = start_timeout
        self.dockerd = dockerd
        self.tmp_parent = tmp_parent
        self.keep_workdir = keep_workdir
        self.graceful_stop = graceful_stop
        self.die_with_parent = die_with_parent
        self.workdir = None
        self.unshare = None      # Popen of `unshare` (host pid ns)
        self.init_pid = None     # host PID of the namespace's PID 1
        self.slirp = None
        self._cg_before = set()
        self.start_seconds = None

    # -------------------------------------------------------------- paths
    @property
    def sock(self):
        return os.path.join(self.workdir, "docker.sock")

    @property
    def host(self):
        return "unix://" + self.sock

    def _p(self, *n):
        return os.path.join(self.workdir, *n)

    def log_tail(self, n=6000):
        out = []
        for name in ("init.log", "dockerd.log", "slirp4netns.log"):
            try:
                with open(self._p(name), "rb") as f:
                    out.append("== %s ==\n%s" % (name, f.read()[-n:].decode(errors="replace")))
            except (OSError, TypeError):
                pass
        return "\n".join(out)

    # -------------------------------------------------------------- cgroups
    def _cgroup_dirs(self):
        found = set()
        for ctrl in glob.glob(os.path.join(CGROUP_ROOT, "*")):
            top = os.path.join(ctrl, self.cgroup_parent)
            if os.path.isdir(top):
                for d, subdirs, _ in os.walk(top):
                    found.add(d)
        return found

    def _cleanup_cgroups(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            left = sorted(self._cgroup_dirs() - self._cg_before, key=len, reverse=True)
            for d in left:
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            left = self._cgroup_dirs() - self._cg_before
            if not left:
                return []
            if time.monotonic() > deadline:
                return sorted(left)
            time.sleep(0.1)

    # -------------------------------------------------------------- lifecycle
    def ping(self):
        try:
            c = _UnixHTTPConnection(self.sock)
            c.request("GET", "/_ping")
            r = c.getresponse()
            ok = r.status == 200 and r.read() == b"OK"
            c.close()
            return ok
        except OSError:
            return False

    def start(self):
        if self.unshare is not None:
            raise RuntimeError("already started")
        t0 = time.monotonic()
        self._cg_before = self._cgroup_dirs()
        self.workdir = tempfile.mkdtemp(prefix="sy-plain-", dir=self.tmp_parent)
        os.chmod(self.workdir, 0o711)
        try:
            self._start()
        except BaseException:
            tail = self.log_tail()
            self.stop()
            raise RuntimeError("plain dockerd failed to start:\n" + tail)
        self.start_seconds = time.monotonic() - t0
        return self

    def _start(self):
        for d in ("data", "exec", "docker-config"):
            os.makedirs(self._p(d))
        with open(self._p("daemon.json"), "w") as f:
            json.dump(self.daemon_json, f)
        argv = [self.dockerd,
                "--config-file", self._p("daemon.json"),
                "--data-root", self._p("data"),
                "--exec-root", self._p("exec"),
                "--pidfile", self._p("docker.pid"),
                "-H", self.host,
                "--bip", self.bip,
                "--cgroup-parent", self.cgroup_parent,
                "--storage-driver", self.storage_driver,
                "--shutdown-timeout", str(self.shutdown_timeout)] + self.extra_args
        cfg = {"init_log": self._p("init.log"), "dockerd_log": self._p("dockerd.log"),
               "hostname": self.hostname, "network": self.network,
               "forward_ports": self.forward_ports if self.network else [],
               "slirp_host": SLIRP_HOST, "dockerd_argv": argv,
               "env": {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "HOME": "/root", "LANG": "C.UTF-8"}}
        with open(self._p("init.json"), "w") as f:
            json.dump(cfg, f)
        with open(self._p("init.py"), "w") as f:
            f.write(_INIT)
        # PR_SET_PDEATHSIG fires when the forking *thread* exits, so only arm
        # it from the main thread (a worker thread may end before the daemon).
        pre = _pdeathsig if (self.die_with_parent and
                             threading.current_thread() is threading.main_thread()) else None
        with open(self._p("init.log"), "ab") as log:
            self.unshare = subprocess.Popen(
                ["unshare", "--mount", "--pid", "--net", "--uts", "--ipc",
                 "--kill-child=SIGKILL", "--propagation", "private", "--mount-proc",
                 PYTHON, "-I", self._p("init.py"), self._p("init.json")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                preexec_fn=pre)
        deadline = time.monotonic() + 10
        while self.init_pid is None:
            kids = _children_of(self.unshare.pid)
            if kids:
                self.init_pid = kids[0]
            elif self.unshare.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("unshare exited or never forked")
            else:
                time.sleep(0.005)
        with open(self._p("owner.json"), "w") as f:
            json.dump({"unshare": [self.unshare.pid, _starttime(self.unshare.pid)],
                       "cgroup_parent": self.cgroup_parent}, f)
        if self.network:
            with open(self._p("slirp4netns.log"), "ab") as log:
                self.slirp = subprocess.Popen(
                    ["slirp4netns", "--configure", "--mtu=65520", str(self.init_pid), "tap0"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                    preexec_fn=pre)
        deadline = time.monotonic() + self.start_timeout
        while not self.ping():
            if self.unshare.poll() is not None:
                raise RuntimeError("namespace init exited (%s)" % self.unshare.returncode)
            if self.slirp is not None and self.slirp.poll() is not None:
                raise RuntimeError("slirp4netns exited (%s)" % self.slirp.returncode)
            if time.monotonic() > deadline:
                raise RuntimeError("dockerd did not answer /_ping in %ss" % self.start_timeout)
            time.sleep(0.05)

    def stop(self, graceful=None):
        """Idempotent; returns a list of leftovers it could not remove (empty = clean).

        graceful=False (default, see graceful_stop): SIGKILL the namespace's
        PID 1 at once; the kernel kills dockerd, containerd, shims and all
        containers, and the namespaces (mounts, netdevs, iptables) go away.
        graceful=True: SIGTERM dockerd first (containers get
        shutdown_timeout seconds), SIGKILL after a grace period."""
        leftovers = []
        if graceful is None:
            graceful = self.graceful_stop
        if self.unshare is not None:
            if self.unshare.poll() is None and self.init_pid and process_running(self.init_pid):
                try:
                    os.kill(self.init_pid, signal.SIGTERM if graceful else signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.unshare.wait(self.shutdown_timeout + 15 if graceful else 10)
            except subprocess.TimeoutExpired:
                # PID 1 dies -> kernel kills the whole pid namespace.
                if self.init_pid and process_running(self.init_pid):
                    try:
                        os.kill(self.init_pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    self.unshare.wait(10)
                except subprocess.TimeoutExpired:
                    self.unshare.kill()
                    self.unshare.wait(5)
        if self.slirp is not None:
            if self.slirp.poll() is None:
                self.slirp.terminate()
                try:
                    self.slirp.wait(5)
                except subprocess.TimeoutExpired:
                    self.slirp.kill()
                    self.slirp.wait(5)
        if self.unshare is not None or self.workdir:
            leftovers += self._cleanup_cgroups()
        if self.workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            if os.path.exists(self.workdir):
                leftovers.append(self.workdir)
        self.unshare = self.slirp = None
        self.init_pid = None
        if not self.keep_workdir:
            self.workdir = None
        self.leftovers = leftovers
        return leftovers

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -------------------------------------------------------------- helpers
    def env(self):
        """Environment for the docker CLI / docker-py pointing at this daemon."""
        e = dict(os.environ)
        e.update(DOCKER_HOST=self.host, DOCKER_CONFIG=self._p("docker-config"))
        for k in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            e.pop(k, None)
        return e

    def docker(self, *args, check=True, timeout=300, input=None):
        """Run the docker CLI against this daemon; returns CompletedProcess (text)."""
        return subprocess.run([DOCKER_CLI, "-H", self.host] + list(args), env=self.env(),
                              check=check, timeout=timeout, input=input, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def client(self, **kw):
        import docker
        kw.setdefault("version", "auto")
        return docker.DockerClient(base_url=self.host, **kw)

    def nsenter(self, *cmd, check=True, timeout=60):
        """Run a host command inside the daemon's mount/net/pid/uts/ipc namespaces."""
        return subprocess.run(["nsenter", "-t", str(self.init_pid), "-m", "-n", "-p", "-u", "-i",
                               "--"] + list(cmd), check=check, timeout=timeout, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)


if __name__ == "__main__":
    # Manual use: python3 plain_dockerd.py [PORT...]  -> prints DOCKER_HOST, Ctrl-C stops.
    d = PlainDockerd(forward_ports=[int(a) for a in sys.argv[1:]])
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with d:
        print("DOCKER_HOST=%s  (started in %.2fs)" % (d.host, d.start_seconds), flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
