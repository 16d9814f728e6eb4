"""Where a guest image's programs come from, and the libraries each needs.

A guest of the host's arch takes the host's installed files (HostFiles),
their libraries as ldd resolves them. A guest of another arch (an arm64
image built on an amd64 machine, as a Mac's is) takes them from Debian
packages for that arch, downloaded and extracted, never installed
(DebFiles); libraries are resolved from the ELF headers, since the
binaries cannot run here.
"""

import os
import shutil
import subprocess

import guest_image_plan as plan


def run(args, **kwargs):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kwargs).stdout


def candidate_versions(packages):
    """{package: apt's candidate version} for qualified names (pkg:arch),
    asked of apt-cache once: each call reads every package list."""
    versions, current = {}, None
    for line in run(["apt-cache", "policy"] + packages).splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            current = line[:-1]
        elif current and line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version != "(none)":
                versions[current] = version
    missing = [p for p in packages if p not in versions and p.split(":")[0] not in versions]
    if missing:
        raise LookupError(f"apt knows no {', '.join(missing)}: run apt-get update (tools/setup-deps adds the arch)")
    return {p: versions.get(p, versions.get(p.split(":")[0])) for p in packages}


def download_debs(packages, cache_dir, arch=None):
    """The .debs of `packages` (of `arch`, when given) at apt's candidate
    versions, from cache_dir or downloaded there, in the order given."""
    qualified = [f"{p}:{arch}" if arch else p for p in packages]
    versions = candidate_versions(qualified)
    os.makedirs(cache_dir, exist_ok=True)

    def cached(package, version):
        prefix = package + "_" + version.replace(":", "%3a") + "_"
        for name in os.listdir(cache_dir):
            if name.startswith(prefix) and (arch is None or name.endswith((f"_{arch}.deb", "_all.deb"))):
                return os.path.join(cache_dir, name)
        return None

    missing = [q for p, q in zip(packages, qualified) if not cached(p, versions[q])]
    if missing:
        os.chmod(cache_dir, 0o755)
        if os.getuid() == 0:
            shutil.chown(cache_dir, "_apt")  # apt downloads as _apt
        subprocess.run(["apt-get", "download", "-qq"] + missing, cwd=cache_dir, check=True)
    debs = [cached(p, versions[q]) for p, q in zip(packages, qualified)]
    if None in debs:
        raise LookupError(f"apt-get download left no .deb of {qualified[debs.index(None)]} in {cache_dir}")
    return debs


def download_deb(package, cache_dir, arch=None):
    return download_debs([package], cache_dir, arch)[0]


class HostFiles:
    """The host's own files: a guest of the host's arch."""

    def __init__(self, arch):
        self.arch = arch

    def path(self, path):
        return path

    def inputs(self, paths):
        return [file_id(p) for p in paths]

    def libraries(self, binary):
        """[(guest path, file to copy)] for what `binary` loads."""
        try:
            paths = plan.parse_ldd(run(["ldd", binary]))
        except subprocess.CalledProcessError:
            return []  # static
        return [(p, os.path.realpath(p)) for p in paths]


class DebFiles:
    """Files of Debian packages for a foreign `arch`, extracted into `root`.
    Libraries not in them (the agent's, cross-compiled against the :arch
    libraries multiarch installed here) are taken from the host's
    /usr/lib/<triplet>."""

    def __init__(self, arch, cache_dir, root):
        self.arch = arch
        self.root = root
        packages, level = [], list(plan.FOREIGN_PACKAGES)
        while level:  # one apt-cache call per level of the dependency tree
            packages += level
            depends = run(["apt-cache", "depends"] + [f"{p}:{arch}" for p in level])
            level = [p for p in plan.library_dependencies(depends) if p not in packages]
        self.debs = download_debs(packages, cache_dir, arch)
        for deb in self.debs:
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        triplet = plan.TRIPLET[arch]
        self.library_dirs = [os.path.join(root, d) for d in (f"lib/{triplet}", f"usr/lib/{triplet}", "lib", "usr/lib")]
        self.library_dirs += [f"/lib/{triplet}", f"/usr/lib/{triplet}"]

    def inputs(self, paths):
        return sorted(os.path.basename(d) for d in self.debs)

    def _resolve(self, path):
        """`path` inside root, its symlinks followed inside root too
        (packages hold absolute links such as /lib/ld-linux-aarch64.so.1)."""
        for _ in range(40):
            if not os.path.islink(path):
                return path
            target = os.readlink(path)
            path = os.path.join(self.root, target.lstrip("/")) if target.startswith("/") else \
                os.path.join(os.path.dirname(path), target)
        raise OSError(f"too many links at {path}")

    def path(self, path):
        """The file the guest's `path` comes from; Debian 12's packages hold
        /sbin and /bin files where the merged /usr of the host has them."""
        candidates = [path]
        if path.startswith("/usr/"):
            candidates.append(path[len("/usr"):])
        for candidate in candidates:
            inside = self._resolve(os.path.join(self.root, candidate.lstrip("/")))
            if os.path.exists(inside):
                return inside
        raise FileNotFoundError(f"no {path} in the {self.arch} packages ({', '.join(plan.FOREIGN_PACKAGES)})")

    def _find_library(self, soname):
        for d in self.library_dirs:
            candidate = os.path.join(d, soname)
            if os.path.lexists(candidate):
                real = self._resolve(candidate) if candidate.startswith(self.root) else os.path.realpath(candidate)
                if os.path.exists(real):
                    return real
        raise FileNotFoundError(f"no {self.arch} library {soname} in the extracted packages or /usr/lib/"
                                f"{plan.TRIPLET[self.arch]} (tools/setup-deps installs the agent's)")

    def libraries(self, binary):
        with open(binary, "rb") as f:
            machine, interpreter, needed = plan.elf_dynamic(f.read())
        if machine != plan.ELF_MACHINE[self.arch]:
            raise ValueError(f"{binary} is not an {self.arch} binary (ELF machine {machine})")
        found, wanted, seen = [], list(needed), set()
        if interpreter:
            found.append((interpreter, self.path(interpreter)))
        while wanted:
            soname = wanted.pop(0)
            if soname in seen:
                continue
            seen.add(soname)
            library = self._find_library(soname)
            found.append((f"/lib/{plan.TRIPLET[self.arch]}/{soname}", library))
            with open(library, "rb") as f:
                wanted += plan.elf_dynamic(f.read())[2]
        return found


def file_id(path):
    st = os.stat(path)
    return [path, st.st_size, int(st.st_mtime)]
