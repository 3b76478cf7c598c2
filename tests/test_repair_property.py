# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Property test of ``repair`` and ``rollback`` on random trees.

Trees: nested directories, files, symlinks into the tree, out of it (to a file owned by the
old numbers that must never change), dangling and looping, hard links across directories,
FIFOs, a device node, owners from {old, other, target} x {old, other, target}, modes with
setuid/setgid/sticky, ACLs (access and default) naming old and other numbers, libvirt's dac
xattrs, file capabilities, and names with newlines and invalid UTF-8.

Property: after ``repair --from-uid 109 --from-gid 114`` nothing under the path carries 109
or 114 (owner, group, ACL entry, dac xattr), every field that did not name them is as it
was, the outside target is untouched; after ``rollback`` every entry equals the original.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli_support
import treegen
from libvirt_static_ids.files import repair_run
from libvirt_static_ids.files.idmap import IdMap
from libvirt_static_ids.host import rollback
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed import simulated
from treegen import DAC, DEFAULT, OLD_GID, OLD_UID, TARGET

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: chown, trusted.* xattrs, mknod"),
    # Both ways the walk lists xattrs: listxattrat and the fallback of kernels before 6.13.
    pytest.mark.usefixtures("walk_path"),
]

OTHER_UIDS = (1000, 110)
OTHER_GIDS = (1000, 106)
UIDS = (OLD_UID, *OTHER_UIDS, TARGET)
GIDS = (OLD_GID, *OTHER_GIDS, TARGET)
UID_MAP = {OLD_UID: TARGET}
GID_MAP = {OLD_GID: TARGET}
OWNER = re.compile(rb"^\+(\d+):\+(\d+)$")

MODES = (0o600, 0o640, 0o644, 0o755, 0o700, 0o4755, 0o2755, 0o6755, 0o6644, 0o2644, 0o4711)
DIR_MODES = (0o755, 0o700, 0o2775, 0o1777, 0o3770)
ODD_NAMES = (b"new\nline", b"\xff\xfe-invalid", b"\xc3(", b" ", b"tab\t", b"-", b"\x01ctl")
DAC_VALUES = (b"+109:+114", b"+109:+106", b"+1000:+114", b"+0:+0", b"+64055:+64055", b"junk")


@dataclass
class Spec:
    kind: str  # dir file symlink hardlink fifo device
    parent: int  # index into the directories made so far (0 = the tree's top)
    name: bytes
    uid: int
    gid: int
    mode: int
    acl_users: dict[int, int] = field(default_factory=dict)
    acl_groups: dict[int, int] = field(default_factory=dict)
    default_acl: bool = False
    dac: bytes | None = None
    capability: bool = False
    link: str = ""  # symlinks: inside | outside | outside-dir | dangling | self | pair
    other: int = 0  # symlink/hard link: which existing entry


names = st.one_of(
    st.sampled_from(ODD_NAMES),
    st.binary(min_size=1, max_size=6).filter(lambda b: b"/" not in b and b"\0" not in b),
)
perms = st.integers(0, 7)


@st.composite
def specs(draw: st.DrawFn) -> list[Spec]:
    count = draw(st.integers(0, 30))
    made: list[Spec] = []
    directories = 1
    for index in range(count):
        kind = draw(
            st.sampled_from(["dir", "file", "file", "symlink", "hardlink", "fifo", "device"])
        )
        spec = Spec(
            kind=kind,
            parent=draw(st.integers(0, directories - 1)),
            # unique per directory whatever was drawn; "." and ".." are avoided by the suffix
            name=draw(names) + b"-%d" % index,
            uid=draw(st.sampled_from(UIDS)),
            gid=draw(st.sampled_from(GIDS)),
            mode=draw(st.sampled_from(DIR_MODES if kind == "dir" else MODES)),
        )
        if kind not in ("symlink", "hardlink") and draw(st.integers(0, 2)) == 0:
            spec.acl_users = draw(st.dictionaries(st.sampled_from(UIDS), perms, max_size=3))
            spec.acl_groups = draw(st.dictionaries(st.sampled_from(GIDS), perms, max_size=3))
        if kind == "dir":
            spec.default_acl = draw(st.booleans())
            directories += 1
        if kind not in ("symlink", "hardlink", "dir") and draw(st.booleans()):
            spec.dac = draw(st.sampled_from(DAC_VALUES))
        if kind == "file":
            spec.capability = draw(st.integers(0, 5)) == 0
        if kind == "symlink":
            spec.link = draw(
                st.sampled_from(["inside", "outside", "outside-dir", "dangling", "self", "pair"])
            )
        spec.other = draw(st.integers(0, 1000))
        made.append(spec)
    return made


def build(top: str, outside: str, tree: list[Spec], top_owner: tuple[int, int]) -> None:
    os.mkdir(top)
    os.chown(top, *top_owner)
    directories = [os.fsencode(top)]
    files: list[bytes] = []
    made: list[bytes] = []
    for spec in tree:
        path = os.path.join(directories[spec.parent], spec.name)
        if spec.kind == "symlink":
            if spec.link == "inside" and made:
                target = os.path.relpath(made[spec.other % len(made)], os.path.dirname(path))
            elif spec.link == "outside":
                target = os.fsencode(outside)
            elif spec.link == "outside-dir":
                target = os.fsencode(os.path.dirname(outside))
            elif spec.link == "self":
                target = path
            elif spec.link == "pair":
                target = path + b"-pair"
                os.symlink(path, target)
                os.chown(target, OLD_UID, spec.gid, follow_symlinks=False)
            else:
                target = path + b"-missing"
            os.symlink(target, path)
            os.chown(path, spec.uid, spec.gid, follow_symlinks=False)
            made.append(path)
            continue
        if spec.kind == "hardlink":
            if not files:
                continue
            os.link(files[spec.other % len(files)], path)
            made.append(path)
            continue
        if spec.kind == "dir":
            os.mkdir(path)
            directories.append(path)
        elif spec.kind == "file":
            with open(path, "wb") as handle:
                handle.write(spec.name)
            files.append(path)
        elif spec.kind == "fifo":
            os.mkfifo(path)
        else:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        made.append(path)
        os.chown(path, spec.uid, spec.gid)
        os.chmod(path, spec.mode)
        if spec.acl_users or spec.acl_groups:
            value = treegen.acl_value(spec.acl_users, spec.acl_groups, spec.mode)
            os.setxattr(path, treegen.ACCESS, value)
        if spec.default_acl:
            value = treegen.acl_value({OLD_UID: 7, 1000: 5}, {OLD_GID: 5, TARGET: 1}, 0o750)
            os.setxattr(path, DEFAULT, value)
        if spec.dac is not None:
            os.setxattr(path, DAC, spec.dac)
            os.setxattr(path, treegen.REF_DAC, b"2")
        if spec.capability:
            os.setxattr(path, treegen.CAPABILITY, treegen.CAP_NET_RAW)


def expected_xattrs(before: dict[str, bytes]) -> dict[str, object]:
    """Each xattr as repair must leave it (ACLs as entry maps: merged entries reorder)."""
    result: dict[str, object] = {}
    for name, value in before.items():
        if name in (treegen.ACCESS, DEFAULT):
            result[name] = treegen.acl_remapped(value, UID_MAP, GID_MAP)
        elif name == DAC and (match := OWNER.match(value)):
            uid, gid = int(match[1]), int(match[2])
            result[name] = b"+%d:+%d" % (UID_MAP.get(uid, uid), GID_MAP.get(gid, gid))
        else:
            result[name] = value
    return result


def comparable_xattrs(xattrs: dict[str, bytes]) -> dict[str, object]:
    return {
        name: treegen.acl_entries(value) if name in (treegen.ACCESS, DEFAULT) else value
        for name, value in xattrs.items()
    }


def names_old(state: dict) -> list[str]:
    return treegen.old_numbers_in(state, OLD_UID, OLD_GID)


def check_repaired(before: dict, after: dict) -> None:
    assert after.keys() == before.keys()
    for path, old in before.items():
        new = after[path]
        assert not names_old(new), (path, names_old(new), new)
        assert new["uid"] == UID_MAP.get(old["uid"], old["uid"]), path
        assert new["gid"] == GID_MAP.get(old["gid"], old["gid"]), path
        for key in ("type", "mode", "target", "size", "rdev", "link", "nlink"):
            assert new.get(key) == old.get(key), (path, key, old.get(key), new.get(key))
        assert comparable_xattrs(new["xattrs"]) == expected_xattrs(old["xattrs"]), path
        if not names_old(old):
            assert new == old, (path, old, new)


def run_repair(state_root: str, top: str, via_cli: bool) -> None:
    args = ["--json", "repair", "--from-uid", str(OLD_UID), "--from-gid", str(OLD_GID), top]
    if via_cli:
        result = cli_support.run(*args, root=state_root)
        assert result.code == 0, (result.out, result.err)
        assert result.data["repair"]["problems"] == []
        return
    report = repair_run.run_repair(
        HostRoot.open(state_root),
        [os.fsencode(top)],
        IdMap.single(OLD_UID, OLD_GID, TARGET, TARGET),
    )
    assert report.stats.problems == [], report.stats.problems


def run_rollback(state_root: str, via_cli: bool) -> None:
    if via_cli:
        result = cli_support.run("--json", "rollback", root=state_root)
        assert result.code == 0, (result.out, result.err)
        return
    report = rollback.rollback(HostRoot.open(state_root), restart=False)
    assert report.clean, report.as_dict()


def check_round_trip(tree: list[Spec], top_owner: tuple[int, int], via_cli: bool) -> None:
    base = tempfile.mkdtemp(prefix="repair-property-")
    try:
        # A system root holding the tree: repair refuses a PATH outside --root.
        state_root = base
        simulated.write_accounts(state_root, simulated.SimulatedHost())
        outside = os.path.join(base, "outside", "target.img")
        treegen.make_outside_target(outside)
        top = os.path.join(base, "tree")
        build(top, outside, tree, top_owner)
        before = treegen.snapshot(top)
        outside_before = treegen.snapshot(os.path.dirname(outside))

        run_repair(state_root, top, via_cli)
        check_repaired(before, treegen.snapshot(top))
        assert treegen.snapshot(os.path.dirname(outside)) == outside_before

        run_rollback(state_root, via_cli)
        differences = treegen.differences(treegen.snapshot(top), before)
        assert not differences, "\n".join(differences)
        assert treegen.snapshot(os.path.dirname(outside)) == outside_before
    finally:
        shutil.rmtree(base)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # walk_path only sets the environment
    ],
)
@given(
    tree=specs(),
    top_owner=st.tuples(st.sampled_from(UIDS), st.sampled_from(GIDS)),
    via_cli=st.integers(0, 3).map(lambda n: n == 0),
)
def test_repair_remaps_only_old_numbers_and_rollback_restores(
    tree: list[Spec], top_owner: tuple[int, int], via_cli: bool
) -> None:
    check_round_trip(tree, top_owner, via_cli)


def test_fixed_messy_tree_through_the_cli() -> None:
    """One tree with every kind of entry, always through the real command line."""
    tree = [
        Spec("dir", 0, b"sub\n", OLD_UID, OLD_GID, 0o2775, {OLD_UID: 7}, {OLD_GID: 5}, True),
        Spec("file", 1, b"\xff\xfe.img", OLD_UID, 1000, 0o6755, dac=b"+109:+114"),
        Spec("file", 0, b"cap", OLD_UID, OLD_GID, 0o4755, capability=True),
        Spec("file", 0, b"merge", 0, 0, 0o640, {OLD_UID: 4, TARGET: 2}, {OLD_GID: 4}),
        Spec("hardlink", 1, b"link-elsewhere", 0, 0, 0, other=0),
        Spec("symlink", 0, b"out", OLD_UID, OLD_GID, 0, link="outside"),
        Spec("symlink", 1, b"in", 1000, OLD_GID, 0, link="inside", other=1),
        Spec("symlink", 0, b"loop", OLD_UID, 1000, 0, link="pair"),
        Spec("symlink", 0, b"self", OLD_UID, 1000, 0, link="self"),
        Spec("fifo", 1, b"fifo", 1000, OLD_GID, 0o6644, dac=b"+109:+106"),
        Spec("device", 0, b"null", OLD_UID, OLD_GID, 0o600, {1000: 6}, {OLD_GID: 6}),
        Spec("file", 0, b"untouched", 1000, 1000, 0o4755, {1000: 6}, dac=b"+0:+0"),
    ]
    check_round_trip(tree, (OLD_UID, OLD_GID), via_cli=True)
