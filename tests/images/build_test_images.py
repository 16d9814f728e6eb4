#!/usr/bin/python3
"""Build switchyard's offline test images from Debian's busybox-static .debs.

No network beyond the Debian mirror that `apt-get download` uses (and nothing
at all once the .debs are in the cache dir). Produces, deterministically
(fixed mtimes, owners and gzip headers, so digests are stable across reruns):

  amd64, arm64 and arm/v7 (Debian's armhf) images: one gzip layer (/bin/busybox + one symlink per applet
  at the path `busybox --list-full` gives, /etc/passwd, /etc/group, /tmp, ...),
  a config (architecture, os=linux, Cmd ["sh"], rootfs diff_ids, history) and
  a Docker v2 schema 2 manifest;

  pushed (with --registry HOST:PORT) through the Registry HTTP API v2:
    sy/busybox:latest        manifest list (amd64 + arm64)
    sy/busybox-amd64:latest  amd64 only
    sy/busybox-arm64:latest  arm64 only
    sy/busybox-armv7:latest  arm/v7 only (a variant the routing table must keep)

  a `docker save`-format tar of the amd64 image tagged sy/loadme:latest
  (<cache>/out/loadme.tar, or --save-tar PATH), and one of the arm/v7 image
  tagged sy/loadme-armv7:latest (loadme-armv7.tar beside it).

The applet list comes from running the amd64 busybox (always runnable here);
the other images use the same list (same source version and config).

CLI:   /usr/bin/python3 tests/images/build_test_images.py --cache DIR
                          [--registry 127.0.0.1:PORT] [--save-tar PATH] [--json]
From Python (tests): see build_images(), push_images(), write_save_tar(),
ensure_test_images().
"""

import argparse
import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from urllib.parse import urljoin

BUILDER_VERSION = "1"
ARCHES = ("amd64", "arm64", "armhf")  # Debian's names: the .debs are fetched by them
# Fixed timestamp for every tar entry and the config's "created" field.
EPOCH = 1700000000  # 2023-11-14T22:13:20Z
EPOCH_ISO = "2023-11-14T22:13:20Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

REPO_MULTI = "sy/busybox"
REPO_AMD64 = "sy/busybox-amd64"
REPO_ARM64 = "sy/busybox-arm64"
REPO_ARMV7 = "sy/busybox-armv7"
LOAD_TAG = "sy/loadme:latest"
LOAD_TAG_ARMV7 = "sy/loadme-armv7:latest"
TAG = "latest"

PLATFORM = {
    "amd64": {"architecture": "amd64", "os": "linux"},
    "arm64": {"architecture": "arm64", "os": "linux", "variant": "v8"},
    "armhf": {"architecture": "arm", "os": "linux", "variant": "v7"},
}

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n"


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Image:
    """One single-arch image, all parts in memory (they are ~1 MB)."""

    def __init__(self, arch, deb_version, layer_tar, layer_gz, config, manifest):
        self.arch = arch
        self.deb_version = deb_version
        self.layer_tar = layer_tar          # uncompressed layer (for docker save)
        self.layer_gz = layer_gz            # gzip layer blob (registry)
        self.config = config                # config JSON bytes
        self.manifest = manifest            # schema 2 manifest bytes
        self.diff_id = _sha256(layer_tar)
        self.layer_digest = _sha256(layer_gz)
        self.config_digest = _sha256(config)
        self.manifest_digest = _sha256(manifest)


# ---------------------------------------------------------------- .deb handling

def fetch_deb(cache_dir, arch, refresh=False):
    """Return the path of busybox-static_<ver>_<arch>.deb in cache_dir/debs,
    downloading it with `apt-get download` if absent (or refresh=True)."""
    deb_dir = os.path.join(cache_dir, "debs")
    os.makedirs(deb_dir, exist_ok=True)
    pattern = os.path.join(deb_dir, "busybox-static_*_%s.deb" % arch)
    found = sorted(glob.glob(pattern))
    if found and not refresh:
        return found[-1]
    for f in found:
        os.unlink(f)
    p = subprocess.run(["apt-get", "download", "-q", "busybox-static:" + arch],
                       cwd=deb_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    found = sorted(glob.glob(pattern))
    if p.returncode != 0 or not found:
        # Fall back to apt's own cache (offline reruns on a provisioned host).
        cached = sorted(glob.glob("/var/cache/apt/archives/busybox-static_*_%s.deb" % arch))
        if cached:
            shutil.copy(cached[-1], deb_dir)
            return sorted(glob.glob(pattern))[-1]
        hint = ""
        if arch != "amd64":
            hint = " (is the %s dpkg architecture added? run tools/setup-deps)" % arch
        raise RuntimeError("apt-get download busybox-static:%s failed%s:\n%s"
                           % (arch, hint, p.stdout))
    return found[-1]


def extract_deb(deb, dest):
    """dpkg-deb -x into dest (fresh); return the busybox binary path."""
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    subprocess.run(["dpkg-deb", "-x", deb, dest], check=True)
    bb = os.path.join(dest, "bin", "busybox")
    if not os.path.isfile(bb):
        raise RuntimeError("%s has no bin/busybox" % deb)
    return bb


def deb_version(deb):
    return subprocess.run(["dpkg-deb", "-f", deb, "Version"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def applet_paths(busybox_amd64):
    """Install paths (no leading /) of every applet, from `busybox --list-full`."""
    out = subprocess.run([busybox_amd64, "--list-full"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    paths = set()
    for line in out.split():
        line = line.strip().lstrip("/")
        if not line or os.path.basename(line) == "busybox":
            continue
        if "/" not in line:          # e.g. "linuxrc": keep it out of /
            line = "bin/" + line
        paths.add(line)
    return sorted(paths)


# ---------------------------------------------------------------- layer/config

def _tarinfo(name, type_, mode, size=0, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mode = mode
    ti.size = size
    ti.linkname = linkname
    ti.mtime = EPOCH
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def make_layer(busybox_bin, applets):
    """Deterministic uncompressed layer tar bytes."""
    with open(busybox_bin, "rb") as f:
        bb = f.read()
    dirs = {"bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755,
            "usr/sbin": 0o755, "etc": 0o755, "root": 0o700, "tmp": 0o1777,
            "var": 0o755, "var/tmp": 0o1777, "home": 0o755, "proc": 0o555,
            "sys": 0o555, "dev": 0o755, "run": 0o755}
    for a in applets:
        d = os.path.dirname(a)
        while d:
            dirs.setdefault(d, 0o755)
            d = os.path.dirname(d)
    files = {"etc/passwd": PASSWD.encode(), "etc/group": GROUP.encode()}

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        entries = []
        for d, mode in dirs.items():
            entries.append((d + "/", _tarinfo(d, tarfile.DIRTYPE, mode), None))
        entries.append(("bin/busybox", _tarinfo("bin/busybox", tarfile.REGTYPE, 0o755, len(bb)), bb))
        for name, data in files.items():
            entries.append((name, _tarinfo(name, tarfile.REGTYPE, 0o644, len(data)), data))
        for a in applets:
            if a == "bin/busybox" or a in files:
                continue
            entries.append((a, _tarinfo(a, tarfile.SYMTYPE, 0o777, linkname="/bin/busybox"), None))
        entries.sort(key=lambda e: e[0])
        for _, ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def gzip_bytes(data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as g:
        g.write(data)
    return buf.getvalue()


def make_config(arch, diff_id, version):
    cfg = {
        "architecture": PLATFORM[arch]["architecture"],
        "os": "linux",
        "created": EPOCH_ISO,
        "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{
            "created": EPOCH_ISO,
            "created_by": "switchyard tests/images/build_test_images.py: "
                          "busybox-static %s %s" % (version, arch),
        }],
    }
    if "variant" in PLATFORM[arch]:
        cfg["variant"] = PLATFORM[arch]["variant"]
    return _canon(cfg)


def make_manifest(config, layer_gz):
    return _canon({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "size": len(config), "digest": _sha256(config)},
        "layers": [{"mediaType": MT_LAYER, "size": len(layer_gz), "digest": _sha256(layer_gz)}],
    })


def make_manifest_list(images):
    return _canon({
        "schemaVersion": 2,
        "mediaType": MT_LIST,
        "manifests": [{"mediaType": MT_MANIFEST, "size": len(im.manifest),
                       "digest": im.manifest_digest, "platform": PLATFORM[im.arch]}
                      for im in images],
    })


# ---------------------------------------------------------------- build + cache

def _load_cached(out_dir, arch, stamp):
    d = os.path.join(out_dir, arch)
    try:
        with open(os.path.join(d, "stamp")) as f:
            if f.read() != stamp:
                return None
        parts = {}
        for n in ("layer.tar", "layer.tar.gz", "config.json", "manifest.json", "version"):
            with open(os.path.join(d, n), "rb") as f:
                parts[n] = f.read()
    except OSError:
        return None
    return Image(arch, parts["version"].decode(), parts["layer.tar"], parts["layer.tar.gz"],
                 parts["config.json"], parts["manifest.json"])


def _store(out_dir, im, stamp):
    d = os.path.join(out_dir, im.arch)
    os.makedirs(d, exist_ok=True)
    for n, data in (("layer.tar", im.layer_tar), ("layer.tar.gz", im.layer_gz),
                    ("config.json", im.config), ("manifest.json", im.manifest),
                    ("version", im.deb_version.encode())):
        with open(os.path.join(d, n), "wb") as f:
            f.write(data)
    with open(os.path.join(d, "stamp"), "w") as f:   # written last = commit
        f.write(stamp)


def build_images(cache_dir, refresh=False, log=None):
    """Build (or load from cache) every image. Returns {"amd64": Image, "arm64": Image, "armhf": Image}."""
    log = log or (lambda *a: None)
    cache_dir = os.path.abspath(cache_dir)
    out_dir = os.path.join(cache_dir, "out")
    debs = {a: fetch_deb(cache_dir, a, refresh) for a in ARCHES}
    images = {}
    applets = None
    for arch in ARCHES:
        stamp = "%s %s" % (BUILDER_VERSION, os.path.basename(debs[arch]))
        im = None if refresh else _load_cached(out_dir, arch, stamp)
        if im is None:
            if applets is None:
                bb64 = extract_deb(debs["amd64"], os.path.join(cache_dir, "x", "amd64"))
                applets = applet_paths(bb64)
            bb = extract_deb(debs[arch], os.path.join(cache_dir, "x", arch))
            ver = deb_version(debs[arch])
            layer = make_layer(bb, applets)
            gz = gzip_bytes(layer)
            cfg = make_config(arch, _sha256(layer), ver)
            im = Image(arch, ver, layer, gz, cfg, make_manifest(cfg, gz))
            _store(out_dir, im, stamp)
            log("built %s: %d applets, layer %s (%d bytes gz)" % (arch, len(applets), im.layer_digest, len(gz)))
        else:
            log("cached %s: layer %s" % (arch, im.layer_digest))
        images[arch] = im
    return images


# ---------------------------------------------------------------- docker save tar

def write_save_tar(path, image, tag=LOAD_TAG):
    """Write a `docker save`-format tar of image tagged `tag` (deterministic)."""
    hexid = image.diff_id.split(":", 1)[1]
    cfg_name = image.config_digest.split(":", 1)[1] + ".json"
    repo, _, t = tag.rpartition(":")
    manifest = _canon([{"Config": cfg_name, "RepoTags": [tag],
                        "Layers": [hexid + "/layer.tar"]}])
    repositories = _canon({repo: {t: hexid}})
    v1json = _canon({"id": hexid, "created": EPOCH_ISO, "os": "linux",
                     "architecture": PLATFORM[image.arch]["architecture"], "config": {"Env": [PATH_ENV], "Cmd": ["sh"]}})
    files = [(hexid + "/", None), (hexid + "/VERSION", b"1.0"), (hexid + "/json", v1json),
             (hexid + "/layer.tar", image.layer_tar), (cfg_name, image.config),
             ("manifest.json", manifest), ("repositories", repositories)]
    tmp = path + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files:
            if data is None:
                t.addfile(_tarinfo(name.rstrip("/"), tarfile.DIRTYPE, 0o755))
            else:
                t.addfile(_tarinfo(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------- registry push

class RegistryClient:
    """Minimal Registry HTTP API v2 pusher (no auth; loopback registry)."""

    def __init__(self, registry, session=None, timeout=60):
        import requests
        self.base = registry if "://" in registry else "http://" + registry
        self.s = session or requests.Session()
        self.timeout = timeout

    def _url(self, p):
        return self.base.rstrip("/") + p

    def has_blob(self, repo, digest):
        r = self.s.head(self._url("/v2/%s/blobs/%s" % (repo, digest)), timeout=self.timeout)
        return r.status_code == 200

    def push_blob(self, repo, data, digest=None):
        digest = digest or _sha256(data)
        if self.has_blob(repo, digest):
            return digest, False
        r = self.s.post(self._url("/v2/%s/blobs/uploads/" % repo), timeout=self.timeout)
        if r.status_code != 202:
            raise RuntimeError("blob upload POST %s: %s %s" % (repo, r.status_code, r.text))
        loc = urljoin(self._url("/"), r.headers["Location"])
        loc += ("&" if "?" in loc else "?") + "digest=" + digest
        r = self.s.put(loc, data=data, timeout=self.timeout,
                       headers={"Content-Type": "application/octet-stream",
                                "Content-Length": str(len(data))})
        if r.status_code != 201:
            raise RuntimeError("blob PUT %s %s: %s %s" % (repo, digest, r.status_code, r.text))
        return digest, True

    def put_manifest(self, repo, ref, data, media_type):
        r = self.s.put(self._url("/v2/%s/manifests/%s" % (repo, ref)), data=data,
                       headers={"Content-Type": media_type}, timeout=self.timeout)
        if r.status_code != 201:
            raise RuntimeError("manifest PUT %s:%s: %s %s" % (repo, ref, r.status_code, r.text))
        return r.headers.get("Docker-Content-Digest", _sha256(data))

    def push_image(self, repo, ref, im):
        self.push_blob(repo, im.layer_gz, im.layer_digest)
        self.push_blob(repo, im.config, im.config_digest)
        return self.put_manifest(repo, ref, im.manifest, MT_MANIFEST)


def push_images(registry, images, log=None):
    """Push the four refs. registry: "127.0.0.1:PORT" or "http://...".
    Returns {"sy/busybox:latest": digest, ...}."""
    log = log or (lambda *a: None)
    c = RegistryClient(registry)
    amd, arm = images["amd64"], images["arm64"]
    out = {}
    out["%s:%s" % (REPO_AMD64, TAG)] = c.push_image(REPO_AMD64, TAG, amd)
    out["%s:%s" % (REPO_ARM64, TAG)] = c.push_image(REPO_ARM64, TAG, arm)
    out["%s:%s" % (REPO_ARMV7, TAG)] = c.push_image(REPO_ARMV7, TAG, images["armhf"])
    for im in (amd, arm):  # children by digest, then the list
        c.push_image(REPO_MULTI, im.manifest_digest, im)
    out["%s:%s" % (REPO_MULTI, TAG)] = c.put_manifest(
        REPO_MULTI, TAG, make_manifest_list([amd, arm]), MT_LIST)
    for k, v in out.items():
        log("pushed %s/%s@%s" % (registry, k, v))
    return out


def ensure_test_images(cache_dir, registry=None, save_tar=None, log=None):
    """One call for tests: build (cached), write the save tar, push if registry.
    Returns dict(images=..., save_tar=path, save_tar_armv7=path, pushed={ref: digest} or {})."""
    images = build_images(cache_dir, log=log)
    save_tar = save_tar or os.path.join(os.path.abspath(cache_dir), "out", "loadme.tar")
    write_save_tar(save_tar, images["amd64"])
    save_tar_armv7 = os.path.join(os.path.dirname(save_tar), "loadme-armv7.tar")
    write_save_tar(save_tar_armv7, images["armhf"], LOAD_TAG_ARMV7)
    pushed = push_images(registry, images, log=log) if registry else {}
    return {"images": images, "save_tar": save_tar, "save_tar_armv7": save_tar_armv7, "pushed": pushed}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True, help="cache dir (debs, extracted trees, built blobs)")
    ap.add_argument("--registry", help="push to this registry, e.g. 127.0.0.1:5000")
    ap.add_argument("--save-tar", help="docker save tar path (default <cache>/out/loadme.tar)")
    ap.add_argument("--refresh", action="store_true", help="re-download the .debs and rebuild")
    ap.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    log = lambda m: print(m, file=sys.stderr)
    if a.refresh:
        build_images(a.cache, refresh=True, log=log)
    r = ensure_test_images(a.cache, a.registry, a.save_tar, log=log)
    log("done in %.2fs" % (time.monotonic() - t0))
    if a.json:
        print(json.dumps({
            "images": {k: {"manifest": v.manifest_digest, "config": v.config_digest,
                           "layer": v.layer_digest, "diff_id": v.diff_id,
                           "busybox_version": v.deb_version}
                       for k, v in r["images"].items()},
            "save_tar": r["save_tar"], "load_tag": LOAD_TAG, "pushed": r["pushed"]},
            indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
