# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Helpers for the crash and property tests: big messy trees and exact snapshots.

Independent of the package's own codecs on purpose: the ACL encoding and the snapshot are
written again here, so a bug in the engine's reading cannot hide itself in the check.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import stat
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

OLD_UID, OLD_GID, KVM_GID = 109, 114, 106
TARGET = 64055
OTHER_UID, OTHER_GID = 1000, 1000


@dataclass(frozen=True)
class Numbers:
    """The old and target numbers a generated tree is about."""

    old_uid: int = OLD_UID
    old_gid: int = OLD_GID
    kvm_gid: int = KVM_GID
    target: int = TARGET

    def dac(self, uid: int, gid: int) -> bytes:
        return b"+%d:+%d" % (uid, gid)


DEBIAN = Numbers()

ACCESS = "system.posix_acl_access"
DEFAULT = "system.posix_acl_default"
DAC = "trusted.libvirt.security.dac"
REF_DAC = "trusted.libvirt.security.ref_dac"
CAPABILITY = "security.capability"
# cap_net_raw=ep as setcap writes it (VFS_CAP_REVISION_2).
CAP_NET_RAW = bytes.fromhex("0100000200200000000000000000000000000000")

USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_UNDEFINED = 0xFFFFFFFF
ACCOUNT_FILES = ("etc/passwd", "etc/group", "etc/shadow", "etc/gshadow")


# --- POSIX ACL xattr values -------------------------------------------------------------


def acl_value(named_users: dict[int, int], named_groups: dict[int, int], mode: int) -> bytes:
    """An access ACL for ``mode`` with named entries ({id: perm}) and a full-group mask."""
    entries = [(USER_OBJ, (mode >> 6) & 7, _UNDEFINED)]
    entries += [(USER, perm, ident) for ident, perm in sorted(named_users.items())]
    entries.append((GROUP_OBJ, (mode >> 3) & 7, _UNDEFINED))
    entries += [(GROUP, perm, ident) for ident, perm in sorted(named_groups.items())]
    if named_users or named_groups:
        entries.append((MASK, 7, _UNDEFINED))
    entries.append((OTHER, mode & 7, _UNDEFINED))
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def acl_entries(value: bytes) -> dict[tuple[int, int], int]:
    """{(tag, id): perm} of an ACL xattr value (id is 0xFFFFFFFF for unnamed entries)."""
    assert struct.unpack_from("<I", value)[0] == 2, value
    return {(tag, ident): perm for tag, perm, ident in struct.iter_unpack("<HHI", value[4:])}


def acl_remapped(value: bytes, uids: dict[int, int], gids: dict[int, int]) -> dict:
    """What the entries of ``value`` must be after a remap (entries naming one ID merge)."""
    merged: dict[tuple[int, int], int] = {}
    for (tag, ident), perm in acl_entries(value).items():
        mapping = uids if tag == USER else gids if tag == GROUP else {}
        key = (tag, mapping.get(ident, ident))
        merged[key] = merged.get(key, 0) | perm
    return merged


def acl_names(value: bytes, uids: Iterable[int], gids: Iterable[int]) -> bool:
    """True when a named user/group entry of the ACL names one of the numbers."""
    uids, gids = set(uids), set(gids)
    return any(
        (tag == USER and ident in uids) or (tag == GROUP and ident in gids)
        for tag, ident in acl_entries(value)
    )


def old_numbers_in(state: dict[str, Any], uid: int, gid: int) -> list[str]:
    """What in one snapshot entry still carries ``uid`` or ``gid``: owner, group, an ACL
    entry, a libvirt dac label."""
    found = []
    if state["uid"] == uid:
        found.append("owner")
    if state["gid"] == gid:
        found.append("group")
    for name, value in state["xattrs"].items():
        if name in (ACCESS, DEFAULT) and acl_names(value, [uid], [gid]):
            found.append(name)
        match = re.match(rb"^\+(\d+):\+(\d+)$", value) if name == DAC else None
        if match and (int(match[1]) == uid or int(match[2]) == gid):
            found.append(name)
    return found


# --- snapshots --------------------------------------------------------------------------


def walk(top: bytes) -> Iterator[tuple[bytes, os.stat_result]]:
    """(path, lstat) of ``top`` and everything below, never following a symlink."""
    st = os.lstat(top)
    yield top, st
    if stat.S_ISDIR(st.st_mode):
        with os.scandir(top) as entries:
            children = [entry.path for entry in entries]
        for child in children:
            yield from walk(child)


def entry_state(path: bytes, st: os.stat_result) -> dict[str, Any]:
    """Everything a remap may touch, and what tells a replaced entry apart."""
    xattrs = {}
    for name in os.listxattr(path, follow_symlinks=False):
        xattrs[name] = os.getxattr(path, name, follow_symlinks=False)
    state: dict[str, Any] = {
        "type": stat.S_IFMT(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mode": st.st_mode,
        "xattrs": xattrs,
    }
    if not stat.S_ISDIR(st.st_mode):
        state["nlink"] = st.st_nlink  # a directory's counts its subdirectories, ours included
    if stat.S_ISLNK(st.st_mode):
        state["target"] = os.readlink(path)
    elif stat.S_ISREG(st.st_mode):
        state["size"] = st.st_size
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        state["rdev"] = st.st_rdev
    return state


def snapshot(root: str | bytes, parts: Iterable[str] = ("",), skip: Iterable[str] = ()) -> dict:
    """{relative path: state} of every entry under root/part, skipping root/skip subtrees.

    Hard links are identified by the first relative path of their inode (``link``), so two
    copies of a tree compare equal whatever their inode numbers.
    """
    base = os.fsencode(root).rstrip(b"/")
    skipped = {os.path.join(base, os.fsencode(s)).rstrip(b"/") for s in skip}
    found: dict[bytes, dict[str, Any]] = {}
    inodes: dict[bytes, tuple[int, int]] = {}
    for part in parts:
        top = os.path.join(base, os.fsencode(part)).rstrip(b"/")
        if not os.path.lexists(top):
            continue
        for path, st in _walk_skipping(top, skipped):
            relative = os.path.relpath(path, base)
            found[relative] = entry_state(path, st)
            inodes[relative] = (st.st_dev, st.st_ino)
    first: dict[tuple[int, int], bytes] = {}
    for relative in sorted(found):
        first.setdefault(inodes[relative], relative)
        found[relative]["link"] = first[inodes[relative]]
    return found


def _walk_skipping(top: bytes, skipped: set[bytes]) -> Iterator[tuple[bytes, os.stat_result]]:
    st = os.lstat(top)
    yield top, st
    if stat.S_ISDIR(st.st_mode):
        with os.scandir(top) as entries:
            children = [entry.path for entry in entries if entry.path not in skipped]
        for child in children:
            yield from _walk_skipping(child, skipped)


def differences(got: dict, want: dict, limit: int = 12) -> list[str]:
    """Readable per-path differences between two snapshots (at most ``limit``)."""
    lines = []
    for path in sorted(got.keys() | want.keys()):
        if got.get(path) == want.get(path):
            continue
        if path not in got:
            lines.append(f"{path!r}: missing")
        elif path not in want:
            lines.append(f"{path!r}: unexpected")
        else:
            fields = {
                key: (got[path].get(key), want[path].get(key))
                for key in got[path].keys() | want[path].keys()
                if got[path].get(key) != want[path].get(key)
            }
            lines.append(f"{path!r}: (got, want) {fields}")
        if len(lines) >= limit:
            lines.append("...")
            break
    return lines


def accounts(root: str) -> dict[str, bytes]:
    result = {}
    for name in ACCOUNT_FILES:
        with open(os.path.join(root, name), "rb") as handle:
            result[name] = handle.read()
    return result


# --- trees ------------------------------------------------------------------------------


def _is_tmpfs(path: str) -> bool:
    with open("/proc/mounts", encoding="utf-8") as handle:
        return any(line.split()[1:3] == [path, "tmpfs"] for line in handle)


def scratch_directory(fallback: str, prefix: str = "lsi-") -> str:
    """A new directory on /dev/shm (tmpfs) when it takes every xattr the trees use, else
    ``fallback``.

    Why: an ext4 without a journal (as on these test machines) skips every inode deleted in
    the last minutes when it allocates one (``recently_deleted``), so copying and removing
    tens of thousands of entries per case makes each later copy slower and slows everybody
    on that file system. kill -9 loses nothing from the page cache, so the file system type
    does not matter to what the crash tests prove.
    """
    shm = "/dev/shm"
    if not os.path.isdir(shm) or not _is_tmpfs(shm):
        return fallback
    probe = tempfile.mkdtemp(prefix=prefix + "probe-", dir=shm)
    try:
        path = os.path.join(probe, "f")
        with open(path, "wb"):
            pass
        os.setxattr(path, ACCESS, acl_value({OLD_UID: 6}, {OLD_GID: 4}, 0o640))
        os.setxattr(path, DAC, b"+109:+114")
        os.setxattr(path, CAPABILITY, CAP_NET_RAW)
        os.setxattr(path, "user.note", b"x")
        os.mknod(os.path.join(probe, "null"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        return fallback
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return tempfile.mkdtemp(prefix=prefix, dir=shm)


def copy_tree(source: str, destination: str) -> None:
    """cp -a: as root it keeps owners, modes, hard links, ACLs and trusted.* xattrs."""
    subprocess.run(["cp", "-a", source, destination], check=True)


def _owner(rng: random.Random, n: Numbers) -> tuple[int, int]:
    uid = rng.choices([n.old_uid, 0, OTHER_UID, n.target], [40, 30, 28, 2])[0]
    gid = rng.choices([n.old_gid, n.kvm_gid, 0, OTHER_GID, n.target], [30, 15, 25, 28, 2])[0]
    return uid, gid


_PLAIN_MODES = (0o600, 0o640, 0o644, 0o660, 0o755, 0o700)
_SPECIAL_MODES = (0o4755, 0o2755, 0o6755, 0o6644, 0o2644, 0o4711)


def _decorate(
    path: str,
    rng: random.Random,
    n: Numbers,
    *,
    directory: bool = False,
    special: bool = False,
) -> None:
    """Owner, mode, maybe an ACL, libvirt's xattrs, an unrelated xattr, a capability."""
    uid, gid = _owner(rng, n)
    os.chown(path, uid, gid)
    if directory:
        mode = rng.choice((0o755, 0o750, 0o2775, 0o1777, 0o700))
    elif rng.random() < 0.03:
        mode = rng.choice(_SPECIAL_MODES)
    else:
        mode = rng.choice(_PLAIN_MODES)
    os.chmod(path, mode)
    if rng.random() < 0.06:
        users = {n.old_uid: 6} if rng.random() < 0.7 else {}
        groups = {n.old_gid: rng.choice((4, 6))} if rng.random() < 0.6 else {}
        if rng.random() < 0.4:
            users[OTHER_UID] = 4
        if rng.random() < 0.2:
            users[n.target] = 1  # merges with the remapped entry
        if rng.random() < 0.3:
            groups[n.kvm_gid] = 6
        if users or groups:
            os.setxattr(path, ACCESS, acl_value(users, groups, mode))
    if directory and rng.random() < 0.15:
        os.setxattr(path, DEFAULT, acl_value({n.old_uid: 7, OTHER_UID: 5}, {n.old_gid: 5}, 0o750))
    if not directory and rng.random() < 0.04:
        value = rng.choice(
            (
                n.dac(n.old_uid, n.old_gid),
                n.dac(n.old_uid, n.kvm_gid),
                n.dac(0, 0),
                n.dac(OTHER_UID, n.old_gid),
                n.dac(n.target, n.target),
            )
        )
        os.setxattr(path, DAC, value)
        os.setxattr(path, REF_DAC, b"1")
    if rng.random() < 0.02:
        # user.* is refused on FIFOs and devices; trusted.* is not.
        os.setxattr(path, "trusted.note" if special else "user.note", b"keep me")
    if not directory and rng.random() < 0.01:
        os.setxattr(path, CAPABILITY, CAP_NET_RAW)


def build_big_tree(
    top: str, entries: int, outside: str, seed: int = 1, numbers: Numbers = DEBIAN
) -> int:
    """A tree of about ``entries`` entries under ``top``; returns how many it made.

    Mixed owners (a good share old:old, old:x, y:old; 109:114 by default), ACLs naming the
    old numbers (and the target, to merge), default ACLs, libvirt's dac xattrs, setuid and
    setgid files, capabilities, hard links across directories, symlinks in, out (to
    ``outside``), dangling and looping, FIFOs, a device node, and names with newlines and
    invalid UTF-8.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    os.makedirs(top, exist_ok=True)
    directories = [top]
    made = 0
    for index in range(max(1, entries // 60)):
        parent = rng.choice(directories)
        path = os.path.join(parent, f"d{index}")
        os.mkdir(path)
        _decorate(path, rng, numbers, directory=True)
        directories.append(path)
        made += 1
    files: list[str] = []
    odd_names = [b"new\nline", b"bad-\xff\xfe-utf8", b" lead space", b"tab\there"]
    while made < entries:
        parent = rng.choice(directories)
        kind = rng.random()
        name = f"e{made}"
        if rng.random() < 0.002:
            path_bytes = os.path.join(os.fsencode(parent), rng.choice(odd_names) + b"-%d" % made)
            path = os.fsdecode(path_bytes)
        else:
            path = os.path.join(parent, name)
        if kind < 0.86 or not files:
            with open(path, "wb") as handle:
                if rng.random() < 0.05:
                    handle.write(os.urandom(rng.randrange(1, 4096)))
            _decorate(path, rng, numbers)
            files.append(path)
        elif kind < 0.90:
            os.link(rng.choice(files), path)  # another name, mostly in another directory
        elif kind < 0.96:
            choice = rng.random()
            if choice < 0.4:
                target = os.path.relpath(rng.choice(files), parent)
            elif choice < 0.6:
                target = outside
            elif choice < 0.75:
                target = os.path.join(parent, f"missing{made}")
            elif choice < 0.85:
                target = name  # points to itself
            else:
                target = os.path.join(parent, name + "-loop")
                os.symlink(path, target)
                made += 1
            os.symlink(target, path)
            os.chown(path, *_owner(rng, numbers), follow_symlinks=False)
        elif kind < 0.99:
            os.mkfifo(path)
            _decorate(path, rng, numbers, special=True)
        else:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
            _decorate(path, rng, numbers, special=True)
        made += 1
    return made


def make_outside_target(path: str, n: Numbers = DEBIAN) -> None:
    """A file outside every repaired tree that symlinks point at: it must never change."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(b"outside")
    os.chown(path, n.old_uid, n.old_gid)
    os.chmod(path, 0o4750)  # noqa: S103 - setuid on purpose: repair must keep it
    os.setxattr(path, ACCESS, acl_value({n.old_uid: 6}, {n.old_gid: 4}, 0o750))
    os.setxattr(path, DAC, n.dac(n.old_uid, n.old_gid))
