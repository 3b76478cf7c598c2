# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""`repair`: real trees with symlinks, hard links, special bits, ACLs, xattrs and odd names."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from collections import Counter
from pathlib import Path

import pytest

# Both ways the walk lists xattrs: listxattrat and the fallback of kernels before 6.13.
pytestmark = pytest.mark.usefixtures("walk_path")

DAC = "trusted.libvirt.security.dac"
REF_DAC = "trusted.libvirt.security.ref_dac"
TIMESTAMP_DAC = "trusted.libvirt.security.timestamp_dac"
STATE = b"var/lib/libvirt-static-ids"


def make(path: Path | bytes, owner: tuple[int, int], mode: int = 0o640, data: bytes = b"x"):
    with open(path, "wb") as handle:
        handle.write(data)
    os.chown(path, *owner)
    os.chmod(path, mode)


def make_dir(path: Path | bytes, owner: tuple[int, int], mode: int = 0o755):
    os.mkdir(path)
    os.chown(path, *owner)
    os.chmod(path, mode)


def symlink(target: Path | bytes | str, path: Path | bytes, owner: tuple[int, int]):
    os.symlink(target, path)
    os.chown(path, *owner, follow_symlinks=False)


def owner(path: Path | bytes) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def getfacl(path: Path | bytes, *options: str) -> list[str]:
    out = subprocess.run(
        ["getfacl", "-n", "-p", "-E", "--omit-header", *options, os.fsencode(path)],
        capture_output=True,
        check=True,
    ).stdout
    return [line for line in out.decode().splitlines() if line and not line.startswith("#")]


def setfacl(path: Path | bytes, *args: str) -> None:
    subprocess.run(["setfacl", *args, os.fsencode(path)], check=True)


def repair(cli, root: Path, *paths, options=(), old=(109, 114), json=True, **kwargs):
    return cli(
        "repair",
        "--from-uid",
        str(old[0]),
        "--from-gid",
        str(old[1]),
        *options,
        *paths,
        root=root,
        json=json,
        **kwargs,
    )


def entry_records(cli, root: Path, run_id: str) -> list[dict]:
    show = cli("journal", "show", run_id, root=root, json=True)
    assert show.code == 0, show
    return [record for record in show.data["records"] if record["op"] == "entry"]


def rollback(cli, root: Path) -> dict:
    result = cli("rollback", root=root, json=True)
    assert result.code == 0, result
    assert result.data["conflicts"] == []
    return result.data


@pytest.fixture
def tree(fake_root: Path) -> Path:
    path = fake_root / "srv/tree"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def outside(fake_root: Path) -> Path:
    """A directory outside the repaired tree, with files carrying the old numbers."""
    path = fake_root / "srv/outside"
    path.mkdir(parents=True)
    make(path / "file", (109, 114))
    make_dir(path / "dir", (109, 114))
    make(path / "dir/inner", (109, 114))
    return path


def test_owner_and_group_are_remapped_independently(cli, fake_root, tree, snapshot):
    cases = {
        "both": ((109, 114), (64055, 64055)),
        "user-only": ((109, 106), (64055, 106)),
        "untouched": ((110, 110), (110, 110)),
        "group-only": ((106, 114), (106, 64055)),
        "root": ((0, 0), (0, 0)),
    }
    for name, (before, _) in cases.items():
        make(tree / name, before)
    make_dir(tree / "dir", (109, 106))
    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    assert {name: owner(tree / name) for name in cases} == {
        name: after for name, (_, after) in cases.items()
    }
    assert owner(tree / "dir") == (64055, 106)
    assert result.data["uids"] == {"109": 64055}
    assert result.data["gids"] == {"114": 64055}
    assert result.data["repair"]["changed"] == 4
    assert result.data["repair"]["scanned"] == 7


def test_to_options_choose_the_new_numbers(cli, fake_root, tree):
    make(tree / "f", (109, 114))
    make(tree / "g", (109, 106))
    result = repair(cli, fake_root, tree, options=["--to-uid", "64070", "--to-gid", "64071"])
    assert result.code == 0, result
    assert owner(tree / "f") == (64070, 64071)
    assert owner(tree / "g") == (64070, 106)


def test_symlinks_are_changed_themselves_never_their_targets(cli, fake_root, tree, outside):
    symlink(outside / "file", tree / "to-file", (109, 114))
    symlink(outside / "dir", tree / "to-dir", (109, 106))
    symlink(outside / "file", tree / "roots-link", (0, 0))
    symlink("/nonexistent/dangling", tree / "dangling", (109, 114))
    os.chmod(outside / "file", 0o4750)  # noqa: S103 - setuid bits are under test
    before = {p: os.lstat(p) for p in (outside / "file", outside / "dir", outside / "dir/inner")}

    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    assert owner(tree / "to-file") == (64055, 64055)
    assert owner(tree / "to-dir") == (64055, 106)
    assert owner(tree / "roots-link") == (0, 0)
    assert owner(tree / "dangling") == (64055, 64055)
    assert os.readlink(tree / "to-file") == str(outside / "file")
    for path, st in before.items():
        now = os.lstat(path)
        assert (now.st_uid, now.st_gid, now.st_mode) == (st.st_uid, st.st_gid, st.st_mode), path
    records = entry_records(cli, fake_root, result.data["run_id"])
    assert {os.path.basename(r["path"]) for r in records} == {"to-file", "to-dir", "dangling"}


def test_a_symlink_given_as_path_is_not_followed(cli, fake_root, outside):
    link = fake_root / "srv/link-to-outside"
    symlink(outside, link, (109, 114))
    result = repair(cli, fake_root, link)
    assert result.code == 0, result
    assert owner(link) == (64055, 64055)
    assert result.data["repair"]["scanned"] == 1
    assert owner(outside / "file") == (109, 114)
    assert owner(outside / "dir") == (109, 114)
    assert owner(outside / "dir/inner") == (109, 114)


def test_a_symlink_path_does_not_hide_a_real_path_beneath_its_target(cli, fake_root, outside):
    """`repair LINK DIR` where LINK points above DIR: DIR must still be walked."""
    link = fake_root / "srv/link-to-outside"
    symlink(outside, link, (0, 0))
    result = repair(cli, fake_root, link, outside / "dir")
    assert result.code == 0, result
    assert owner(outside / "dir/inner") == (64055, 64055)
    assert owner(outside / "file") == (109, 114)  # LINK itself was not followed


def test_overlapping_paths_are_walked_once(cli, fake_root, tree):
    make_dir(tree / "sub", (109, 114))
    make(tree / "sub/f", (109, 114))
    make(tree / "g", (109, 106))
    result = repair(cli, fake_root, tree / "sub", tree, str(tree) + "/", tree / "sub/f")
    assert result.code == 0, result
    assert result.data["repair"]["scanned"] == 4
    paths = [r["path"] for r in entry_records(cli, fake_root, result.data["run_id"])]
    assert sorted(paths) == sorted(str(tree / name) for name in ("sub", "sub/f", "g"))
    assert owner(tree / "sub/f") == (64055, 64055)
    assert owner(tree / "g") == (64055, 106)


def test_symlink_loops_are_harmless(cli, fake_root, tree):
    make_dir(tree / "sub", (109, 114))
    symlink("b", tree / "a", (109, 114))
    symlink("a", tree / "b", (109, 114))
    symlink("self", tree / "self", (109, 106))
    symlink("..", tree / "sub/up", (109, 114))
    symlink(str(tree), tree / "sub/top", (109, 114))
    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    assert result.data["repair"]["scanned"] == 7
    assert owner(tree / "self") == (64055, 106)
    for name in ("a", "b", "sub", "sub/up", "sub/top"):
        assert owner(tree / name) == (64055, 64055), name


def test_hard_links_are_changed_and_journaled_once(cli, fake_root, tree, outside):
    make_dir(tree / "sub", (0, 0))
    make(tree / "f", (109, 114))
    os.link(tree / "f", tree / "g")
    os.link(tree / "f", tree / "sub/h")
    os.link(outside / "file", tree / "from-outside")
    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    assert owner(tree / "sub/h") == (64055, 64055)
    assert owner(outside / "file") == (64055, 64055)  # the same inode as tree/from-outside
    assert result.data["repair"]["changed"] == 2
    records = entry_records(cli, fake_root, result.data["run_id"])
    inodes = Counter((r["dev"], r["ino"]) for r in records)
    assert inodes == {
        (os.lstat(tree / "f").st_dev, os.lstat(tree / "f").st_ino): 1,
        (os.lstat(outside / "file").st_dev, os.lstat(outside / "file").st_ino): 1,
    }
    rollback(cli, fake_root)
    assert owner(tree / "g") == (109, 114)
    assert owner(outside / "file") == (109, 114)


def test_setuid_and_setgid_bits_survive_the_chown(cli, fake_root, tree):
    scratch = tree.parent / "scratch"
    make(scratch, (109, 114), 0o6755)
    os.chown(scratch, 64055, 64055)
    assert stat.S_IMODE(os.lstat(scratch).st_mode) == 0o755  # what chown alone does

    modes = {"suid": 0o4755, "sgid": 0o2755, "both": 0o6750, "sgid-nox": 0o2640}
    for name, mode in modes.items():
        make(tree / name, (109, 114), mode)
    make_dir(tree / "sgid-dir", (109, 114), 0o2775)
    make_dir(tree / "sticky-dir", (109, 106), 0o3770)
    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    for name, mode in modes.items():
        st = os.lstat(tree / name)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (64055, 64055, mode), name
    assert stat.S_IMODE(os.lstat(tree / "sgid-dir").st_mode) == 0o2775
    assert stat.S_IMODE(os.lstat(tree / "sticky-dir").st_mode) == 0o3770
    assert owner(tree / "sticky-dir") == (64055, 106)
    rollback(cli, fake_root)
    for name, mode in modes.items():
        st = os.lstat(tree / name)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (109, 114, mode), name


def test_acl_entries_naming_old_numbers_are_remapped(cli, fake_root, tree):
    image = tree / "image.qcow2"
    make(image, (0, 0), 0o640)
    setfacl(image, "-m", "u:109:rw-,u:110:r--,g:114:rw-,g:106:r--,g:110:r--,m::rw-")
    directory = tree / "shared"
    make_dir(directory, (0, 0), 0o750)
    setfacl(directory, "-m", "u:109:rwx,g:114:r-x")
    setfacl(directory, "-d", "-m", "u::rwx,g::r-x,o::---,u:109:rwx,u:110:r-x,g:114:rwx")
    make(tree / "plain-acl", (0, 0))
    setfacl(tree / "plain-acl", "-m", "u:110:rw-,g:106:r--")
    before = {p: getfacl(p) for p in (image, directory, tree / "plain-acl")}

    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    assert set(getfacl(image)) == {
        "user::rw-",
        "user:110:r--",
        "user:64055:rw-",
        "group::r--",
        "group:106:r--",
        "group:110:r--",
        "group:64055:rw-",
        "mask::rw-",
        "other::---",
    }
    assert len(getfacl(image)) == len(before[image])
    assert set(getfacl(directory)) == {
        "user::rwx",
        "user:64055:rwx",
        "group::r-x",
        "group:64055:r-x",
        "mask::rwx",
        "other::---",
        "default:user::rwx",
        "default:user:110:r-x",
        "default:user:64055:rwx",
        "default:group::r-x",
        "default:group:64055:rwx",
        "default:mask::rwx",
        "default:other::---",
    }
    assert getfacl(tree / "plain-acl") == before[tree / "plain-acl"]
    assert owner(image) == (0, 0)
    assert {
        os.path.basename(c["path"]) for c in entry_records(cli, fake_root, result.data["run_id"])
    } == {
        "image.qcow2",
        "shared",
    }
    rollback(cli, fake_root)
    assert {p: getfacl(p) for p in before} == before


def test_acl_entries_merge_when_the_new_number_has_one_too(cli, fake_root, tree):
    image = tree / "image.qcow2"
    make(image, (0, 0), 0o640)
    setfacl(image, "-m", "u:109:r--,u:64055:-w-,g:114:--x,g:64055:r--,m::rwx")
    before = getfacl(image)
    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    after = getfacl(image)
    assert "user:64055:rw-" in after
    assert "group:64055:r-x" in after
    assert not [line for line in after if ":109:" in line or ":114:" in line]
    assert len(after) == len(before) - 2
    rollback(cli, fake_root)
    assert getfacl(image) == before


def test_libvirt_remembered_owner_xattrs_are_remapped(cli, fake_root, tree):
    values = {
        "running.qcow2": b"+109:+114",
        "user-only.qcow2": b"+109:+106",
        "group-only.qcow2": b"+110:+114",
        "root.qcow2": b"+0:+0",
    }
    for name, value in values.items():
        make(tree / name, (0, 0), 0o600)
        os.setxattr(tree / name, DAC, value)
        os.setxattr(tree / name, REF_DAC, b"1")
        os.setxattr(tree / name, TIMESTAMP_DAC, b"1700000000")
        os.setxattr(tree / name, "user.note", b"+109:+114")
    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    expected = {
        "running.qcow2": b"+64055:+64055",
        "user-only.qcow2": b"+64055:+106",
        "group-only.qcow2": b"+110:+64055",
        "root.qcow2": b"+0:+0",
    }
    assert {name: os.getxattr(tree / name, DAC) for name in values} == expected
    for name in values:
        assert os.getxattr(tree / name, REF_DAC) == b"1"
        assert os.getxattr(tree / name, TIMESTAMP_DAC) == b"1700000000"
        assert os.getxattr(tree / name, "user.note") == b"+109:+114"
        assert owner(tree / name) == (0, 0)
    assert result.data["repair"]["changed"] == 3
    rollback(cli, fake_root)
    assert {name: os.getxattr(tree / name, DAC) for name in values} == values


def test_names_are_bytes(cli, fake_root, tree, snapshot):
    raw = os.fsencode(tree)
    names = [b"new\nline.img", b"bad\xff\xfe.img", b"dir\xff", b"dir\xff/in\nner\xfe", b"tab\tx"]
    for name in names:
        if name == b"dir\xff":
            make_dir(os.path.join(raw, name), (109, 114))
        else:
            make(os.path.join(raw, name), (109, 114))
    before = snapshot(tree)

    dry = repair(cli, fake_root, tree, options=["--dry-run"], json=False)
    assert dry.code == 0, dry
    assert "new\\nline.img" in dry.out
    assert "bad\\xff\\xfe.img" in dry.out
    assert "dir\\xff/in\\nner\\xfe" in dry.out

    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    listed = {os.fsencode(r["path"]) for r in entry_records(cli, fake_root, result.data["run_id"])}
    assert listed == {os.path.join(raw, name) for name in names}
    for name in names:
        assert owner(os.path.join(raw, name)) == (64055, 64055), name
    rollback(cli, fake_root)
    assert snapshot(tree) == before


def _mount_wrapper(mountpoint: Path) -> list[str]:
    """Run the command in a private mount namespace with a tmpfs (owned 109:114) on
    ``mountpoint`` holding two old-numbered entries; report their owners on stderr."""
    script = r"""
set -e
mount --make-rprivate /
mount -t tmpfs -o uid=109,gid=114,mode=0755 none "$1"
mkdir "$1/d" && chown 109:106 "$1/d"
touch "$1/d/img" && chown 109:114 "$1/d/img"
mnt="$1"
shift
set +e
"$@"
rc=$?
stat -c 'OWNER %u:%g %n' "$mnt" "$mnt/d" "$mnt/d/img" >&2
exit $rc
"""
    return ["unshare", "-m", "sh", "-c", script, "sh", str(mountpoint)]


def _mount_owners(err: str, mountpoint: Path) -> dict[str, str]:
    found = {}
    for line in err.splitlines():
        if line.startswith("OWNER "):
            _, numbers, path = line.split(" ", 2)
            found[os.path.relpath(path, mountpoint)] = numbers
    assert len(found) == 3, err
    return found


def test_other_filesystems_are_left_alone_unless_asked(cli, fake_root, tree):
    make_dir(tree / "mnt", (0, 0))
    make(tree / "local", (109, 114))
    result = repair(cli, fake_root, tree, wrapper=_mount_wrapper(tree / "mnt"))
    assert result.code == 0, result
    assert _mount_owners(result.err, tree / "mnt") == {
        ".": "109:114",
        "d": "109:106",
        "d/img": "109:114",
    }
    assert owner(tree / "local") == (64055, 64055)
    assert not [c for c in result.data["changes"] if "/mnt" in c["path"]]

    rollback(cli, fake_root)
    crossed = repair(
        cli,
        fake_root,
        tree,
        options=["--cross-filesystems"],
        wrapper=_mount_wrapper(tree / "mnt"),
    )
    assert crossed.code == 0, crossed
    assert _mount_owners(crossed.err, tree / "mnt") == {
        ".": "64055:64055",
        "d": "64055:106",
        "d/img": "64055:64055",
    }
    assert owner(tree / "local") == (64055, 64055)


def test_a_path_named_on_another_filesystem_is_repaired(cli, fake_root, tree):
    """`repair TREE TREE/mnt`: the mount is named explicitly, so it is walked."""
    make_dir(tree / "mnt", (0, 0))
    make(tree / "local", (109, 114))
    result = repair(cli, fake_root, tree, tree / "mnt", wrapper=_mount_wrapper(tree / "mnt"))
    assert result.code == 0, result
    assert _mount_owners(result.err, tree / "mnt") == {
        ".": "64055:64055",
        "d": "64055:106",
        "d/img": "64055:64055",
    }
    assert owner(tree / "local") == (64055, 64055)


def test_convert_path_on_a_mount_inside_libvirts_tree_is_repaired(cli, fake_root):
    """The KB's case: images on another file system mounted under /var/lib/libvirt/images."""
    images = fake_root / "var/lib/libvirt/images"
    result = cli(
        "convert",
        "--path",
        str(images),
        root=fake_root,
        json=True,
        wrapper=_mount_wrapper(images),
    )
    assert result.code == 0, result
    assert _mount_owners(result.err, images) == {
        ".": "64055:64055",
        "d": "64055:106",
        "d/img": "64055:64055",
    }


def _rich_tree(tree: Path, outside: Path) -> None:
    make_dir(tree / "d", (109, 114), 0o2770)
    make(tree / "d/img", (109, 114), 0o660)
    make(tree / "d/keep", (110, 110))
    make(tree / "suid", (109, 106), 0o4750)
    os.link(tree / "suid", tree / "d/suid-link")
    make(tree / "acl", (0, 0))
    setfacl(tree / "acl", "-m", "u:109:rw-,g:114:r--")
    setfacl(tree / "d", "-d", "-m", "u:109:rwx")
    make(tree / "dac", (0, 0))
    os.setxattr(tree / "dac", DAC, b"+109:+114")
    symlink(outside / "file", tree / "out-link", (109, 114))
    symlink("loop", tree / "loop", (0, 114))
    make(os.path.join(os.fsencode(tree), b"odd\n\xff"), (109, 114))
    os.mkfifo(tree / "fifo")
    os.chown(tree / "fifo", 109, 114)


def test_dry_run_lists_exactly_what_the_real_run_changes(cli, fake_root, tree, outside, snapshot):
    _rich_tree(tree, outside)
    before = snapshot(fake_root)
    dry = repair(cli, fake_root, tree, options=["--dry-run"])
    assert dry.code == 0, dry
    assert dry.data["dry_run"] is True
    assert dry.data["run_id"] is None
    assert snapshot(fake_root) == before
    listed = {os.fsencode(c["path"]): c["after"] for c in dry.data["changes"]}

    real = repair(cli, fake_root, tree)
    assert real.code == 0, real
    after = snapshot(fake_root, exclude=[STATE])
    root = os.fsencode(fake_root)
    changed = {os.path.join(root, path) for path, entry in before.items() if after[path] != entry}
    # A hard link shows the change under each of its names; it is listed under one.
    assert changed == {*listed, os.path.join(os.fsencode(tree), b"d/suid-link")}
    assert len(listed) == 9  # d, d/img, suid, acl, dac, out-link, loop, odd name, fifo
    assert os.fsencode(outside / "file") not in changed
    for path, meta in listed.items():
        entry = after[os.path.relpath(path, root)]
        assert (entry.uid, entry.gid, entry.mode) == (meta["uid"], meta["gid"], meta["mode"])
        for name, value in meta.get("xattrs", {}).items():
            assert dict(entry.xattrs)[name] == base64.b64decode(value), (path, name)


def test_rollback_of_a_repair_restores_the_tree_exactly(cli, fake_root, tree, outside, snapshot):
    _rich_tree(tree, outside)
    before = snapshot(fake_root)
    result = repair(cli, fake_root, tree)
    assert result.code == 0, result
    assert snapshot(fake_root, exclude=[STATE]) != before
    rollback(cli, fake_root)
    assert snapshot(fake_root, exclude=[STATE]) == {
        path: entry for path, entry in before.items() if not path.startswith(STATE)
    }


# --- repair --orphans --------------------------------------------------------------------------


def test_orphans_with_known_numbers_are_remapped_unknown_ones_listed(cli, fake_root, snapshot):
    extra = fake_root / "srv/nfs"
    extra.mkdir(parents=True)
    make(extra / "old-vm.img", (109, 114))  # not an orphan yet: 109 is libvirt-qemu's
    make(extra / "old-user-only.img", (109, 106))
    make(extra / "stranger.img", (4242, 4242))
    make(extra / "mine.img", (0, 106))
    before = snapshot(fake_root, exclude=[STATE, b"etc"])
    accounts = {name: (fake_root / "etc" / name).read_bytes() for name in ("passwd", "group")}

    assert cli("convert", root=fake_root).code == 0  # without --path: extra keeps 109:114
    assert owner(extra / "old-vm.img") == (109, 114)

    dry = cli("repair", "--orphans", "--dry-run", str(extra), root=fake_root, json=True)
    assert dry.code == 0, dry
    assert owner(extra / "old-vm.img") == (109, 114)
    assert {os.path.basename(c["path"]) for c in dry.data["changes"]} == {
        "old-vm.img",
        "old-user-only.img",
    }

    result = cli("repair", "--orphans", str(extra), root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["mode"] == "orphans"
    assert result.data["known_old_uids"] == {"109": 64055}
    assert result.data["known_old_gids"] == {"114": 64055}
    assert owner(extra / "old-vm.img") == (64055, 64055)
    assert owner(extra / "old-user-only.img") == (64055, 106)
    assert owner(extra / "stranger.img") == (4242, 4242)
    assert owner(extra / "mine.img") == (0, 106)
    assert result.data["untouched"] == [
        {"path": str(extra / "stranger.img"), "uid": 4242, "gid": 4242}
    ]
    human = cli("repair", "--orphans", str(extra), root=fake_root)
    assert human.code == 0
    assert "stranger.img: 4242:4242" in human.out

    runs = cli("journal", root=fake_root, json=True).data["runs"]
    assert [run["kind"] for run in runs] == ["convert", "orphans", "orphans"]
    bare = cli("rollback", root=fake_root, json=True)  # an orphans run came after the convert
    assert bare.code == 2 and [c["run_id"] for c in bare.data["error"]["candidates"]] == [
        runs[1]["run_id"],  # the second orphans run changed nothing: not offered
        runs[0]["run_id"],
    ]
    for run in reversed(runs):  # by name, newest first
        assert cli("rollback", run["run_id"], root=fake_root, json=True).code == 0
    assert snapshot(fake_root, exclude=[STATE, b"etc"]) == before
    assert {name: (fake_root / "etc" / name).read_bytes() for name in accounts} == accounts
    states = [run["state"] for run in cli("journal", root=fake_root, json=True).data["runs"]]
    assert states == ["rolled back"] * 3


def test_orphans_default_scope_is_libvirts_tree(cli, fake_root):
    assert cli("convert", root=fake_root).code == 0
    late = fake_root / "var/lib/libvirt/qemu/save/web.save"
    make(late, (109, 114))  # restored by libvirt from a stale remembered owner
    stranger = fake_root / "var/log/libvirt/qemu/x.log"
    make(stranger, (4242, 109))
    result = cli("repair", "--orphans", root=fake_root, json=True)
    assert result.code == 0, result
    assert owner(late) == (64055, 64055)
    assert owner(stranger) == (4242, 109)
    assert [u["path"] for u in result.data["untouched"]] == [str(stranger)]


def test_orphans_without_a_journal_only_lists(cli, fake_root, snapshot):
    make(fake_root / "var/lib/libvirt/images/lost.img", (4242, 114))
    before = snapshot(fake_root)
    result = cli("repair", "--orphans", root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["known_old_uids"] == {}
    assert result.data["changes"] == []
    assert [u["uid"] for u in result.data["untouched"]] == [4242]
    assert snapshot(fake_root) == before


@pytest.mark.parametrize(
    "command",
    [
        ("repair", "--from-uid", "109", "--from-gid", "114", "var/lib/libvirt"),
        ("convert",),
        ("rollback",),
    ],
)
def test_a_bad_walk_setting_is_refused_before_anything(
    cli, fake_root, snapshot, monkeypatch, command
):
    """Exit 2 naming the value, and no run, no journal, no state directory: nothing made."""
    convert_first = command == ("rollback",)
    if convert_first:  # something to roll back, so the refusal is not "nothing to do"
        assert cli("convert", root=fake_root).code == 0
    before = snapshot(fake_root)
    monkeypatch.setenv("LIBVIRT_STATIC_IDS_WALK", "falback")
    argv = [str(fake_root / a) if a.startswith("var/") else a for a in command]
    result = cli(*argv, root=fake_root, json=True)
    assert result.code == 2, result
    assert "LIBVIRT_STATIC_IDS_WALK='falback'" in result.data["error"]["message"], result
    human = cli(*argv, root=fake_root)
    assert human.code == 2 and "'falback' is not one of: auto, fallback" in human.err, human
    assert snapshot(fake_root) == before
    if not convert_first:
        assert not (fake_root / os.fsdecode(STATE)).exists()
