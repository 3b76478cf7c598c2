# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``evacuate`` on real libvirt: host A (109:114) emptied to B (64055:64055), the guest's
counter going on, for both export modes; a failed migration after B's relabel leaves the
guest on A with its image A's again."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from typing import Any

import libvirt
import pytest

from libvirt_static_ids_testbed.lab import DYNAMIC, STATIC, Lab, LabHost

pytestmark = pytest.mark.lab


def evacuate(a: LabHost, b: LabHost, *extra: str) -> tuple[int, dict[str, Any]]:
    done = a.run(
        [
            "libvirt-static-ids",
            "--json",
            "evacuate",
            "hosta",
            "--to",
            "hostb",
            "--desturi",
            b.uri,
            *extra,
        ],
        check=False,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def owner_mode(lab: Lab, image: str) -> tuple[int, int, int]:
    st = os.stat(lab.backing(image))
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_no_root_squash_evacuates_with_the_guest_running(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    image = lab.guest(a, "no_root_squash", "g1")
    code, report = evacuate(a, b)
    assert code == 0, json.dumps(report, indent=1)
    assert report["status"] == "evacuated"
    # B's numbers came from B's own libvirt (its DAC security model), not from a flag.
    assert report["identity_source"] == "destination"
    assert (report["identity"]["uid"], report["identity"]["gid"]) == STATIC
    (vm,) = report["domains"]
    assert vm["status"] == "migrated"
    # The storage takes no ACLs (NFSv3): the fallback is loud, in the JSON too.
    assert any("WORLD-WRITABLE" in w for w in vm["warnings"])
    assert vm["downtime_ms"] is not None
    # Read without deleting it: what B's `virsh domjobinfo --completed` asks still has it.
    conn = b.connect()
    try:
        stats = conn.lookupByName("g1").jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    finally:
        conn.close()
    assert stats.get("downtime") == vm["downtime_ms"]
    assert b.is_running("g1") and not a.is_running("g1")
    assert grows(b, "g1")
    assert owner_mode(lab, image) == (*STATIC, 0o600)
    listed = a.run(["libvirt-static-ids", "--json", "bridge", "status"])
    assert json.loads(listed.stdout)["bridges"] == []


def test_root_squash_moves_the_guest_and_keeps_its_bridge_until_the_server_chowns(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    image = lab.guest(a, "root_squash", "g1")
    code, report = evacuate(a, b)
    assert code == 0, json.dumps(report, indent=1)
    assert report["status"] == "awaiting-server"
    assert report["root_squash"] == [image]  # found before anything changed
    (vm,) = report["domains"]
    assert vm["status"] == "migrated"
    assert b.is_running("g1") and grows(b, "g1")
    # Only the NFS server's root can chown: the image stays A's, bridged, and the command
    # to run there is printed and journaled.
    uid, gid, mode = owner_mode(lab, image)
    assert (uid, gid) == DYNAMIC and mode & 0o006 == 0o006
    (awaiting,) = vm["awaiting"]
    assert awaiting["path"] == image
    assert f"chown {STATIC[0]}:{STATIC[1]}" in awaiting["command"]
    # The TTL close does not narrow it either: the guest on B still needs the bridge.
    expired = a.run(["libvirt-static-ids", "--json", "bridge", "close", "--expired"], check=False)
    assert [r["status"] for r in json.loads(expired.stdout)["closed"]] == ["failed"]
    assert owner_mode(lab, image)[2] & 0o006 == 0o006
    assert grows(b, "g1")
    # The NFS admin runs the chown on the server; the next timer run closes the bridge.
    os.chown(lab.backing(image), *STATIC)
    done = a.run(["libvirt-static-ids", "--json", "bridge", "close", "--expired"], check=False)
    assert [r["status"] for r in json.loads(done.stdout)["closed"]] == ["closed"], done.stdout
    assert owner_mode(lab, image) == (*STATIC, 0o600)
    assert grows(b, "g1")


HOOK = """#!/bin/sh
# libvirt's qemu hook: fail an incoming guest once its QEMU has started (after the relabel).
[ "$2" = started ] && [ "$3" = begin ] && exit 1
exit 0
"""


def test_a_migration_failing_after_the_relabel_leaves_the_guest_and_its_image_on_a(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    """B's libvirtd has started QEMU (having chowned the image to 64055; libvirt does not put
    it back on a shared file system) when its ``started`` hook fails the incoming migration.
    Was: the image stayed 64055:64055 0600 and the guest on A lost it. Now it is A's again."""
    a, b = lab.host("hosta"), lab.host("hostb")
    b.run(
        [
            "sh",
            "-c",
            "mkdir -p /etc/libvirt/hooks && cat > /etc/libvirt/hooks/qemu && "
            "chmod 755 /etc/libvirt/hooks/qemu",
        ],
        input=HOOK,
    )
    b.restart_libvirtd()  # libvirtd looks for hooks when it starts
    image = lab.guest(a, "no_root_squash", "g1")
    code, report = evacuate(a, b)
    assert code == 1, json.dumps(report, indent=1)
    (vm,) = report["domains"]
    assert vm["status"] == "failed"
    assert "migration failed" in vm["message"] and "hook" in vm["message"]
    assert a.is_running("g1") and grows(a, "g1")
    assert not b.is_running("g1")
    assert owner_mode(lab, image) == (*DYNAMIC, 0o600)
    listed = a.run(["libvirt-static-ids", "--json", "bridge", "status"])
    assert json.loads(listed.stdout)["bridges"] == []
    # The guest on A re-opens its image (what a migration does at the switch-over): a
    # second evacuation, B's hook gone, succeeds.
    b.run(["rm", "/etc/libvirt/hooks/qemu"])
    b.restart_libvirtd()
    code, report = evacuate(a, b)
    assert code == 0, json.dumps(report, indent=1)
    assert b.is_running("g1") and grows(b, "g1")
    assert owner_mode(lab, image) == (*STATIC, 0o600)


def test_timeout_aborts_the_migration_and_the_guest_stays(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    """B's QEMU start is held for 4 s (a slow destination); ``--timeout 1`` aborts the job,
    the guest goes on on A with its image A's, and B keeps nothing running."""
    a, b = lab.host("hosta"), lab.host("hostb")
    b.run(
        [
            "sh",
            "-c",
            "mkdir -p /etc/libvirt/hooks && cat > /etc/libvirt/hooks/qemu && "
            "chmod 755 /etc/libvirt/hooks/qemu",
        ],
        input=HOOK.replace("exit 1", "sleep 4"),
    )
    b.restart_libvirtd()
    image = lab.guest(a, "no_root_squash", "g1")
    code, report = evacuate(a, b, "--timeout", "1")
    assert code == 1, json.dumps(report, indent=1)
    (vm,) = report["domains"]
    assert "aborted after --timeout 1 s" in vm["message"]
    assert a.is_running("g1") and grows(a, "g1")
    assert not b.is_running("g1")
    assert owner_mode(lab, image) == (*DYNAMIC, 0o600)


def test_snapshots_and_autostart_move_with_the_guest(lab: Lab, grows: Callable[..., bool]) -> None:
    """A disk-only external snapshot (an overlay over the image, as UVMM's): libvirt refuses
    to migrate a domain with snapshots; evacuate saves their XML, deletes the metadata only,
    migrates and redefines them on B. The overlay's backing file is bridged and probed."""
    a, b = lab.host("hosta"), lab.host("hostb")
    image = lab.guest(a, "no_root_squash", "g1")
    overlay = image + ".s1"
    a.virsh(
        "snapshot-create-as",
        "g1",
        "s1",
        "--disk-only",
        "--atomic",
        "--diskspec",
        f"vda,file={overlay}",
    )
    a.virsh("autostart", "g1")
    code, report = evacuate(a, b)
    assert code == 0, json.dumps(report, indent=1)
    (vm,) = report["domains"]
    assert (vm["snapshots"], vm["autostart"]) == (1, True)
    assert vm["images"] == [overlay] and vm["readonly"] == [image]
    assert b.is_running("g1") and grows(b, "g1")
    assert b.virsh("snapshot-list", "g1", "--name").stdout.split() == ["s1"]
    assert "enable" in b.virsh("dominfo", "g1").stdout.split("Autostart:")[1].split("\n")[0]
    for path in (overlay, image):
        assert owner_mode(lab, path) == (*STATIC, 0o600), path
