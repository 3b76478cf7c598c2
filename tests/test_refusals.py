# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Refusals before acting: hostile account files, numbers shared with other accounts, roots
that hold no system, PATHs outside the root, relocated libvirt trees.

Each refusal is exit 3 (blockers, every one listed, the same codes in ``survey``) or exit 2
(bad input), and nothing at all has changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from libvirt_static_ids.host import number_holders
from libvirt_static_ids.hostroot import HostRoot

STATE = b"var/lib/libvirt-static-ids"
ACCOUNT_FILES = ("passwd", "group", "shadow", "gshadow")


def accounts(root: Path) -> dict[str, bytes]:
    return {name: (root / "etc" / name).read_bytes() for name in ACCOUNT_FILES}


def owner(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def append(path: Path, line: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def codes(blockers: list[dict]) -> set[str]:
    return {blocker["code"] for blocker in blockers}


def refused(cli, root: Path, snapshot, *argv: str) -> list[dict]:
    """Run convert (and its dry run): exit 3, nothing changed; return the blockers."""
    before = snapshot(root, exclude=[STATE])
    dry = cli("convert", "--dry-run", *argv, root=root, json=True)
    assert dry.code == 3, dry
    result = cli("convert", *argv, root=root, json=True)
    assert result.code == 3, result
    assert result.data["error"]["code"] == "refused"
    blockers = result.data["error"]["blockers"]
    assert codes(dry.data["survey"]["blockers"]) == codes(blockers)
    assert snapshot(root, exclude=[STATE]) == before
    assert not (root / "etc/passwd-").exists()  # usermod never ran
    assert not (root / STATE.decode() / "runs").exists()
    survey = cli("survey", *argv, root=root, json=True)
    assert survey.code == 0, survey
    assert codes(survey.data["blockers"]) == codes(blockers)
    return blockers


# --- numbers shared with other accounts --------------------------------------------------------


def test_old_uid_shared_with_another_account_is_refused(cli, fake_root, snapshot):
    append(fake_root / "etc/passwd", "backup:x:109:109:backup:/home/backup:/bin/sh")
    kept = fake_root / "var/lib/libvirt/images/backup.tar"
    kept.write_bytes(b"theirs")
    os.chown(kept, 109, 0)
    blockers = refused(cli, fake_root, snapshot)
    assert codes(blockers) == {"old-uid-taken"}
    assert "'backup'" in blockers[0]["message"]
    assert "109" in blockers[0]["message"]
    assert owner(kept) == (109, 0)


def test_old_gid_shared_with_the_root_group_is_refused(cli, fake_root, snapshot):
    """libvirt-qemu given GID 0: remapping 0 would make root:root files libvirt-qemu's."""
    replace(fake_root / "etc/group", "libvirt-qemu:x:114:", "libvirt-qemu:x:0:")
    key = fake_root / "var/lib/libvirt/qemu/key.pem"
    key.write_bytes(b"secret")
    os.chown(key, 0, 0)
    os.chmod(key, 0o640)
    blockers = refused(cli, fake_root, snapshot)
    assert codes(blockers) == {"old-gid-taken"}
    assert "'root'" in blockers[0]["message"]
    assert owner(key) == (0, 0)


def test_a_duplicate_old_gid_is_refused(cli, fake_root, snapshot):
    append(fake_root / "etc/group", "audio:x:114:")
    assert codes(refused(cli, fake_root, snapshot)) == {"old-gid-taken"}


def test_nis_lines_holding_the_target_or_the_old_numbers_are_refused(cli, fake_root, snapshot):
    append(fake_root / "etc/passwd", "+nisuser::64055:100:::")
    append(fake_root / "etc/passwd", "+nisold::109::::")
    append(fake_root / "etc/passwd", "+")
    append(fake_root / "etc/group", "+nisgroup::64055:")
    blockers = refused(cli, fake_root, snapshot)
    assert codes(blockers) == {"target-uid-taken", "target-gid-taken", "old-uid-taken"}
    messages = " ".join(b["message"] for b in blockers)
    for name in ("'nisuser'", "'nisgroup'", "'nisold'", "NIS"):
        assert name in messages


# --- the account database itself --------------------------------------------------------------


def _non_numeric_uid(root: Path) -> None:
    replace(root / "etc/passwd", "libvirt-qemu:x:109:", "libvirt-qemu:x:1o9:")


def _four_fields(root: Path) -> None:
    replace(
        root / "etc/passwd",
        "libvirt-qemu:x:109:106:libvirt-qemu:/var/lib/libvirt:/usr/sbin/nologin",
        "libvirt-qemu:x:109:106",
    )


def _uid_minus_one(root: Path) -> None:
    replace(root / "etc/passwd", "libvirt-qemu:x:109:", "libvirt-qemu:x:4294967295:")


def _duplicate_group(root: Path) -> None:
    append(root / "etc/group", "libvirt-qemu:x:115:")


def _duplicate_user(root: Path) -> None:
    append(root / "etc/passwd", "libvirt-qemu:x:110:106::/var/lib/libvirt:/usr/sbin/nologin")


def _passwd_is_a_directory(root: Path) -> None:
    (root / "etc/passwd").unlink()
    (root / "etc/passwd").mkdir()


def _group_is_a_symlink(root: Path) -> None:
    (root / "etc/group").rename(root / "etc/group.real")
    (root / "etc/group").symlink_to("group.real")


def _gshadow_is_a_fifo(root: Path) -> None:
    (root / "etc/gshadow").unlink()
    os.mkfifo(root / "etc/gshadow")


def _group_missing(root: Path) -> None:
    (root / "etc/group").unlink()


DEFECTS = {
    "non-numeric UID": (_non_numeric_uid, "account-entry-malformed"),
    "4-field passwd line": (_four_fields, "account-entry-malformed"),
    "UID 4294967295": (_uid_minus_one, "account-entry-malformed"),
    "duplicate libvirt-qemu group": (_duplicate_group, "account-entry-duplicate"),
    "duplicate libvirt-qemu user": (_duplicate_user, "account-entry-duplicate"),
    "etc/passwd a directory": (_passwd_is_a_directory, "account-file-invalid"),
    "etc/group a symlink": (_group_is_a_symlink, "account-file-invalid"),
    "etc/gshadow a FIFO": (_gshadow_is_a_fifo, "account-file-invalid"),
    "etc/group missing": (_group_missing, "account-file-invalid"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_defective_account_database_is_refused(cli, fake_root, snapshot, defect):
    damage, code = DEFECTS[defect]
    damage(fake_root)
    blockers = refused(cli, fake_root, snapshot)
    assert code in codes(blockers)
    assert any("/etc/" in b["message"] for b in blockers if b["code"] == code)
    assert owner(fake_root / "var/lib/libvirt/images/web.qcow2") == (109, 114)


def test_account_files_reached_through_a_symlink_out_of_the_root_are_refused(
    cli, fake_root, snapshot, tmp_path
):
    """``etc -> elsewhere``: usermod --prefix would follow it and edit files outside the root."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (fake_root / "etc").rename(elsewhere / "etc")
    (fake_root / "etc").symlink_to(elsewhere / "etc")
    before = accounts(elsewhere)
    blockers = refused(cli, fake_root, snapshot)
    assert "account-file-invalid" in codes(blockers)
    assert any("etc -> " in b["message"] for b in blockers)
    assert accounts(elsewhere) == before
    assert not (elsewhere / "etc/passwd-").exists()


def test_a_malformed_line_is_named_with_its_line_number(cli, fake_root):
    _four_fields(fake_root)
    result = cli("survey", root=fake_root, json=True)
    [blocker] = [b for b in result.data["blockers"] if b["code"] == "account-entry-malformed"]
    assert "/etc/passwd line 4" in blocker["message"]
    assert "4 fields" in blocker["message"]


# --- roots and paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["survey"],
        ["convert"],
        ["convert", "--dry-run"],
        ["repair", "--orphans"],
        ["rollback"],
        ["journal"],
    ],
)
def test_a_root_without_etc_passwd_is_exit_2_and_stays_empty(cli, tmp_path, argv):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli(*argv, root=empty, json=True)
    assert result.code == 2, result
    assert "not a system root" in result.data["error"]["message"]
    assert str(empty) in result.data["error"]["message"]
    assert os.listdir(empty) == []


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A tree outside the root with a file carrying the old numbers."""
    path = tmp_path / "live-host/var/lib/libvirt/images"
    path.mkdir(parents=True)
    (path / "vm.img").write_bytes(b"disk")
    os.chown(path / "vm.img", 109, 114)
    return path


def _path_refused(cli, root: Path, snapshot, outside: Path, *, argv: list[str], given: str) -> None:
    before = (snapshot(root), snapshot(outside))
    result = cli(*argv, root=root, json=True)
    assert result.code == 2, result
    assert "outside --root" in result.data["error"]["message"]
    assert repr(given) in result.data["error"]["message"]
    assert (snapshot(root), snapshot(outside)) == before


@pytest.mark.parametrize("command", ["convert", "convert-dry-run", "repair", "orphans"])
def test_a_path_outside_the_root_is_exit_2(cli, fake_root, snapshot, outside, command):
    given = str(outside)
    argv = {
        "convert": ["convert", "--path", given],
        "convert-dry-run": ["convert", "--dry-run", "--path", given],
        "repair": ["repair", "--from-uid", "109", "--from-gid", "114", given],
        "orphans": ["repair", "--orphans", given],
    }[command]
    _path_refused(cli, fake_root, snapshot, outside, argv=argv, given=given)


def test_a_path_leaving_the_root_through_dots_or_a_symlinked_parent_is_exit_2(
    cli, fake_root, snapshot, outside
):
    (fake_root / "srv").mkdir()
    (fake_root / "srv/mnt").symlink_to(outside.parent)
    through_link = str(fake_root / "srv/mnt/images")
    argv = ["convert", "--path", through_link]
    _path_refused(cli, fake_root, snapshot, outside, argv=argv, given=through_link)
    dots = f"{fake_root}/srv/../../{outside.relative_to(fake_root.parent)}"
    argv = ["repair", "--from-uid", "109", "--from-gid", "114", dots]
    _path_refused(cli, fake_root, snapshot, outside, argv=argv, given=dots)


def test_a_relative_path_inside_the_root_is_accepted(cli, fake_root):
    images = fake_root / "srv/images"
    images.mkdir(parents=True)
    (images / "vm.img").write_bytes(b"disk")
    os.chown(images / "vm.img", 109, 114)
    result = cli("convert", "--path", "srv/images", root=fake_root, json=True, cwd=fake_root)
    assert result.code == 0, result
    assert owner(images / "vm.img") == (64055, 64055)


# --- relocated libvirt trees -------------------------------------------------------------------


@pytest.mark.parametrize("link", ["../../srv/libvirt", "/srv/libvirt"])
def test_a_relocated_var_lib_libvirt_is_resolved_inside_the_root(cli, fake_root, link):
    """Relative or absolute, the link is followed as the host sees it, never out of the root."""
    (fake_root / "srv").mkdir()
    shutil.move(fake_root / "var/lib/libvirt", fake_root / "srv/libvirt")
    (fake_root / "var/lib/libvirt").symlink_to(link)
    assert cli("survey", root=fake_root, json=True).data["blockers"] == []
    dry = cli("convert", "--dry-run", root=fake_root, json=True)
    assert dry.code == 0, dry
    said = [step for step in dry.data["steps"] if "/var/lib/libvirt is reached through" in step]
    assert len(said) == 1 and str(fake_root / "srv/libvirt") in said[0], dry.data["steps"]
    result = cli("convert", root=fake_root, json=True)
    assert result.code == 0, result
    images = fake_root / "srv/libvirt/images"
    assert owner(images / "web.qcow2") == (64055, 64055)
    assert owner(fake_root / "srv/libvirt/qemu/channel/target") == (64055, 64055)
    assert result.data["repair"]["scanned"] > 10
    assert os.readlink(fake_root / "var/lib/libvirt") == link


@pytest.mark.parametrize("link", ["../../srv/gone", "loop"])
def test_a_scanned_tree_whose_symlink_leads_nowhere_is_refused(cli, fake_root, snapshot, link):
    shutil.rmtree(fake_root / "var/log/libvirt/qemu")
    (fake_root / "var/log/libvirt/qemu").symlink_to(link)
    if link == "loop":
        (fake_root / "var/log/libvirt/loop").symlink_to("qemu")
    blockers = refused(cli, fake_root, snapshot)
    assert codes(blockers) == {"scan-path-unresolved"}
    assert "/var/log/libvirt/qemu" in blockers[0]["message"]


def test_a_relocated_home_owned_by_the_user_is_the_home_trap(cli, fake_root, snapshot):
    (fake_root / "srv").mkdir()
    shutil.move(fake_root / "var/lib/libvirt", fake_root / "srv/libvirt")
    (fake_root / "var/lib/libvirt").symlink_to("../../srv/libvirt")
    os.chown(fake_root / "srv/libvirt", 109, 0)
    assert codes(refused(cli, fake_root, snapshot)) == {"home-owned-by-user"}


# --- rollback ----------------------------------------------------------------------------------


def _convert(cli, root: Path) -> str:
    result = cli("convert", root=root, json=True)
    assert result.code == 0, result
    return result.data["run_id"]


@pytest.mark.parametrize(
    ("file", "line", "code"),
    [
        ("passwd", "newcomer:x:109:100::/home/newcomer:/bin/sh", "old-uid-taken"),
        ("group", "newgroup:x:114:", "old-gid-taken"),
        ("passwd", "+nisnew::109::::", "old-uid-taken"),
    ],
)
def test_rollback_refuses_when_an_old_number_was_given_away(  # noqa: PLR0917 - fixtures and parameters
    cli, fake_root, snapshot, file, line, code
):
    """The old numbers must be free again before rollback puts back a single file."""
    run_id = _convert(cli, fake_root)
    append(fake_root / "etc" / file, line)
    before = snapshot(fake_root, exclude=[STATE])
    account_text = accounts(fake_root)
    result = cli("rollback", root=fake_root, json=True)
    assert result.code == 3, result
    blockers = result.data["error"]["blockers"]
    assert codes(blockers) == {code}
    assert line.split(":")[0].lstrip("+") in blockers[0]["message"]
    assert snapshot(fake_root, exclude=[STATE]) == before
    assert accounts(fake_root) == account_text
    assert owner(fake_root / "var/lib/libvirt/images/web.qcow2") == (64055, 64055)
    state = cli("journal", root=fake_root, json=True).data["runs"]
    assert [(r["run_id"], r["state"]) for r in state] == [(run_id, "complete")]


def test_rollback_refuses_a_defective_account_database(cli, fake_root, snapshot):
    _convert(cli, fake_root)
    _duplicate_group(fake_root)
    before = snapshot(fake_root, exclude=[STATE])
    result = cli("rollback", root=fake_root, json=True)
    assert result.code == 3, result
    assert codes(result.data["error"]["blockers"]) == {"account-entry-duplicate"}
    assert snapshot(fake_root, exclude=[STATE]) == before


# --- NSS ---------------------------------------------------------------------------------------


def test_nss_services_are_read_past_files_and_compat(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/nsswitch.conf").write_text(
        "# comment\n"
        "passwd:  files [NOTFOUND=return] ldap systemd  # trailing\n"
        "group:   compat ldap\n"
        "group_compat: nis\n"
    )
    host = HostRoot.open(str(root))
    assert number_holders.nss_services(host, number_holders.Database.USERS) == ["ldap", "systemd"]
    assert number_holders.nss_services(host, number_holders.Database.GROUPS) == ["nis", "ldap"]
    (root / "etc/nsswitch.conf").unlink()
    assert number_holders.nss_services(host, number_holders.Database.USERS) == []


def test_nss_is_asked_service_by_service():
    """systemd's NSS module answers for root itself: asked alone, past files, it is found."""
    found = number_holders.nss_holders(["systemd"], number_holders.Database.USERS, 0)
    assert [(h.name, h.where) for h in found] == [("root", "NSS service systemd")]
    assert number_holders.nss_holders(["systemd"], number_holders.Database.USERS, 4242) == []
    assert number_holders.nss_holders(["no-such-service"], number_holders.Database.GROUPS, 0) == []
