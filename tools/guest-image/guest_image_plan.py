"""What goes into a switchyard guest image, worked out without side effects.

The builder (./build) gathers inputs (a Debian kernel package, the host's
Docker engine binaries, the agent) and calls these to decide what to copy and
in which order the guest loads its kernel modules; tests call them directly.
"""

import gzip
import hashlib
import json
import lzma
import re
import struct
import uuid
import zlib

# Modules the guest loads at boot, in this order after their dependencies:
# virtio transport, the data disk and its filesystem, the agent's port,
# networking for dockerd (bridge, veth, iptables through nf_tables), the
# overlay storage driver, host shares (9p), vsock and virtio-fs for the
# hypervisors that offer them, and binfmt_misc for translators.
# crc32c_generic is loaded before libcrc32c, which otherwise finds no
# crc32c implementation (ext4 and nf_tables need it).
GUEST_MODULES = [
    "virtio_pci", "virtio_blk", "virtio_console", "virtio_net", "virtio_rng", "virtio_balloon",
    "crc32c_generic", "libcrc32c", "crc16", "ext4",
    "overlay", "bridge", "br_netfilter", "veth",
    "nf_conntrack", "nf_nat", "x_tables", "ip_tables", "iptable_nat", "iptable_filter",
    "xt_MASQUERADE", "xt_addrtype", "xt_conntrack", "xt_nat", "xt_tcpudp",
    "nf_tables", "nfnetlink", "nft_compat", "nft_chain_nat",
    "9p", "9pnet_virtio", "vmw_vsock_virtio_transport", "virtiofs", "binfmt_misc",
]

# Engine binaries, at the paths the guest runs them from.
ENGINE_BINARIES = [
    "/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc",
    "/usr/bin/docker-init", "/usr/sbin/docker-proxy", "/usr/sbin/xtables-nft-multi", "/usr/sbin/mke2fs",
]
# Names iptables is called by, all one binary (nft backend).
XTABLES_LINKS = [
    "iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore",
]

# vfkit's Rosetta share, registered as its doc/usage.md gives it (x86-64
# ELF executables), with the interpreter where vm-init.sh mounts the share.
ROSETTA_REGISTRATION = (
    r":rosetta:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"
    r":\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
    r":/mnt/rosetta/rosetta:F")

# Debian names for the archs a guest may have, and their ELF machine names.
DEBIAN_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}


def modinfo_field(ko: bytes, field: str) -> str:
    """The value of `field` in a module's .modinfo ("" if absent)."""
    marker = b"\0" + field.encode() + b"="
    at = ko.find(marker)
    if at < 0:
        return ""
    start = at + len(marker)
    end = ko.index(b"\0", start)
    return ko[start:end].decode()


def module_depends(ko: bytes) -> list:
    return [d for d in modinfo_field(ko, "depends").split(",") if d]


def module_load_order(wanted, depends, available):
    """Every module `wanted` needs, each after the modules it depends on.

    `depends` maps a module name to the names it depends on; `available`
    is the set of names the kernel package ships (a wanted module missing
    from it is built in, or does not exist: see `missing`). Names use
    underscores, as the kernel does. Returns (order, missing)."""
    order, seen, missing = [], set(), []

    def visit(name, path):
        name = name.replace("-", "_")
        if name in seen:
            return
        if name in path:
            raise ValueError("module dependency cycle: " + " -> ".join(path + [name]))
        if name not in available:
            missing.append(name)
            seen.add(name)
            return
        for dep in depends.get(name, []):
            visit(dep, path + [name])
        seen.add(name)
        order.append(name)

    for name in wanted:
        visit(name, [])
    return order, missing


def parse_ldd(output: str) -> list:
    """The library paths in `ldd` output (the vdso has none)."""
    paths = []
    for line in output.splitlines():
        line = line.strip()
        match = re.match(r"^\S+ => (/\S+) \(0x[0-9a-f]+\)$", line) or re.match(r"^(/\S+) \(0x[0-9a-f]+\)$", line)
        if match:
            paths.append(match.group(1))
    return paths


# Where Debian's multiarch puts each arch's libraries.
TRIPLET = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
ELF_MACHINE = {"amd64": 62, "arm64": 183}  # e_machine: EM_X86_64, EM_AARCH64

# The Debian packages a guest of a foreign arch takes its engine, busybox,
# translators and EFI loader from (extracted, never installed), with the
# libraries they depend on. A host-arch guest takes the host's own.
FOREIGN_PACKAGES = [
    "docker.io", "containerd", "runc", "tini", "iptables", "e2fsprogs", "busybox-static", "qemu-user-static",
    "systemd-boot-efi",
]


def elf_dynamic(data: bytes):
    """(machine, interpreter or None, [DT_NEEDED sonames]) of a 64-bit
    little-endian ELF file: what ldd would resolve, read without running
    it, so it works for binaries of any arch."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    machine = struct.unpack_from("<H", data, 18)[0]
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    segments = [struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize) for i in range(phnum)]
    interpreter, dynamic = None, None
    for p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ in segments:
        if p_type == 3:  # PT_INTERP
            interpreter = data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
        elif p_type == 2:  # PT_DYNAMIC
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return machine, interpreter, []  # static

    def file_offset(vaddr):
        for p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ in segments:
            if p_type == 1 and p_vaddr <= vaddr < p_vaddr + p_filesz:  # PT_LOAD
                return vaddr - p_vaddr + p_offset
        raise ValueError(f"address {vaddr:#x} is in no loaded segment")

    needed, strtab = [], None
    for off in range(dynamic[0], dynamic[0] + dynamic[1], 16):
        tag, value = struct.unpack_from("<qQ", data, off)
        if tag == 0:  # DT_NULL
            break
        if tag == 1:  # DT_NEEDED
            needed.append(value)
        elif tag == 5:  # DT_STRTAB
            strtab = file_offset(value)
    if needed and strtab is None:
        raise ValueError("DT_NEEDED without DT_STRTAB")
    names = [data[strtab + n:data.index(b"\0", strtab + n)].decode() for n in needed]
    return machine, interpreter, names


def library_dependencies(apt_cache_depends: str) -> list:
    """The library packages (lib*) an `apt-cache depends PKG:ARCH` output
    names as Depends or PreDepends, without their arch qualifier; virtual
    packages (<name>) are left out."""
    found = []
    for line in apt_cache_depends.splitlines():
        match = re.match(r"^\s*\|?(?:Pre)?Depends: ([^<\s:]+)(?::\S+)?$", line)
        if match and match.group(1).startswith("lib") and match.group(1) not in found:
            found.append(match.group(1))
    return found


def binfmt_registration(conf_line: str, interpreter: str) -> str:
    """A binfmt.d line (":name:type:offset:magic:mask:interpreter:flags")
    for the guest: the interpreter moved to where the image has it, and F
    (open it now) added, so containers in their own mount namespaces can
    run foreign binaries without the interpreter in their image."""
    fields = conf_line.strip().split(":")
    if len(fields) != 8 or fields[0] != "":
        raise ValueError("not a binfmt_misc registration: " + conf_line.strip())
    flags = fields[7]
    if "F" not in flags:
        flags += "F"
    fields[6] = interpreter
    fields[7] = flags
    return ":".join(fields)


def kernel_from_bzimage(bzimage: bytes) -> bytes:
    """The uncompressed kernel (vmlinux) inside an x86 bzImage compressed
    with xz: QEMU boots it through its PVH entry in about 2 s under TCG,
    against about 5 s for the bzImage. Raises ValueError otherwise."""
    at = bzimage.find(b"\xfd7zXZ\x00")
    while at >= 0:
        decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        try:
            out = decompressor.decompress(bzimage[at:])
        except lzma.LZMAError:
            out = b""
        if out.startswith(b"\x7fELF"):
            return out
        at = bzimage.find(b"\xfd7zXZ\x00", at + 1)
    raise ValueError("no xz-compressed ELF kernel in this bzImage")


# The kernel file each arch's drivers boot: QEMU's PVH entry on x86 takes
# the ELF vmlinux; vfkit's Linux bootloader (and QEMU's virt machine) take
# the arm64 Image, which must not be compressed.
KERNEL_FILE = {"amd64": "vmlinux", "arm64": "Image"}

ARM64_IMAGE_MAGIC_AT = 0x38  # "ARM\x64" in the arm64 boot header


def guest_kernel(arch: str, vmlinuz: bytes) -> bytes:
    """The kernel as the guest's drivers boot it, from Debian's vmlinuz:
    the vmlinux inside the bzImage on amd64; on arm64 the Image itself
    (Debian ships it uncompressed), or gunzipped when it comes compressed.
    Raises ValueError for anything else."""
    if arch == "amd64":
        return kernel_from_bzimage(vmlinuz)
    if arch == "arm64":
        image = gzip.decompress(vmlinuz) if vmlinuz.startswith(b"\x1f\x8b") else vmlinuz
        if image[ARM64_IMAGE_MAGIC_AT:ARM64_IMAGE_MAGIC_AT + 4] != b"ARM\x64":
            raise ValueError("not an arm64 Image: no ARM\\x64 magic in its boot header")
        return image
    raise ValueError(f"no guest kernel for arch {arch}")


def cache_key(inputs: dict) -> str:
    """A short name for an image built from exactly these inputs."""
    blob = json.dumps(inputs, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def newc_entry(name: str, mode: int, data: bytes = b"", ino: int = 0) -> bytes:
    """One entry of a cpio archive in the kernel's "newc" format, owned by
    root with time 0, so the same inputs give the same bytes."""
    name_bytes = name.encode() + b"\0"
    # ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_bytes), 0]
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    out = header + name_bytes
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


SECTOR = 512
ESP_TYPE = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")  # the EFI System Partition
ESP_FIRST_LBA = 2048  # 1 MiB, where partitioning tools align the first partition
GPT_ENTRIES = 128
GPT_ENTRY_SIZE = 128
GPT_ENTRY_SECTORS = GPT_ENTRIES * GPT_ENTRY_SIZE // SECTOR  # 32


def _gpt_header(current, backup, first_usable, last_usable, disk_guid, entries_lba, entries_crc):
    fields = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0, current, backup,
                         first_usable, last_usable, disk_guid.bytes_le, entries_lba, GPT_ENTRIES,
                         GPT_ENTRY_SIZE, entries_crc)
    crc = zlib.crc32(fields)
    fields = fields[:16] + struct.pack("<I", crc) + fields[20:]
    return fields + b"\0" * (SECTOR - len(fields))


def gpt_disk(esp_bytes: int, seed: str):
    """A GUID partition table for a disk holding one EFI System Partition of
    `esp_bytes` (a multiple of 512) at 1 MiB, as UEFI firmware boots it:
    returns (head, tail), the bytes before the partition (protective MBR,
    header, entries) and after it (the backup entries and header). GUIDs
    come from `seed`, so the same inputs give the same disk."""
    if esp_bytes <= 0 or esp_bytes % SECTOR:
        raise ValueError("the EFI System Partition must be a whole number of sectors")
    esp_sectors = esp_bytes // SECTOR
    last_lba = ESP_FIRST_LBA + esp_sectors + GPT_ENTRY_SECTORS  # the backup header
    disk_guid = uuid.uuid5(uuid.NAMESPACE_URL, "switchyard-disk:" + seed)
    part_guid = uuid.uuid5(uuid.NAMESPACE_URL, "switchyard-esp:" + seed)
    name = "EFI System".encode("utf-16-le").ljust(72, b"\0")
    entry = struct.pack("<16s16sQQQ72s", ESP_TYPE.bytes_le, part_guid.bytes_le, ESP_FIRST_LBA,
                        ESP_FIRST_LBA + esp_sectors - 1, 0, name)
    entries = entry + b"\0" * (GPT_ENTRIES * GPT_ENTRY_SIZE - len(entry))
    entries_crc = zlib.crc32(entries)
    first_usable, last_usable = 2 + GPT_ENTRY_SECTORS, last_lba - GPT_ENTRY_SECTORS - 1
    mbr = bytearray(SECTOR)
    # One protective partition of type 0xEE over the whole disk.
    mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\x00\x02\x00", 0xEE, b"\xff\xff\xff", 1,
                               min(last_lba, 0xFFFFFFFF))
    mbr[510:512] = b"\x55\xaa"
    primary = _gpt_header(1, last_lba, first_usable, last_usable, disk_guid, 2, entries_crc)
    head = bytes(mbr) + primary + entries
    head += b"\0" * (ESP_FIRST_LBA * SECTOR - len(head))
    backup = _gpt_header(last_lba, 1, first_usable, last_usable, disk_guid, last_lba - GPT_ENTRY_SECTORS,
                         entries_crc)
    return head, entries + backup


# The EFI disk (krunkit boots nothing else): systemd-boot as the removable
# media loader, one entry that boots the EFI-stub kernel with the initramfs.
# The guest's own settings come from a settings disk the driver writes
# (vm-init.sh, sy_settings=disk), so one EFI disk serves every VM.
EFI_LOADER = {"amd64": ("systemd-bootx64.efi", "EFI/BOOT/BOOTX64.EFI"),
              "arm64": ("systemd-bootaa64.efi", "EFI/BOOT/BOOTAA64.EFI")}
SYSTEMD_BOOT_DIR = "/usr/lib/systemd/boot/efi"
# ttyS0 on QEMU's q35, hvc0 (virtio-console) under krunkit: the last one
# present is the console.
EFI_KERNEL_OPTIONS = "console=ttyS0 console=hvc0 panic=-1 loglevel=4 sy_settings=disk"


def efi_files(arch: str) -> dict:
    """What goes on the EFI System Partition besides the kernel, the
    initramfs and the loader: path on the ESP -> contents."""
    return {
        "loader/loader.conf": b"default switchyard.conf\ntimeout 0\neditor no\n",
        "loader/entries/switchyard.conf": (
            "title switchyard guest\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n" % EFI_KERNEL_OPTIONS).encode(),
    }


def esp_size(payload_bytes: int) -> int:
    """The partition's size for `payload_bytes` of files: FAT32's own
    tables and slack on top, in whole MiB (and at least FAT32's minimum)."""
    mib = 1 << 20
    return max(64 * mib, ((payload_bytes * 102 // 100 + 16 * mib) + mib - 1) // mib * mib)
