# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""`survey`: verdicts, and every blocker code produced by a real cause. Always exit 0."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from libvirt_static_ids_testbed.simulated import SimulatedHost

ALL_CODES = {
    "target-uid-taken",
    "target-gid-taken",
    "group-missing",
    "processes-running",
    "qemu-runs-as-other-user",
    "dac-label-pinned",
    "home-owned-by-user",
    "shadow-chowns-home",
}


def survey(cli, root: Path, *args: str) -> dict:
    result = cli("survey", *args, root=root, json=True)
    assert result.code == 0, result
    assert result.data["command"] == "survey"
    return result.data


def codes(data: dict) -> list[str]:
    return [blocker["code"] for blocker in data["blockers"]]


def blocker(data: dict, code: str) -> dict:
    found = [b for b in data["blockers"] if b["code"] == code]
    assert len(found) == 1, data["blockers"]
    return found[0]


def drop_line(path: Path, name: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(name + ":")]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept))


DPKG_STATUS = """\
Package: login
Status: install ok installed
Version: 1:4.13+dfsg1-1+b1

Package: passwd
Status: install ok installed
Priority: required
Version: {version}
Description: change and administer password and group data

"""


# --- verdicts ----------------------------------------------------------------------------------


def test_dynamic_host(cli, fake_root, snapshot):
    before = snapshot(fake_root)
    data = survey(cli, fake_root)
    assert data["verdict"] == "dynamic"
    assert (data["uid"], data["gid"]) == (109, 114)
    assert (data["primary_gid"], data["primary_group"]) == (106, "kvm")
    assert data["target"] == {"uid": 64055, "gid": 64055}
    assert data["account"] == "libvirt-qemu"
    assert data["root"] == str(fake_root)
    assert data["blockers"] == []
    assert snapshot(fake_root) == before  # a survey changes nothing, creates no state


def test_dynamic_host_human(cli, fake_root):
    result = cli("survey", root=fake_root)
    assert result.code == 0, result
    assert "libvirt-qemu: UID 109, group GID 114" in result.out
    assert "primary group: kvm (106)" in result.out
    assert "target: 64055:64055" in result.out
    assert "verdict: DYNAMIC" in result.out


def test_static_host(cli, make_root):
    root = make_root(SimulatedHost(uid=64055, gid=64055))
    data = survey(cli, root)
    assert data["verdict"] == "static"
    assert (data["uid"], data["gid"]) == (64055, 64055)
    assert data["blockers"] == []
    assert "verdict: STATIC" in cli("survey", root=root).out


def test_static_is_relative_to_the_target(cli, make_root):
    root = make_root(SimulatedHost(uid=64055, gid=64055))
    data = survey(cli, root, "--uid", "64056", "--gid", "64056")
    assert data["verdict"] == "dynamic"
    assert data["target"] == {"uid": 64056, "gid": 64056}
    root = make_root(SimulatedHost(uid=64056, gid=64057), name="other")
    assert survey(cli, root, "--uid", "64056", "--gid", "64057")["verdict"] == "static"


def test_half_static_host_is_dynamic(cli, make_root):
    """UID already 64055 but the group is not: only both together are static."""
    root = make_root(SimulatedHost(uid=64055, gid=114))
    data = survey(cli, root)
    assert data["verdict"] == "dynamic"
    assert (data["uid"], data["gid"]) == (64055, 114)


def test_absent_host(cli, fake_root):
    drop_line(fake_root / "etc/passwd", "libvirt-qemu")
    data = survey(cli, fake_root)
    assert data["verdict"] == "absent"
    assert data["uid"] is None
    assert data["primary_gid"] is None
    assert data["blockers"] == []


def test_conflict_when_target_uid_is_taken(cli, make_root):
    root = make_root(SimulatedHost(extra_users=(("someone", 64055),)))
    data = survey(cli, root)
    assert data["verdict"] == "conflict"
    assert codes(data) == ["target-uid-taken"]
    message = blocker(data, "target-uid-taken")["message"]
    assert "64055" in message
    assert "someone" in message
    assert "[target-uid-taken]" in cli("survey", root=root).out


def test_conflict_when_target_gid_is_taken(cli, make_root):
    root = make_root(SimulatedHost(extra_groups=(("ceph", 64055),)))
    data = survey(cli, root)
    assert data["verdict"] == "conflict"
    assert codes(data) == ["target-gid-taken"]
    message = blocker(data, "target-gid-taken")["message"]
    assert "64055" in message
    assert "ceph" in message


def test_other_target_avoids_the_conflict(cli, make_root):
    root = make_root(
        SimulatedHost(extra_users=(("someone", 64055),), extra_groups=(("ceph", 64055),))
    )
    assert set(codes(survey(cli, root))) == {"target-uid-taken", "target-gid-taken"}
    data = survey(cli, root, "--uid", "64056", "--gid", "64056")
    assert data["verdict"] == "dynamic"
    assert data["blockers"] == []


# --- blockers ----------------------------------------------------------------------------------


def test_processes_running_lists_the_pids(cli, fake_root, process_as):
    first = process_as(109, 114)
    second = process_as(109, 106)
    data = survey(cli, fake_root)
    assert data["verdict"] == "dynamic"
    found = blocker(data, "processes-running")
    assert found["pids"] == sorted([first, second])
    assert str(first) in found["message"]
    assert str(second) in found["message"]
    assert "sleep" in found["message"]
    assert codes(data) == ["processes-running"]


def test_processes_of_other_uids_do_not_block(cli, fake_root, process_as):
    process_as(110, 114)  # another account, even with libvirt-qemu's group
    assert survey(cli, fake_root)["blockers"] == []


@pytest.mark.parametrize(
    "setting", ['user = "root"', 'user = "+0"', '  user="qemu"', 'user = "+110"']
)
def test_qemu_conf_runs_qemu_as_another_user(cli, fake_root, setting):
    (fake_root / "etc/libvirt/qemu.conf").write_text(f'{setting}\ngroup = "root"\n')
    found = blocker(survey(cli, fake_root), "qemu-runs-as-other-user")
    assert "/etc/libvirt/qemu.conf" in found["message"]


@pytest.mark.parametrize(
    "setting", ['user = "libvirt-qemu"', 'user = "+109"', '# user = "root"', 'group = "kvm"']
)
def test_qemu_conf_naming_libvirt_qemu_does_not_block(cli, fake_root, setting):
    (fake_root / "etc/libvirt/qemu.conf").write_text(setting + "\n")
    assert survey(cli, fake_root)["blockers"] == []


def test_ucr_runs_qemu_as_another_user(cli, fake_root):
    ucr = fake_root / "etc/univention/base.conf"
    ucr.parent.mkdir(parents=True)
    ucr.write_text(
        "# univention_ base.conf\n\nuvmm/kvm/qemu/user: root\nuvmm/kvm/qemu/group: root\n"
    )
    found = blocker(survey(cli, fake_root), "qemu-runs-as-other-user")
    assert "/etc/univention/base.conf" in found["message"]
    assert "root" in found["message"]


def _domain(root: Path, name: str, label: str) -> None:
    directory = root / "etc/libvirt/qemu"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.xml").write_text(
        f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='KiB'>1048576</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <seclabel type='static' model='dac' relabel='yes'>
    <label>{label}</label>
  </seclabel>
</domain>
"""
    )


def test_dac_label_pinned_to_old_numbers(cli, fake_root):
    _domain(fake_root, "web", "+109:+114")
    _domain(fake_root, "ok", "+64055:+64055")
    data = survey(cli, fake_root)
    found = blocker(data, "dac-label-pinned")
    assert "'web'" in found["message"]
    assert "+109:+114" in found["message"]
    assert codes(data) == ["dac-label-pinned"]


def test_dac_label_pinning_only_the_old_gid_blocks(cli, fake_root):
    _domain(fake_root, "db", "+0:+114")
    assert "'db'" in blocker(survey(cli, fake_root), "dac-label-pinned")["message"]


def test_home_owned_by_user(cli, fake_root):
    os.chown(fake_root / "var/lib/libvirt", 109, 0)
    data = survey(cli, fake_root)
    found = blocker(data, "home-owned-by-user")
    assert "/var/lib/libvirt" in found["message"]
    assert codes(data) == ["home-owned-by-user"]


def test_old_shadow_chowns_home(cli, fake_root):
    status = fake_root / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(DPKG_STATUS.format(version="1:4.5-1.1"))
    data = survey(cli, fake_root)
    found = blocker(data, "shadow-chowns-home")
    assert "1:4.5-1.1" in found["message"]
    assert codes(data) == ["shadow-chowns-home"]


@pytest.mark.parametrize("version", ["1:4.7-2", "1:4.13+dfsg1-1+b1", "1:10.0-1"])
def test_current_shadow_does_not_block(cli, fake_root, version):
    status = fake_root / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(DPKG_STATUS.format(version=version))
    assert survey(cli, fake_root)["blockers"] == []


def test_group_missing(cli, fake_root):
    drop_line(fake_root / "etc/group", "libvirt-qemu")
    drop_line(fake_root / "etc/gshadow", "libvirt-qemu")
    data = survey(cli, fake_root)
    assert data["uid"] == 109
    assert data["gid"] is None
    assert data["verdict"] == "dynamic"
    assert codes(data) == ["group-missing"]


def test_every_blocker_at_once(cli, make_root, process_as):
    root = make_root(
        SimulatedHost(extra_users=(("someone", 64055),), extra_groups=(("ceph", 64055),))
    )
    drop_line(root / "etc/group", "libvirt-qemu")
    (root / "etc/libvirt/qemu.conf").write_text('user = "root"\n')
    _domain(root, "web", "+109:+114")
    status = root / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(DPKG_STATUS.format(version="1:4.2-3.1"))
    pid = process_as(109, 106)
    data = survey(cli, root)
    assert data["verdict"] == "conflict"
    assert set(codes(data)) == ALL_CODES - {"home-owned-by-user"}
    assert blocker(data, "processes-running")["pids"] == [pid]
    human = cli("survey", root=root)
    assert human.code == 0
    for code in ALL_CODES - {"home-owned-by-user"}:
        assert f"[{code}]" in human.out
    # The home trap is reported instead of the shadow version when the home is the user's.
    os.chown(root / "var/lib/libvirt", 109, 114)
    assert "home-owned-by-user" in codes(survey(cli, root))
