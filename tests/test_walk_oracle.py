# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The C walk, on both of its ways to list xattrs, against a plain Python walk on random trees.

The oracle is written for clarity, not speed: ``os.lstat`` and ``os.listxattr`` by path,
recursion, no threads; like the walk it always yields the top. Both C paths must yield
exactly its entries, with the same stat fields and the same "carries an ACL or libvirt
label" and "carries a file capability" flags, whatever the numbers asked for.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treegen
from libvirt_static_ids.files import walk

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: chown, trusted.* xattrs")

RELEVANT = ("system.posix_acl_", "trusted.libvirt.security.dac", "trusted.libvirt.security.ref_dac")
CAPABILITY = "security.capability"
Row = tuple[bytes, int, int, int, int, int, int, bool, bool]


def _flags(path: bytes, mode: int) -> tuple[bool, bool]:
    """Carries an ACL or libvirt label; carries a file capability."""
    if stat.S_ISLNK(mode):
        return False, False
    names = os.listxattr(path, follow_symlinks=False)
    relevant = any(name.startswith(RELEVANT[0]) or name in RELEVANT[1:] for name in names)
    return relevant, CAPABILITY in names


def oracle(top: bytes, uids: set[int], gids: set[int], every: bool) -> list[Row]:
    found: list[Row] = []

    def visit(path: bytes) -> None:
        st = os.lstat(path)
        xattr, capability = _flags(path, st.st_mode)
        if path == top or every or xattr or st.st_uid in uids or st.st_gid in gids:
            found.append(
                (
                    path,
                    st.st_dev,
                    st.st_ino,
                    st.st_mode,
                    st.st_nlink,
                    st.st_uid,
                    st.st_gid,
                    xattr,
                    capability,
                )
            )
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(path)):
                visit(os.path.join(path, name))

    visit(top)
    return sorted(found)


def c_walk(top: bytes, uids: set[int], gids: set[int], every: bool) -> list[Row]:
    errors: list[tuple[bytes, OSError]] = []
    tree = walk.TreeWalk(
        top, uids=uids, gids=gids, every_entry=every, on_error=lambda p, e: errors.append((p, e))
    )
    rows = sorted(tuple(entry) for entry in tree)
    assert errors == []
    return rows  # type: ignore[return-value]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    entries=st.integers(1, 400),
    uids=st.sets(st.sampled_from((109, 0, 1000, 64055)), max_size=2),
    gids=st.sets(st.sampled_from((114, 106, 0, 1000)), max_size=2),
    every=st.booleans(),
)
def test_both_c_paths_agree_with_the_oracle(
    seed: int, entries: int, uids: set[int], gids: set[int], every: bool
) -> None:
    base = tempfile.mkdtemp(prefix="walk-oracle-")
    try:
        outside = os.path.join(base, "outside", "target.img")
        treegen.make_outside_target(outside)
        top = os.path.join(base, "tree")
        treegen.build_big_tree(top, entries, outside, seed=seed)
        expected = oracle(os.fsencode(top), uids, gids, every)
        for setting in ("auto", "fallback"):
            os.environ[walk.WALK_VARIABLE] = setting
            try:
                assert c_walk(os.fsencode(top), uids, gids, every) == expected, setting
            finally:
                del os.environ[walk.WALK_VARIABLE]
    finally:
        shutil.rmtree(base)


def _kernel() -> tuple[int, int]:
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()))


def test_the_fallback_is_what_the_setting_asks_for(tmp_path: Path) -> None:
    top = os.fsencode(str(tmp_path))
    os.environ[walk.WALK_VARIABLE] = "fallback"
    try:
        forced = walk.TreeWalk(top)
        list(forced)
    finally:
        del os.environ[walk.WALK_VARIABLE]
    assert forced.uses_listxattrat is False
    default = walk.TreeWalk(top)
    list(default)
    assert default.uses_listxattrat is (_kernel() >= (6, 13))


@pytest.mark.parametrize("cpus", ["every CPU", "one CPU"])
def test_wide_directories_on_both_paths_and_the_working_directory_stays(
    tmp_path: Path, cpus: str
) -> None:
    """Directories wide enough that both threads examine them (on the fallback the caller stats
    while the helper lists xattrs by name in its own working directory, then each takes what
    the other has not reached): every ACL-only, label-only and capability file is found, and the
    process's working directory never moves, not even during the walk. On one CPU the two
    threads take turns instead of running side by side."""
    allowed = os.sched_getaffinity(0)
    if cpus == "one CPU":
        os.sched_setaffinity(0, {min(allowed)})
    try:
        _walk_wide_directories(tmp_path)
    finally:
        os.sched_setaffinity(0, allowed)


def _walk_wide_directories(tmp_path: Path) -> None:
    top = tmp_path / "wide"
    for group in range(3):
        directory = top / f"d{group}"
        directory.mkdir(parents=True)
        for index in range(700):
            path = directory / f"f{index}"
            path.touch()
            os.chown(path, 0, 0)
            if index % 7 == 1:
                os.setxattr(path, "trusted.libvirt.security.dac", b"+109:+114")
            if index % 7 == 2:
                os.setxattr(path, CAPABILITY, treegen.CAP_NET_RAW)
            if index % 7 == 3:
                os.setxattr(path, "system.posix_acl_access", treegen.acl_value({109: 6}, {}, 0o640))
    expected = oracle(os.fsencode(top), {109}, {114}, False)
    assert len(expected) == 1 + 3 * 200  # the top and the ACL or label files
    cwd = os.getcwd()
    for setting in ("auto", "fallback"):
        os.environ[walk.WALK_VARIABLE] = setting
        try:
            errors: list[tuple[bytes, OSError]] = []
            tree = walk.TreeWalk(
                os.fsencode(top),
                uids={109},
                gids={114},
                on_error=lambda p, e, errors=errors: errors.append((p, e)),
            )
            rows = []
            for entry in tree:
                assert os.getcwd() == cwd
                rows.append(tuple(entry))
            assert (sorted(rows), errors, tree.scanned) == (expected, [], 1 + 3 + 3 * 700), setting
        finally:
            del os.environ[walk.WALK_VARIABLE]
    assert os.getcwd() == cwd
