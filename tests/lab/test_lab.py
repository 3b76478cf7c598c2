# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The lab itself: real hosts with their own numbers, a guest that counts, a live migration
that works once the image is open to both, and a teardown that leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from libvirt_static_ids_testbed.lab import DYNAMIC, STATIC, Lab, LabError, network

pytestmark = pytest.mark.lab


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _namespace_members(pid: int) -> list[int]:
    """Every process (as seen here) in the PID namespace whose init is ``pid``."""
    namespace = os.readlink(f"/proc/{pid}/ns/pid")
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                    members.append(int(entry))
            except OSError:
                continue
    return members


def _leftovers(directory: Path) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        mounts = [line for line in handle if str(directory) in line]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    return mounts + [line for line in links.stdout.splitlines() if f" {network.LINK}" in line]


def test_hosts_have_their_own_numbers_and_a_real_libvirtd(lab: Lab) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    assert a.passwd_numbers() == DYNAMIC
    assert b.passwd_numbers() == STATIC
    assert a.run(["hostname"]).stdout.strip() == "hosta"
    conn = b.connect()
    try:
        assert conn.getType() == "QEMU"  # the real QEMU driver, not the test driver
        assert conn.getHostname() == "hostb.kvm.test"  # as /etc/hosts names it first
    finally:
        conn.close()
    # The two hosts reach each other over the veth link only.
    assert a.virsh("-c", b.uri, "hostname").stdout.strip() == "hostb.kvm.test"
    # This machine's own account files are untouched (older than the lab).
    made = lab.dir.stat().st_mtime_ns
    assert all(Path(f"/etc/{name}").stat().st_mtime_ns < made for name in ("passwd", "group"))


def test_guest_counts_and_migrates_live_once_both_numbers_may_open_it(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    image = lab.guest(a, "no_root_squash", "g1")
    assert grows(a, "g1")
    os.chmod(lab.backing(image), 0o666)  # noqa: S103 - the KB's manual workaround
    before = a.counter("g1")
    stats = lab.migrate(a, b, "g1")
    assert not a.is_running("g1")
    assert b.is_running("g1")
    assert b.counter("g1") >= before  # the same memory, continued on B
    assert grows(b, "g1")
    assert stats["downtime"] >= 0


def test_teardown_leaves_no_process_mount_or_link(
    lab_machine: None, grows: Callable[..., bool]
) -> None:
    with pytest.raises(RuntimeError, match="a test failed here"), Lab() as lab:
        a = lab.host("hosta")
        lab.guest(a, "root_squash", "g1")
        assert grows(a, "g1")
        pids = [p for h in lab.hosts for p in _namespace_members(h.pid)]
        assert len(pids) >= 2 + 2 * 3  # per host: init, libvirtd, 2 NFS clients; A: QEMU
        raise RuntimeError("a test failed here")
    assert [pid for pid in pids if not _gone(pid)] == []
    assert not lab.dir.exists()
    assert _leftovers(lab.dir) == []


def test_failed_start_ends_what_it_started(lab_machine: None, mocker: pytest.MockFixture) -> None:
    """Fault injection: the link cannot be made (the hosts' PID 1 already run)."""
    mocker.patch.object(network, "connect", side_effect=LabError("no link"))
    lab = Lab()
    with pytest.raises(LabError, match="no link"):
        lab.start()
    assert all(h.pid and _gone(h.pid) for h in lab.hosts)
    assert not lab.dir.exists()
