# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""`repair` against hostile trees: entries swapped for symlinks between scan and change, trees
deeper than PATH_MAX, and kernels without listxattrat (ENOSYS) or with it refused (EPERM).

The swaps are made by a real child process at the exact point between the check and the
change (the journal write, or the read of an entry's metadata); the kernels are real seccomp
filters around the real command.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import treegen
from libvirt_static_ids.files import metadata, repair_run
from libvirt_static_ids.files.idmap import IdMap
from libvirt_static_ids.host import rollback
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.store import Journal

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: chown and trusted.* xattrs"),
    pytest.mark.usefixtures("walk_path"),
]

OLD, NEW = (109, 114), (64055, 64055)
IDMAP = IdMap.single(*OLD, *NEW)
NAME_LENGTH = 200  # long names: a few levels pass PATH_MAX while keeping few descriptors


def make(path: Path, owner: tuple[int, int], mode: int) -> None:
    path.write_bytes(b"x")
    os.chown(path, *owner)
    os.chmod(path, mode)


def state(path: Path | bytes) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid, st.st_mode


def swap_for_symlink(path: Path, target: Path) -> None:
    """The racing actor: another process renames ``path`` away and puts a symlink there."""
    script = 'mv "$1" "$1.moved" && ln -s "$2" "$1"'
    subprocess.run(["sh", "-c", script, "sh", str(path), str(target)], check=True)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Root's own things outside the tree: a directory with a file, and a 0755 binary."""
    path = tmp_path / "outside"
    path.mkdir()
    os.chmod(path, 0o755)  # noqa: S103 - the bits an attack would change
    make(path / "file", (0, 0), 0o644)
    make(path / "binary", (0, 0), 0o755)
    return path


@pytest.fixture
def tree(fake_root: Path) -> Path:
    """The tree to repair: inside the host root, as every PATH must be."""
    path = fake_root / "srv" / "tree"
    path.mkdir(parents=True)
    return path


def run_repair(root: Path, tree: Path) -> repair_run.RepairReport:
    return repair_run.run_repair(HostRoot.open(str(root)), [os.fsencode(tree)], IDMAP)


def test_a_directory_swapped_for_a_symlink_after_the_scan_leads_nowhere(
    monkeypatch: pytest.MonkeyPatch, fake_root: Path, tree: Path, outside: Path
) -> None:
    directory = tree / "d"
    directory.mkdir()
    os.chown(directory, *OLD)
    os.chmod(directory, 0o2775)  # noqa: S103 - the setgid bit must not leak
    make(directory / "file", OLD, 0o640)
    outside_before = {p: state(p) for p in (outside, outside / "file")}
    record_many = Journal.record_many

    def journal_then_swap(journal: Journal, records: Any) -> None:
        record_many(journal, records)  # the changes are journaled: now comes the change
        swap_for_symlink(directory, outside)

    monkeypatch.setattr(Journal, "record_many", journal_then_swap)
    report = run_repair(fake_root, tree)

    assert {p: state(p) for p in outside_before} == outside_before
    reasons = {os.path.basename(p.path): p.reason for p in report.stats.problems}
    assert reasons == {
        b"d": "replaced by another file since",
        b"file": "a directory on its path was replaced (by a symlink or a file) since",
    }
    assert report.stats.changed == 0
    assert state(tree / "d.moved/file")[:2] == OLD


def test_a_setuid_file_swapped_for_a_symlink_gives_nothing_the_setuid_bit(
    monkeypatch: pytest.MonkeyPatch, fake_root: Path, tree: Path, outside: Path
) -> None:
    make(tree / "suid", OLD, 0o4755)
    record_many = Journal.record_many

    def journal_then_swap(journal: Journal, records: Any) -> None:
        record_many(journal, records)
        swap_for_symlink(tree / "suid", outside / "binary")

    monkeypatch.setattr(Journal, "record_many", journal_then_swap)
    report = run_repair(fake_root, tree)

    assert state(outside / "binary") == (0, 0, stat.S_IFREG | 0o755)
    assert [(p.path, p.reason) for p in report.stats.problems] == [
        (os.fsencode(tree / "suid"), "replaced by another file since")
    ]
    assert state(tree / "suid.moved") == (*OLD, stat.S_IFREG | 0o4755)


def test_rollback_changes_the_entry_it_checked_even_if_swapped_right_after(
    monkeypatch: pytest.MonkeyPatch, fake_root: Path, tree: Path, outside: Path
) -> None:
    """The swap comes after the identity check, before the change: the change must still
    land on the checked inode (now renamed), never on the symlink's target."""
    make(tree / "suid", OLD, 0o4755)
    assert run_repair(fake_root, tree).stats.problems == []
    read = metadata.read
    swapped: list[bytes] = []

    def read_then_swap(path: bytes, st: os.stat_result, **options: Any) -> metadata.Metadata:
        if not swapped:
            swapped.append(path)
            swap_for_symlink(tree / "suid", outside / "binary")
        return read(path, st, **options)

    monkeypatch.setattr(metadata, "read", read_then_swap)
    report = rollback.rollback(HostRoot.open(str(fake_root)), restart=False)

    assert swapped
    assert report.stats.problems == []
    assert state(outside / "binary") == (0, 0, stat.S_IFREG | 0o755)
    assert state(tree / "suid.moved") == (*OLD, stat.S_IFREG | 0o4755)


# --- depth ---------------------------------------------------------------------------------


def _deep_directory(top: Path, levels: int) -> tuple[int, bytes]:
    """Make ``levels`` nested directories of long names under ``top``, by descriptor (their
    paths pass PATH_MAX); the descriptor of the deepest (the caller closes it) and its path."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    path = os.fsencode(top)
    for level in range(levels):
        name = b"%03d" % level + b"d" * (NAME_LENGTH - 3)
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd, path = child, path + b"/" + name
    return fd, path


def _put_old_entries(fd: int) -> None:
    """Three files tied to the old numbers only by owner, by an ACL, by libvirt's label."""
    for name in ("owned", "acl-only", "dac-only"):
        os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o640, dir_fd=fd))
    os.chown("owned", *OLD, dir_fd=fd)
    through = b"/proc/self/fd/%d/" % fd
    os.setxattr(through + b"acl-only", treegen.ACCESS, treegen.acl_value({109: 6}, {}, 0o640))
    os.setxattr(through + b"dac-only", treegen.DAC, b"+109:+114")


def _old_ties(fd: int) -> dict[str, list[str]]:
    through = b"/proc/self/fd/%d/" % fd
    found = {}
    for name in ("owned", "acl-only", "dac-only"):
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        values = {
            attribute: os.getxattr(through + name.encode(), attribute)
            for attribute in os.listxattr(through + name.encode())
        }
        found[name] = treegen.old_numbers_in(
            {"uid": st.st_uid, "gid": st.st_gid, "xattrs": values}, *OLD
        )
    return found


@pytest.mark.parametrize("levels", [19, 30], ids=["3.9KB-path", "beyond-PATH_MAX"])
def test_entries_at_any_depth_are_remapped_and_restored(
    cli: Any, fake_root: Path, tree: Path, levels: int
) -> None:
    bottom, path = _deep_directory(tree, levels)
    try:
        assert len(path) > 4096 if levels == 30 else 3800 < len(path) < 4096
        _put_old_entries(bottom)
        before = _old_ties(bottom)
        assert all(before.values())

        result = cli("repair", "--from-uid", "109", "--from-gid", "114", tree, root=fake_root)
        assert result.code == 0, result
        assert _old_ties(bottom) == {name: [] for name in before}

        undone = cli("rollback", root=fake_root, json=True)
        assert undone.code == 0, undone
        assert _old_ties(bottom) == before
    finally:
        os.close(bottom)


# --- kernels: listxattrat missing (6.1), refused (container seccomp), xattrs failing -------

_SECCOMP = r"""
import ctypes, os, sys
lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
context = ctypes.c_void_p(lib.seccomp_init(ctypes.c_uint32(0x7FFF0000)))  # allow
for rule in sys.argv[1].split(","):
    name, error = rule.split("=")
    number = 465 if name == "listxattrat" else lib.seccomp_syscall_resolve_name(name.encode())
    action = ctypes.c_uint32(0x00050000 | int(error))  # fail with errno
    assert lib.seccomp_rule_add(context, action, number, 0) == 0, name
assert lib.seccomp_load(context) == 0
os.execv(sys.argv[2], sys.argv[2:])
"""


def seccomp(**errors: int) -> list[str]:
    """A wrapper running the command with these syscalls failing with these errnos."""
    rules = ",".join(f"{name}={code}" for name, code in errors.items())
    return [sys.executable, "-c", _SECCOMP, rules]


def _shallow_tree(tree: Path) -> None:
    for name in ("acl-only", "dac-only"):
        make(tree / name, (0, 0), 0o640)
    os.setxattr(tree / "acl-only", treegen.ACCESS, treegen.acl_value({109: 6}, {114: 4}, 0o640))
    os.setxattr(tree / "dac-only", treegen.DAC, b"+109:+114")


@pytest.mark.parametrize("refusal", [errno.ENOSYS, errno.EPERM], ids=["ENOSYS", "EPERM"])
def test_without_listxattrat_acl_and_label_only_files_are_remapped(
    cli: Any, fake_root: Path, tree: Path, refusal: int
) -> None:
    _shallow_tree(tree)
    bottom, _ = _deep_directory(tree, 19)  # a ~3.9 KB path, below PATH_MAX
    _put_old_entries(bottom)
    os.close(bottom)
    result = cli(
        "repair",
        "--from-uid",
        "109",
        "--from-gid",
        "114",
        tree,
        root=fake_root,
        json=True,
        wrapper=seccomp(listxattrat=refusal),
    )
    assert result.code == 0, result
    assert result.data["repair"]["changed"] == 5
    assert os.getxattr(tree / "dac-only", treegen.DAC) == b"+64055:+64055"
    assert not treegen.acl_names(os.getxattr(tree / "acl-only", treegen.ACCESS), [109], [114])


def test_an_xattr_error_names_the_path_and_fails_the_run(
    cli: Any, fake_root: Path, tree: Path
) -> None:
    _shallow_tree(tree)
    result = cli(
        "repair",
        "--from-uid",
        "109",
        "--from-gid",
        "114",
        tree,
        root=fake_root,
        json=True,
        wrapper=seccomp(listxattrat=errno.EIO, llistxattr=errno.EIO),
    )
    assert result.code == 1, result
    problems = {p["path"]: p["reason"] for p in result.data["repair"]["problems"]}
    assert problems == {
        str(path): os.strerror(errno.EIO) for path in (tree, tree / "acl-only", tree / "dac-only")
    }


def test_an_unknown_walk_setting_is_refused(
    cli: Any, fake_root: Path, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIBVIRT_STATIC_IDS_WALK", "fast")
    result = cli("repair", "--from-uid", "109", "--from-gid", "114", tree, root=fake_root)
    assert result.code == 2, result
    assert "LIBVIRT_STATIC_IDS_WALK='fast'" in result.err
