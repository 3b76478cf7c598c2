# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The C walk, on both of its ways to list xattrs, against a plain Python walk on random trees.

The oracle is written for clarity, not speed: ``os.lstat`` and ``os.listxattr`` by path,
recursion, no threads; like the walk it always yields the top. Both C paths must yield
exactly its entries, with the same stat fields and the same "carries an ACL or libvirt
label" flag, whatever the numbers asked for.
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
Row = tuple[bytes, int, int, int, int, int, int, bool]


def _relevant(path: bytes, mode: int) -> bool:
    if stat.S_ISLNK(mode):
        return False
    names = os.listxattr(path, follow_symlinks=False)
    return any(name.startswith(RELEVANT[0]) or name in RELEVANT[1:] for name in names)


def oracle(top: bytes, uids: set[int], gids: set[int], every: bool) -> list[Row]:
    found: list[Row] = []

    def visit(path: bytes) -> None:
        st = os.lstat(path)
        xattr = _relevant(path, st.st_mode)
        if path == top or every or xattr or st.st_uid in uids or st.st_gid in gids:
            found.append(
                (path, st.st_dev, st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, xattr)
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
