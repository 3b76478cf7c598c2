# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""`rollback`: exact restore of entries and account numbers; others' changes are left alone."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

# Both ways the walk lists xattrs: listxattrat and the fallback of kernels before 6.13.
pytestmark = pytest.mark.usefixtures("walk_path")

STATE = b"var/lib/libvirt-static-ids"
DAC = "trusted.libvirt.security.dac"
# usermod/groupmod leave backups of the files they rewrite; they are not host state we restore.
SHADOW_BACKUPS = [b"etc/passwd-", b"etc/group-", b"etc/shadow-", b"etc/gshadow-"]
EXCLUDE = [STATE, *SHADOW_BACKUPS]
ACCOUNT_FILES = ("passwd", "group", "shadow", "gshadow")


def accounts(root: Path) -> dict[str, bytes]:
    return {name: (root / "etc" / name).read_bytes() for name in ACCOUNT_FILES}


def owner(path: Path | bytes) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def make(path: Path | bytes, uid: int, gid: int, mode: int = 0o640) -> None:
    with open(path, "wb") as handle:
        handle.write(b"data")
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def convert(cli, root: Path, *args: str) -> str:
    result = cli("convert", *args, root=root, json=True)
    assert result.code == 0, result
    assert result.data["status"] == "converted"
    return result.data["run_id"]


def runs(cli, root: Path) -> dict[str, str]:
    data = cli("journal", root=root, json=True).data
    return {run["run_id"]: run["state"] for run in data["runs"]}


@pytest.fixture
def busy_root(fake_root: Path) -> Path:
    """The simulated host plus every kind of metadata a rollback must restore exactly."""
    libvirt = fake_root / "var/lib/libvirt"
    images = libvirt / "images"
    make(images / "suid.img", 109, 114, 0o6750)
    os.link(images / "suid.img", libvirt / "qemu/save/suid-link")
    directory = images / "pool"
    os.mkdir(directory)
    os.chown(directory, 109, 106)
    os.chmod(directory, 0o2770)  # noqa: S103 - setgid directory under test
    subprocess.run(["setfacl", "-m", "u:109:rwx,g:114:rwx", directory], check=True)
    subprocess.run(["setfacl", "-d", "-m", "u:109:rwx,g:114:r-x", directory], check=True)
    make(directory / "acl.img", 0, 0)
    subprocess.run(
        ["setfacl", "-m", "u:109:rw-,u:64055:r--,g:114:rw-", directory / "acl.img"], check=True
    )
    os.setxattr(directory / "acl.img", DAC, b"+109:+114")
    os.symlink("../suid.img", directory / "link")
    os.chown(directory / "link", 109, 114, follow_symlinks=False)
    make(os.path.join(os.fsencode(directory), b"odd\n\xff.img"), 109, 114)
    return fake_root


def test_rollback_restores_every_entry_and_the_account_numbers(cli, busy_root, snapshot):
    before = snapshot(busy_root, exclude=EXCLUDE)
    account_text = accounts(busy_root)
    run_id = convert(cli, busy_root)
    converted = snapshot(busy_root, exclude=EXCLUDE)
    changed = {path for path, entry in before.items() if converted.get(path) != entry}
    assert len(changed) >= 12  # the simulated host's 7 plus ours
    assert b"var/lib/libvirt/images/pool/acl.img" in changed
    assert accounts(busy_root) != account_text

    result = cli("rollback", root=busy_root, json=True)
    assert result.code == 0, result
    assert result.data["run_id"] == run_id
    assert result.data["status"] == "rolled-back"
    assert result.data["conflicts"] == []
    assert result.data["accounts"] == [
        "group libvirt-qemu: 64055 -> 114",
        "user libvirt-qemu: 64055 -> 109",
    ]
    assert result.data["restored"] == len(changed) - 1  # suid.img and its link: one inode
    assert snapshot(busy_root, exclude=EXCLUDE) == before
    assert accounts(busy_root) == account_text
    assert runs(cli, busy_root) == {run_id: "rolled back"}
    survey = cli("survey", root=busy_root, json=True).data
    assert (survey["uid"], survey["gid"], survey["verdict"]) == (109, 114, "dynamic")


def test_rollback_human_output(cli, fake_root):
    run_id = convert(cli, fake_root)
    result = cli("rollback", root=fake_root)
    assert result.code == 0, result
    assert f"rolled back run {run_id}" in result.out
    assert "user libvirt-qemu: 64055 -> 109" in result.out
    assert "restored 7 entries" in result.out


def test_entries_changed_by_someone_else_are_listed_not_overwritten(cli, fake_root, snapshot):
    before = snapshot(fake_root, exclude=EXCLUDE)
    account_text = accounts(fake_root)
    convert(cli, fake_root)
    images = fake_root / "var/lib/libvirt/images"
    nvram = fake_root / "var/lib/libvirt/qemu/nvram"
    os.chown(images / "web.qcow2", 5555, 5555)
    os.chmod(nvram / "db_VARS.fd", 0o644)
    subprocess.run(["setfacl", "-m", "u:4242:r--", images / "db.qcow2"], check=True)
    os.setxattr(images / "mail.qcow2", DAC, b"+77:+77")
    meddled = {
        b"var/lib/libvirt/images/web.qcow2",
        b"var/lib/libvirt/qemu/nvram/db_VARS.fd",
        b"var/lib/libvirt/images/db.qcow2",
        b"var/lib/libvirt/images/mail.qcow2",
    }
    theirs = {path: snapshot(fake_root / os.fsdecode(path))[b"."] for path in meddled}

    result = cli("rollback", root=fake_root, json=True)
    assert result.code == 1, result
    assert result.data["status"] == "rolled-back-with-conflicts"
    conflicts = {os.fsencode(c["path"]): c["reason"] for c in result.data["conflicts"]}
    assert set(conflicts) == {os.path.join(os.fsencode(fake_root), p) for p in meddled}
    assert "5555:5555" in conflicts[os.fsencode(images / "web.qcow2")]
    assert "644" in conflicts[os.fsencode(nvram / "db_VARS.fd")]
    after = snapshot(fake_root, exclude=EXCLUDE)
    for path in meddled:
        assert after[path] == theirs[path], path
    assert {p: e for p, e in after.items() if p not in meddled} == {
        p: e for p, e in before.items() if p not in meddled
    }
    assert accounts(fake_root) == account_text  # the accounts are restored nevertheless
    human = cli("rollback", root=fake_root)  # nothing left to roll back: nothing to do
    assert human.code == 0 and human.out.startswith("nothing to roll back"), human


def test_a_replaced_file_is_listed_and_left_alone(cli, fake_root):
    convert(cli, fake_root)
    image = fake_root / "var/lib/libvirt/images/mail.qcow2"
    replacement = image.with_name("mail.qcow2.new")
    make(replacement, 64055, 64055, 0o600)
    os.replace(replacement, image)
    inode = image.stat().st_ino
    result = cli("rollback", root=fake_root)
    assert result.code == 1, result
    assert "mail.qcow2: replaced by another file since" in result.out
    assert (image.stat().st_ino, owner(image)) == (inode, (64055, 64055))
    assert owner(image.with_name("web.qcow2")) == (109, 114)


def test_a_removed_file_is_listed(cli, fake_root):
    convert(cli, fake_root)
    (fake_root / "var/lib/libvirt/images/web.qcow2").unlink()
    result = cli("rollback", root=fake_root, json=True)
    assert result.code == 1, result
    [conflict] = result.data["conflicts"]
    assert conflict["path"].endswith("web.qcow2")
    assert "removed" in conflict["reason"]


def test_rollback_of_a_named_run(cli, fake_root):
    extra = fake_root / "srv/extra"
    extra.mkdir(parents=True)
    make(extra / "f", 4242, 4242)
    convert_id = convert(cli, fake_root)
    repair = cli(
        "repair", "--from-uid", "4242", "--from-gid", "4242", "--to-uid", "4343",
        "--to-gid", "4343", str(extra), root=fake_root, json=True,
    )  # fmt: skip
    assert repair.code == 0, repair
    repair_id = repair.data["run_id"]

    result = cli("rollback", convert_id, root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["run_id"] == convert_id
    assert result.data["kind"] == "convert"
    assert owner(fake_root / "var/lib/libvirt/images/web.qcow2") == (109, 114)
    assert owner(extra / "f") == (4343, 4343)  # the later run stays
    assert runs(cli, fake_root) == {convert_id: "rolled back", repair_id: "complete"}

    result = cli("rollback", root=fake_root, json=True)  # the only run left to undo
    assert (result.code, result.data["run_id"]) == (0, repair_id)
    assert owner(extra / "f") == (4242, 4242)


def test_rollback_refused_while_a_process_runs_as_the_converted_uid(
    cli, fake_root, snapshot, process_as
):
    run_id = convert(cli, fake_root)
    converted = snapshot(fake_root, exclude=EXCLUDE)
    account_text = accounts(fake_root)
    pid = process_as(64055, 64055)
    result = cli("rollback", root=fake_root, json=True)
    assert result.code == 3, result
    [blocker] = result.data["error"]["blockers"]
    assert blocker["code"] == "processes-running"
    assert blocker["pids"] == [pid]
    assert str(pid) in blocker["message"]
    human = cli("rollback", run_id, root=fake_root)
    assert human.code == 3
    assert str(pid) in human.err
    assert snapshot(fake_root, exclude=EXCLUDE) == converted
    assert accounts(fake_root) == account_text
    assert runs(cli, fake_root) == {run_id: "complete"}


def test_rollback_with_nothing_to_roll_back_is_exit_0(cli, fake_root, snapshot):
    before = snapshot(fake_root, exclude=[STATE])
    result = cli("rollback", root=fake_root, json=True)
    assert result.code == 0, result
    assert (result.data["status"], result.data["run_id"]) == ("nothing-to-roll-back", None)
    assert snapshot(fake_root, exclude=[STATE]) == before


def test_rollback_with_nothing_to_roll_back_creates_nothing(cli, fake_root, snapshot):
    """No state directory, no lock: a host never converted is left exactly as it was."""
    assert not (fake_root / os.fsdecode(STATE)).exists()
    before = snapshot(fake_root)
    for args in ((), ("--dry-run",)):
        result = cli("rollback", *args, root=fake_root, json=True)
        assert (result.code, result.data["status"]) == (0, "nothing-to-roll-back"), result
    assert not (fake_root / os.fsdecode(STATE)).exists()
    assert snapshot(fake_root) == before


def test_rolling_back_twice_is_harmless(cli, busy_root, snapshot):
    before = snapshot(busy_root, exclude=EXCLUDE)
    account_text = accounts(busy_root)
    run_id = convert(cli, busy_root)
    assert cli("rollback", root=busy_root).code == 0
    again = cli("rollback", root=busy_root, json=True)
    assert (again.code, again.data["status"]) == (0, "nothing-to-roll-back"), again
    named = cli("rollback", run_id, root=busy_root, json=True)
    assert named.code == 0, named
    assert named.data["restored"] == 0
    assert named.data["accounts"] == []
    assert named.data["conflicts"] == []
    assert snapshot(busy_root, exclude=EXCLUDE) == before
    assert accounts(busy_root) == account_text
    assert runs(cli, busy_root) == {run_id: "rolled back"}


def test_convert_after_rollback_converts_again(cli, busy_root, snapshot):
    first = convert(cli, busy_root)
    converted = snapshot(busy_root, exclude=EXCLUDE)
    assert cli("rollback", root=busy_root).code == 0
    second = convert(cli, busy_root)
    assert second != first
    again = snapshot(busy_root, exclude=EXCLUDE)
    assert again == converted
    mode = again[b"var/lib/libvirt/images/suid.img"].mode
    assert stat.S_IMODE(mode) == 0o6750
