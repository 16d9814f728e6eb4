"""The guest image's build plan (tools/guest-image/guest_image_plan.py):
pure functions, no root, no downloads."""

import codecs
import gzip
import lzma
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "guest-image"))
import guest_image_plan as plan  # noqa: E402


def test_modules_load_after_what_they_depend_on():
    depends = {"ext4": ["jbd2", "mbcache", "crc16"], "jbd2": [], "mbcache": [], "crc16": [],
               "virtio_pci": ["virtio", "virtio_ring"], "virtio": ["virtio_ring"], "virtio_ring": []}
    order, missing = plan.module_load_order(["virtio-pci", "ext4", "virtio_ring", "squashfs"], depends,
                                            set(depends))
    assert order == ["virtio_ring", "virtio", "virtio_pci", "jbd2", "mbcache", "crc16", "ext4"]
    assert missing == ["squashfs"]  # built in, or not there: the builder tells which


def test_a_module_dependency_cycle_is_named():
    with pytest.raises(ValueError, match="a -> b -> a"):
        plan.module_load_order(["a"], {"a": ["b"], "b": ["a"]}, {"a", "b"})


def test_module_dependencies_come_from_modinfo():
    ko = b"\x7fELF...\0license=GPL\0depends=jbd2,mbcache,crc16\0retpoline=Y\0name=ext4\0"
    assert plan.module_depends(ko) == ["jbd2", "mbcache", "crc16"]
    assert plan.module_depends(b"\0depends=\0name=crc16\0") == []
    assert plan.modinfo_field(ko, "name") == "ext4"


def test_ldd_output_gives_library_paths():
    out = """\tlinux-vdso.so.1 (0x00007ffd5a9e2000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f6a1c000000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f6a1c400000)
"""
    assert plan.parse_ldd(out) == ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
    assert plan.parse_ldd("\tnot a dynamic executable\n") == []


def test_binfmt_registration_points_at_the_image_and_opens_it_at_once():
    line = (r":qemu-aarch64:M::\x7fELF\x02\x01\x01:\xff\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF")
    assert plan.binfmt_registration(line, "/usr/bin/qemu-aarch64-static") == (
        r":qemu-aarch64:M::\x7fELF\x02\x01\x01:\xff\xff\xff\xff:/usr/bin/qemu-aarch64-static:OPF")
    assert plan.binfmt_registration(":x:M::ab:ff:/i:P", "/j").endswith(":/j:PF")
    with pytest.raises(ValueError):
        plan.binfmt_registration("enabled\ninterpreter /x", "/j")


def test_the_kernel_is_found_inside_its_bzimage():
    elf = b"\x7fELF" + b"kernel" * 1000
    bzimage = b"MZ setup code \xfd7zXZ\x00 not this one " + lzma.compress(elf, format=lzma.FORMAT_XZ) + b"trailer"
    assert plan.kernel_from_bzimage(bzimage) == elf
    with pytest.raises(ValueError):
        plan.kernel_from_bzimage(b"MZ no payload")


def test_the_cache_key_changes_with_any_input():
    base = {"kernel": "linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb", "binaries": [["/usr/sbin/dockerd", 1, 2]]}
    key = plan.cache_key(base)
    assert key == plan.cache_key(dict(reversed(list(base.items()))))  # order of keys does not matter
    assert key != plan.cache_key(dict(base, kernel="linux-image-6.1.0-58-amd64_6.1.193-1_amd64.deb"))
    assert key != plan.cache_key(dict(base, binaries=[["/usr/sbin/dockerd", 1, 3]]))


def test_cpio_entries_are_the_kernels_newc_format():
    entry = plan.newc_entry("init", 0o100755, b"#!/bin/sh\n", ino=1)
    assert entry.startswith(b"070701")
    header = entry[6:110]
    fields = [int(header[i:i + 8], 16) for i in range(0, 104, 8)]
    ino, mode, uid, gid, nlink, mtime, size = fields[:7]
    assert (ino, mode, uid, gid, mtime, size) == (1, 0o100755, 0, 0, 0, 10)
    assert fields[11] == len("init") + 1  # name size counts its NUL
    assert entry[110:115] == b"init\0"
    assert len(entry) % 4 == 0
    assert b"#!/bin/sh\n" in entry


def test_rosetta_is_registered_for_x86_64_executables_from_its_share():
    fields = plan.ROSETTA_REGISTRATION.split(":")
    assert fields[1] == "rosetta" and fields[2] == "M"
    magic = codecs.decode(fields[4], "unicode_escape").encode("latin-1")
    mask = codecs.decode(fields[5], "unicode_escape").encode("latin-1")
    assert len(magic) == len(mask) == 20
    # An x86-64 executable ELF header matches it (class 64, little endian, e_machine 0x3e).
    header = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00"
    assert bytes(h & m for h, m in zip(header, mask)) == bytes(g & m for g, m in zip(magic, mask))
    arm64 = header[:18] + b"\xb7\x00"
    assert bytes(h & m for h, m in zip(arm64, mask)) != bytes(g & m for g, m in zip(magic, mask))
    assert fields[6] == "/mnt/rosetta/rosetta" and "F" in fields[7]


def test_the_arm64_kernel_is_the_image_itself_or_gunzipped():
    header = b"\0" * plan.ARM64_IMAGE_MAGIC_AT + b"ARM\x64" + b" rest of the Image"
    assert plan.guest_kernel("arm64", header) == header
    assert plan.guest_kernel("arm64", gzip.compress(header)) == header
    with pytest.raises(ValueError):
        plan.guest_kernel("arm64", b"MZ an x86 bzImage")
    with pytest.raises(ValueError):
        plan.guest_kernel("riscv64", header)
    assert plan.KERNEL_FILE == {"amd64": "vmlinux", "arm64": "Image"}


def test_the_efi_disk_has_one_esp_in_a_valid_gpt_and_its_backup():
    import struct
    import zlib
    esp = 64 << 20
    head, tail = plan.gpt_disk(esp, "seed")
    assert len(head) == plan.ESP_FIRST_LBA * 512 and len(tail) == 33 * 512
    assert head[510:512] == b"\x55\xaa" and head[446 + 4] == 0xEE  # protective MBR
    last = plan.ESP_FIRST_LBA + esp // 512 + 32
    for header, entries, current, backup in ((head[512:1024], head[1024:1024 + 16384], 1, last),
                                             (tail[-512:], tail[:16384], last, 1)):
        assert header[:8] == b"EFI PART"
        size = struct.unpack("<I", header[12:16])[0]
        crc = struct.unpack("<I", header[16:20])[0]
        assert zlib.crc32(header[:16] + b"\0\0\0\0" + header[20:size]) == crc
        assert struct.unpack("<QQ", header[24:40]) == (current, backup)
        assert struct.unpack("<I", header[88:92])[0] == zlib.crc32(entries)
        first, end = struct.unpack("<QQ", entries[32:48])
        assert (first, end) == (plan.ESP_FIRST_LBA, plan.ESP_FIRST_LBA + esp // 512 - 1)
        assert entries[:16] == plan.ESP_TYPE.bytes_le
    assert plan.gpt_disk(esp, "seed") == (head, tail)  # reproducible
    with pytest.raises(ValueError):
        plan.gpt_disk(1000, "seed")
    assert plan.esp_size(1) == 64 << 20 and plan.esp_size(300 << 20) % (1 << 20) == 0
    assert b"sy_settings=disk" in plan.efi_files("amd64")["loader/entries/switchyard.conf"]


def tiny_elf(machine, interpreter, needed):
    """A 64-bit little-endian ELF with PT_INTERP, PT_LOAD and PT_DYNAMIC:
    just what elf_dynamic reads. The load segment maps file offset 0 at
    0x400000, so DT_STRTAB holds a virtual address."""
    import struct
    strtab = b"\0" + b"".join(n.encode() + b"\0" for n in needed)
    interp = interpreter.encode() + b"\0" if interpreter else b""
    phoff, phnum = 64, 3 if interpreter else 2
    interp_off = phoff + 56 * phnum
    strtab_off = interp_off + len(interp)
    dyn_off = strtab_off + len(strtab)
    base = 0x400000
    dynamic, name_off = b"", 1
    for n in needed:
        dynamic += struct.pack("<qQ", 1, name_off)  # DT_NEEDED
        name_off += len(n) + 1
    dynamic += struct.pack("<qQ", 5, base + strtab_off) + struct.pack("<qQ", 0, 0)  # DT_STRTAB, DT_NULL
    size = dyn_off + len(dynamic)
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, phoff, 0, 0, 64,
                                                                56, phnum, 64, 0, 0)
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)  # PT_LOAD
    if interpreter:
        phdrs += struct.pack("<IIQQQQQQ", 3, 4, interp_off, base + interp_off, 0, len(interp), len(interp), 1)
    phdrs += struct.pack("<IIQQQQQQ", 2, 6, dyn_off, base + dyn_off, 0, len(dynamic), len(dynamic), 8)
    return header + phdrs + interp + strtab + dynamic


def test_elf_headers_name_the_interpreter_and_libraries_of_any_arch():
    data = tiny_elf(183, "/lib/ld-linux-aarch64.so.1", ["libgrpc++.so.1.51", "libc.so.6"])
    assert plan.elf_dynamic(data) == (183, "/lib/ld-linux-aarch64.so.1", ["libgrpc++.so.1.51", "libc.so.6"])
    # A shared library: no interpreter, its own DT_NEEDED.
    assert plan.elf_dynamic(tiny_elf(62, None, ["libm.so.6"])) == (62, None, ["libm.so.6"])
    # Static: no PT_DYNAMIC at all.
    static = tiny_elf(183, None, [])
    assert plan.elf_dynamic(static)[2] == []
    with pytest.raises(ValueError):
        plan.elf_dynamic(b"#!/bin/sh\n" + b"\0" * 64)


def test_elf_headers_agree_with_ldd_on_a_host_binary():
    if not os.path.exists("/usr/sbin/dockerd"):
        pytest.skip("no /usr/sbin/dockerd: run tools/setup-deps")
    import subprocess
    with open("/usr/sbin/dockerd", "rb") as f:
        machine, interpreter, needed = plan.elf_dynamic(f.read())
    ldd = subprocess.run(["ldd", "/usr/sbin/dockerd"], capture_output=True, text=True, check=True).stdout
    resolved = plan.parse_ldd(ldd)
    assert interpreter in resolved
    assert all(any(p.endswith("/" + n) for p in resolved) for n in needed)


def test_a_foreign_guest_takes_the_library_packages_apt_names():
    out = """docker.io:arm64
  Depends: libc6:arm64
  Depends: libdevmapper1.02.1:arm64
  Depends: <adduser:arm64>
  Depends: containerd:arm64
 |Depends: libsystemd0:arm64
  PreDepends: libzstd1:arm64
  Recommends: libnss-systemd:arm64
e2fsprogs:arm64
  PreDepends: libc6:arm64
  Depends: logsave:arm64
"""
    assert plan.library_dependencies(out) == ["libc6", "libdevmapper1.02.1", "libsystemd0", "libzstd1"]
