# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""evacuate against libvirt's test driver (domains with file, cdrom and network disks; real
images with real ACLs); the one migrate call goes through the documented seam (see
``evac_world``). What only real libvirt decides is in tests/lab/test_evacuate_*.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evacuation.conftest import opens_as
from evacuation.evac_world import SOURCE_GID, SOURCE_UID, TARGET, Migration, World, make_world
from libvirt_static_ids.evacuation import evacuate
from libvirt_static_ids.journal.store import Store

libvirt = pytest.importorskip(
    "libvirt", reason="needs libvirt-python (pip, built against Debian libvirt-dev)"
)

FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    | libvirt.VIR_MIGRATE_AUTO_CONVERGE
)


@pytest.fixture
def world(shared_dir: Path, tmp_path: Path) -> World:
    return make_world(shared_dir, tmp_path)


def test_the_migrate_call_itself():
    """What the real call does: virsh migrate --live --p2p --persistent --undefinesource, and
    auto-converge."""
    from libvirt_static_ids.host import hypervisor

    assert hypervisor.migrate_flags() == FLAGS
    assert evacuate.default_dest_uri("kvm2.example.org") == "qemu://kvm2.example.org/system"


def test_every_running_vm_moves_with_a_bridge_opened_and_closed(world):
    migration = Migration(world, relabel=False)  # e.g. dynamic_ownership=0 on the target
    report = world.run(migration, timeout=90.0)
    assert report.status == "evacuated"
    assert [d.status for d in report.domains] == ["migrated"] * 3
    assert migration.calls == [
        (name, world.dest_uri, FLAGS, 90.0) for name in ("alpha", "beta", "gamma")
    ]
    for disk in world.disks.values():
        st = os.stat(disk)
        # Handed over (what the destination's relabel would have done), bridge gone.
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (64055, 64055, 0o600)
        assert "system.posix_acl_access" not in os.listxattr(disk)
        assert opens_as(disk, TARGET.uid, TARGET.gid)
        assert not opens_as(disk, SOURCE_UID, SOURCE_GID)
    iso = os.stat(world.iso)
    assert (iso.st_uid, iso.st_mode & 0o777) == (0, 0o644)
    assert "system.posix_acl_access" not in os.listxattr(world.iso)  # readable: not bridged
    runs = Store(world.root).runs()
    assert [r.kind for r in runs].count("bridge") == 3
    assert all(r.state == "rolled back" for r in runs if r.kind == "bridge")
    assert report.identity_source == "command-line"  # the test driver reports no DAC numbers
    assert any("unchecked" in w for w in report.warnings)


def test_stops_at_the_first_failure_with_the_vm_still_running_here(world):
    migration = Migration(world, fail_for="beta", relabel=False)
    report = world.run(migration)
    assert report.status == "failed"
    assert [(d.name, d.status) for d in report.domains] == [
        ("alpha", "migrated"),
        ("beta", "failed"),
        ("gamma", "pending"),
    ]
    assert "connection refused" in report.domains[1].message
    beta = world.disks["beta"]
    st = os.stat(beta)
    assert (st.st_uid, st.st_mode & 0o7777) == (SOURCE_UID, 0o600)  # bridge closed again
    assert "system.posix_acl_access" not in os.listxattr(beta)
    assert [name for name, *_ in migration.calls] == ["alpha", "beta"]


def test_dry_run_lists_and_changes_nothing(world):
    before = {p: os.stat(p).st_mode for p in world.disks.values()}
    report = world.run(Migration(world), dry_run=True)
    assert report.status == "would-evacuate"
    assert [(d.name, d.images, d.readable) for d in report.domains] == [
        (name, [str(disk)], [str(world.iso)]) for name, disk in world.disks.items()
    ]
    assert {p: os.stat(p).st_mode for p in world.disks.values()} == before
    assert Store(world.root).runs() == []


def test_a_storage_that_ignores_the_bridge_stops_before_migrating(world, mocker):
    """The probe (as the target's numbers) must pass before the VM moves."""
    from libvirt_static_ids.evacuation import probe

    real = probe.probe

    def denying(identity, paths, readonly=()):
        report = real(identity, paths, readonly)
        return probe.ProbeReport(
            identity,
            tuple(probe.Verdict(v.path, False, "EACCES", "denied") for v in report.verdicts),
        )

    mocker.patch.object(probe, "probe", denying)
    migration = Migration(world)
    report = world.run(migration)
    assert report.status == "failed"
    assert migration.calls == []
    assert "--mode chmod" in report.domains[0].message


def test_cli_validates_and_dry_runs(evac, world):
    base = ["evacuate", "kvm1", "--to", "kvm2", "--connect", world.uri, "--dry-run"]
    # The storage here is a local file system: libvirt would refuse, so evacuate does first.
    refused = evac(
        *base, "--uid", 64055, "--gid", 64055, "--desturi", world.dest_uri, root=world.root.path
    )
    assert refused.code == 3, refused.out
    assert refused.data["status"] == "refused"
    assert "local file system" in refused.data["domains"][0]["refusals"][0]
    # The destination reports no numbers here: without --uid/--gid there is nothing to use.
    unknown = evac(*base, "--desturi", world.dest_uri, root=world.root.path)
    assert unknown.code == 2
    assert "give --uid and --gid" in unknown.data["error"]["message"]
    # The old spelling still works (hidden), a bad timeout is named.
    alias = evac(*base, "--uid", 1, "--gid", 1, "--dest-uri", world.dest_uri, root=world.root.path)
    assert alias.data["dest_uri"] == world.dest_uri
    bad = evac(*base, "--uid", 1, "--gid", 1, "--timeout", "soon", root=world.root.path)
    assert bad.code == 2
    assert "--timeout 'soon'" in bad.data["error"]["message"]


def test_the_ucs_default_destination_is_the_fqdn(evac, world):
    """On UCS: ``qemu://TARGET.DOMAINNAME/system`` (TLS checks the host certificate's name)."""
    conf = Path(world.root.path) / "etc/univention"
    conf.mkdir(parents=True)
    (conf / "base.conf").write_text("# UCR\ndomainname: example.org\n")
    result = evac(
        "evacuate",
        "kvm1",
        "--to",
        "kvm2",
        "--connect",
        world.uri,
        "--dry-run",
        root=world.root.path,
        wrapper=["unshare", "--net"],  # no network at all: the connection must fail here
    )
    assert result.code == 2
    assert "'qemu://kvm2.example.org/system'" in result.data["error"]["message"]


def test_a_world_writable_bridge_is_loud_in_json_and_text(world):
    """Was: evacuate fell back to chmod 666 and dropped the bridge's WORLD-WRITABLE warning."""
    from libvirt_static_ids.cli.render.human import human
    from libvirt_static_ids.files.widen import Mode

    report = world.run(Migration(world, relabel=False), mode=Mode.CHMOD)
    assert report.status == "evacuated"
    data = report.as_dict()
    for vm in data["domains"]:
        assert any("WORLD-WRITABLE" in w for w in vm["warnings"]), vm
    text = human(data)
    assert text.count("WORLD-WRITABLE") == len(data["domains"])
