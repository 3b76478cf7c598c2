# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""`convert` on fake roots, with the real usermod/groupmod (``--prefix``)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

import pytest

from libvirt_static_ids_testbed.simulated import SimulatedHost

# Both ways the walk lists xattrs: listxattrat and the fallback of kernels before 6.13.
pytestmark = pytest.mark.usefixtures("walk_path")

STATE = b"var/lib/libvirt-static-ids"
SCOPE = (b"var/lib/libvirt", b"var/cache/libvirt/qemu", b"var/log/libvirt/qemu")
# usermod/groupmod leave backups of what they rewrote.
BACKUPS = (b"etc/passwd-", b"etc/group-", b"etc/shadow-", b"etc/gshadow-")


def account_files(root: Path) -> dict[str, list[str]]:
    return {
        name: (root / "etc" / name).read_text().splitlines()
        for name in ("passwd", "group", "shadow", "gshadow")
    }


def changed_entries(before: dict, after: dict) -> set[bytes]:
    return {path for path, entry in before.items() if after.get(path) != entry}


def getfacl(path: Path | bytes) -> list[str]:
    out = subprocess.run(
        ["getfacl", "-n", "-p", "-E", "--omit-header", os.fsencode(path)],
        capture_output=True,
        check=True,
    ).stdout
    return [line for line in out.decode().splitlines() if line and not line.startswith("#")]


def relative(root: Path, path: str) -> bytes:
    return os.path.relpath(os.fsencode(path), os.fsencode(root))


def runs(cli, root: Path) -> list[dict]:
    result = cli("journal", root=root, json=True)
    assert result.code == 0, result
    return result.data["runs"]


def test_dry_run_changes_nothing_and_lists_exactly_what_convert_changes(cli, fake_root, snapshot):
    extra = fake_root / "srv/images"
    extra.mkdir(parents=True)
    for name, owner in (("a.img", (109, 114)), ("b.img", (109, 106)), ("c.img", (110, 110))):
        (extra / name).write_bytes(b"x")
        os.chown(extra / name, *owner)
    before = snapshot(fake_root)
    accounts = account_files(fake_root)

    dry = cli("convert", "--dry-run", "--path", str(extra), root=fake_root, json=True)
    assert dry.code == 0, dry
    assert dry.data["status"] == "would-convert"
    assert dry.data["dry_run"] is True
    assert dry.data["run_id"] is None
    assert snapshot(fake_root) == before
    assert account_files(fake_root) == accounts
    steps = dry.data["steps"]
    assert f"usermod --prefix {fake_root} -u 64055 libvirt-qemu" in steps
    assert f"groupmod --prefix {fake_root} -g 64055 libvirt-qemu" in steps
    assert any(str(extra) in step for step in steps)
    listed = {relative(fake_root, change["path"]): change for change in dry.data["changes"]}

    real = cli("convert", "--path", str(extra), root=fake_root, json=True)
    assert real.code == 0, real
    assert real.data["status"] == "converted"
    after = snapshot(fake_root)
    in_scope = {
        path
        for path in changed_entries(before, after)
        if path.startswith((*SCOPE, b"srv/"))
    }  # fmt: skip
    assert set(listed) == in_scope
    assert b"srv/images/a.img" in in_scope
    assert b"srv/images/b.img" in in_scope
    assert b"srv/images/c.img" not in in_scope
    assert b"var/lib/libvirt/images/db.qcow2" in in_scope  # only its ACL changes
    for path, change in listed.items():
        entry = after[path]
        assert (entry.uid, entry.gid, entry.mode) == (
            change["after"]["uid"],
            change["after"]["gid"],
            change["after"]["mode"],
        )
    # The real run journaled exactly the listed entries.
    show = cli("journal", "show", real.data["run_id"], root=fake_root, json=True)
    journaled = {relative(fake_root, r["path"]) for r in show.data["records"] if r["op"] == "entry"}
    assert journaled == set(listed)
    assert real.data["repair"]["changed"] == len(listed)


def test_dry_run_human_output(cli, fake_root, snapshot):
    before = snapshot(fake_root)
    result = cli("convert", "--dry-run", root=fake_root)
    assert result.code == 0, result
    assert "dry run" in result.out
    assert f"usermod --prefix {fake_root} -u 64055 libvirt-qemu" in result.out
    assert "web.qcow2: 109:114 -> 64055:64055" in result.out
    assert "db.qcow2: xattrs posix_acl_access" in result.out
    assert snapshot(fake_root) == before


def test_convert_renumbers_with_the_real_shadow_tools(cli, fake_root, snapshot):
    accounts = account_files(fake_root)
    result = cli("convert", root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["status"] == "converted"
    assert result.data["resumed"] is False
    assert result.data["repair"]["problems"] == []

    now = account_files(fake_root)
    expected = {
        "passwd": [
            line.replace("libvirt-qemu:x:109:106:", "libvirt-qemu:x:64055:106:")
            for line in accounts["passwd"]
        ],
        "group": [
            line.replace("libvirt-qemu:x:114:", "libvirt-qemu:x:64055:")
            for line in accounts["group"]
        ],
        "shadow": accounts["shadow"],
        "gshadow": accounts["gshadow"],
    }
    assert expected["passwd"] != accounts["passwd"]
    assert expected["group"] != accounts["group"]
    assert now == expected
    assert "libvirt-qemu:*:20000:0:99999:7:::" in now["shadow"]
    assert "libvirt-qemu:*::libvirt-qemu" in now["gshadow"]
    # usermod/groupmod (not a rewrite of ours) left their backups of the old files.
    assert (fake_root / "etc/passwd-").read_text().splitlines() == accounts["passwd"]
    assert (fake_root / "etc/group-").read_text().splitlines() == accounts["group"]
    assert oct((fake_root / "etc/shadow").stat().st_mode & 0o777) == oct(0o640)

    images = fake_root / "var/lib/libvirt/images"
    for name in ("web.qcow2", "mail.qcow2"):
        st = (images / name).lstat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (64055, 64055, 0o600)
    db = images / "db.qcow2"
    assert (db.stat().st_uid, db.stat().st_gid) == (0, 0)
    assert getfacl(db) == [
        "user::rw-",
        "user:64055:rw-",
        "group::---",
        "group:64055:rw-",
        "mask::rw-",
        "other::---",
    ]
    mail = images / "mail.qcow2"
    assert os.getxattr(mail, "trusted.libvirt.security.dac") == b"+64055:+64055"
    assert os.getxattr(mail, "trusted.libvirt.security.ref_dac") == b"1"
    target = fake_root / "var/lib/libvirt/qemu/channel/target"
    assert (target.stat().st_uid, target.stat().st_gid) == (64055, 64055)
    logs = snapshot(fake_root / "var/log/libvirt/qemu")
    assert {(e.uid, e.gid) for e in logs.values()} == {(0, 0)}

    survey = cli("survey", root=fake_root, json=True)
    assert survey.data["verdict"] == "static"
    assert survey.data["primary_group"] == "kvm"


def test_convert_human_output(cli, fake_root):
    result = cli("convert", root=fake_root)
    assert result.code == 0, result
    assert "usermod --prefix" in result.out
    assert "changed 7" in result.out
    assert result.out.rstrip().endswith("done: libvirt-qemu is 64055:64055")


def test_convert_to_another_target(cli, fake_root):
    result = cli("convert", "--uid", "64060", "--gid", "64061", root=fake_root, json=True)
    assert result.code == 0, result
    passwd = (fake_root / "etc/passwd").read_text()
    assert "libvirt-qemu:x:64060:106:" in passwd
    assert "libvirt-qemu:x:64061:" in (fake_root / "etc/group").read_text()
    web = (fake_root / "var/lib/libvirt/images/web.qcow2").stat()
    assert (web.st_uid, web.st_gid) == (64060, 64061)
    data = cli("survey", "--uid", "64060", "--gid", "64061", root=fake_root, json=True).data
    assert data["verdict"] == "static"


def test_already_static_changes_nothing_and_journals_no_run(cli, make_root, snapshot):
    root = make_root(SimulatedHost(uid=64055, gid=64055))
    before = snapshot(root, exclude=[STATE])
    accounts = account_files(root)
    result = cli("convert", root=root, json=True)
    assert result.code == 0, result
    assert result.data["status"] == "already-static"
    assert result.data["run_id"] is None
    assert result.data["changes"] == []
    assert runs(cli, root) == []
    human = cli("convert", root=root)
    assert human.code == 0
    assert "already static" in human.out
    dry = cli("convert", "--dry-run", root=root, json=True)
    assert (dry.code, dry.data["status"]) == (0, "already-static")
    assert snapshot(root, exclude=[STATE]) == before
    assert account_files(root) == accounts
    assert runs(cli, root) == []


def test_second_convert_says_already_static(cli, fake_root):
    first = cli("convert", root=fake_root, json=True)
    assert first.code == 0
    second = cli("convert", root=fake_root, json=True)
    assert (second.code, second.data["status"]) == (0, "already-static")
    assert [run["run_id"] for run in runs(cli, fake_root)] == [first.data["run_id"]]


def test_absent_account_converts_nothing(cli, fake_root, snapshot):
    passwd = fake_root / "etc/passwd"
    passwd.write_text(
        "".join(line for line in passwd.read_text().splitlines(True) if "libvirt-qemu:" not in line)
    )
    before = snapshot(fake_root, exclude=[STATE])
    result = cli("convert", root=fake_root, json=True)
    assert (result.code, result.data["status"]) == (0, "absent")
    assert snapshot(fake_root, exclude=[STATE]) == before
    assert runs(cli, fake_root) == []


def test_blockers_refuse_with_exit_3_and_change_nothing(cli, make_root, snapshot, process_as):
    root = make_root(SimulatedHost(extra_groups=(("ceph", 64055),)))
    (root / "etc/libvirt/qemu.conf").write_text('user = "root"\n')
    pid = process_as(109, 114)
    before = snapshot(root, exclude=[STATE])
    accounts = account_files(root)

    result = cli("convert", root=root, json=True)
    assert result.code == 3, result
    error = result.data["error"]
    assert error["code"] == "refused"
    assert {b["code"] for b in error["blockers"]} == {
        "target-gid-taken",
        "qemu-runs-as-other-user",
        "processes-running",
    }
    assert [b["pids"] for b in error["blockers"] if "pids" in b] == [[pid]]
    human = cli("convert", root=root)
    assert human.code == 3
    for code in ("target-gid-taken", "qemu-runs-as-other-user", "processes-running"):
        assert f"[{code}]" in human.err
    assert str(pid) in human.err

    dry = cli("convert", "--dry-run", root=root, json=True)
    assert dry.code == 3, dry
    assert len(dry.data["survey"]["blockers"]) == 3
    assert dry.data["changes"]  # it still shows what it would change

    assert snapshot(root, exclude=[STATE]) == before
    assert account_files(root) == accounts
    assert not (root / "etc/passwd-").exists()
    assert runs(cli, root) == []


def test_a_second_run_exits_1_naming_the_pid_holding_the_lock(cli, fake_root, snapshot):
    state = fake_root / "var/lib/libvirt-static-ids"
    state.mkdir(mode=0o700)
    fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
        before = snapshot(fake_root, exclude=[STATE])
        accounts = account_files(fake_root)
        for argv in (
            ["convert"],
            ["repair", "--from-uid", "109", "--from-gid", "114", str(fake_root / "var")],
            ["rollback"],
        ):
            result = cli(*argv, root=fake_root, json=True)
            assert result.code == 1, (argv, result)
            assert result.data["error"]["code"] == "locked"
            assert result.data["error"]["pid"] == os.getpid()
            assert f"PID {os.getpid()}" in result.data["error"]["message"]
        human = cli("convert", root=fake_root)
        assert human.code == 1
        assert f"PID {os.getpid()}" in human.err
        assert snapshot(fake_root, exclude=[STATE]) == before
        assert account_files(fake_root) == accounts
        assert os.pread(fd, 32, 0) == f"{os.getpid()}\n".encode()  # nobody took it over
    finally:
        os.close(fd)
    assert not (state / "runs").exists()
    assert cli("convert", root=fake_root).code == 0  # the lock is free again


def test_path_adds_a_tree(cli, fake_root):
    extra = fake_root / "srv/nfs-images"
    (extra / "sub").mkdir(parents=True)
    files = {"vm.img": (109, 114), "sub/vm2.img": (109, 106), "other.img": (110, 114)}
    for name, owner in files.items():
        (extra / name).write_bytes(b"disk")
        os.chown(extra / name, *owner)
    result = cli("convert", "--path", str(extra), root=fake_root, json=True)
    assert result.code == 0, result
    owners = {name: ((extra / name).stat().st_uid, (extra / name).stat().st_gid) for name in files}
    assert owners == {
        "vm.img": (64055, 64055),
        "sub/vm2.img": (64055, 106),
        "other.img": (110, 64055),
    }
    run = runs(cli, fake_root)[0]
    assert run["params"]["paths"] == [str(extra)]
    assert run["state"] == "complete"


def test_path_is_resolved_against_the_working_directory(cli, fake_root, tmp_path):
    """A relative --path must be journaled absolute, or rollback from elsewhere misses it."""
    extra = fake_root / "srv/work/images"
    extra.mkdir(parents=True)
    (extra / "vm.img").write_bytes(b"disk")
    os.chown(extra / "vm.img", 109, 114)
    result = cli("convert", "--path", "images", root=fake_root, json=True, cwd=extra.parent)
    assert result.code == 0, result
    assert (extra / "vm.img").stat().st_uid == 64055
    records = cli("journal", "show", result.data["run_id"], root=fake_root, json=True).data
    paths = [r["path"] for r in records["records"] if r["op"] == "entry"]
    assert str(extra / "vm.img") in paths
    assert all(os.path.isabs(path) for path in paths)
    back = cli("rollback", root=fake_root, json=True, cwd=tmp_path)
    assert back.code == 0, back
    assert ((extra / "vm.img").stat().st_uid, (extra / "vm.img").stat().st_gid) == (109, 114)


def test_missing_path_is_exit_2_and_changes_nothing(cli, fake_root, snapshot):
    before = snapshot(fake_root)
    missing = fake_root / "srv/missing"
    result = cli(
        "convert", "--path", str(fake_root / "var"), "--path", str(missing), root=fake_root
    )
    assert result.code == 2, result
    assert str(missing) in result.err
    assert snapshot(fake_root) == before


def test_no_restart_and_a_fake_root_never_restart_libvirtd(cli, fake_root, make_root):
    result = cli("convert", "--no-restart", root=fake_root, json=True)
    assert result.code == 0, result
    assert not any("systemctl" in step or "nscd" in step for step in result.data["steps"])
    run = runs(cli, fake_root)[0]
    assert run["params"]["restart"] is False
    show = cli("journal", "show", run["run_id"], root=fake_root, json=True).data
    assert [r for r in show["records"] if r["op"] == "step"] == []
    # Without --no-restart a fake root still never restarts this machine's libvirtd.
    other = make_root(name="other")
    result = cli("convert", root=other, json=True)
    assert result.code == 0, result
    assert not any("systemctl" in step for step in result.data["steps"])
    assert runs(cli, other)[0]["params"]["restart"] is True


def test_journal_lists_the_run_as_complete_and_shows_it(cli, fake_root):
    result = cli("convert", root=fake_root, json=True)
    run_id = result.data["run_id"]
    [run] = runs(cli, fake_root)
    assert run["run_id"] == run_id
    assert run["kind"] == "convert"
    assert run["state"] == "complete"
    assert run["params"]["from_uid"] == 109
    assert run["params"]["from_gid"] == 114
    assert run["summary"]["changed"] == 7
    assert run["summary"]["problems"] == 0

    listing = cli("journal", root=fake_root)
    assert listing.code == 0
    assert run_id in listing.out
    assert "complete" in listing.out

    show = cli("journal", "show", run_id, root=fake_root, json=True)
    assert show.code == 0
    assert show.data["run"]["run_id"] == run_id
    accounts = [r for r in show.data["records"] if r["op"] == "account"]
    assert [(r["kind"], r["old"], r["new"]) for r in accounts] == [
        ("user", 109, 64055),
        ("group", 114, 64055),
    ]
    entries = [r for r in show.data["records"] if r["op"] == "entry"]
    assert len(entries) == 7
    human = cli("journal", "show", run_id, root=fake_root)
    assert "user libvirt-qemu: 109 -> 64055" in human.out
    assert "group libvirt-qemu: 114 -> 64055" in human.out
    assert "web.qcow2: 109:114 -> 64055:64055" in human.out

    stored = json.loads(
        (fake_root / "var/lib/libvirt-static-ids/runs" / run_id / "state.json").read_text()
    )
    assert stored["state"] == "complete"


def test_undecodable_path_names_are_printed_escaped(cli, fake_root):
    """Under a UTF-8 locale's strict stdout, a --path with invalid UTF-8 must not crash."""
    extra = os.path.join(os.fsencode(fake_root), b"images\xff\n")
    os.mkdir(extra)
    os.chown(extra, 109, 114)
    dry = cli("convert", "--dry-run", "--path", extra, root=fake_root)
    assert dry.code == 0, dry
    assert "images\\xff\\n" in dry.out
    result = cli("convert", "--path", extra, root=fake_root)
    assert result.code == 0, result
    assert "images\\xff\\n" in result.out
    assert os.lstat(extra).st_uid == 64055
