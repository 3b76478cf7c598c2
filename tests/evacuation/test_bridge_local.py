# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""bridge open/close/status on a local file system (ext4/tmpfs with real POSIX ACLs): access
for the foreign numbers proven by the kernel (setpriv), exact restore proven by snapshots of
mode and every xattr, the journal shared with rollback, TTLs, domains from libvirt's test driver.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import cli_support
from evacuation.conftest import opens_as
from libvirt_static_ids.evacuation.bridge import runs as bridge
from libvirt_static_ids.evacuation.bridge import timer
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity
from libvirt_static_ids_testbed import simulated

OWNER, GROUP = 1101, 1102
FOREIGN = 64055


def state(path: Path) -> tuple[int, int, int, tuple[tuple[str, bytes], ...]]:
    st = os.lstat(path)
    names = sorted(os.listxattr(path, follow_symlinks=False))
    return (
        st.st_uid,
        st.st_gid,
        st.st_mode,
        tuple((n, os.getxattr(path, n, follow_symlinks=False)) for n in names),
    )


def getfacl(path: Path) -> list[str]:
    out = subprocess.run(
        ["getfacl", "-n", "-c", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if line]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A system root (its accounts only): the host commands refuse a directory without them."""
    path = tmp_path / "root"
    path.mkdir()
    simulated.write_accounts(str(path), simulated.SimulatedHost())
    return path


def test_acl_bridge_opens_for_the_foreign_identity_and_closes_exactly(
    evac, root, shared_dir, image
):
    first = image(shared_dir, "a.qcow2", OWNER, GROUP, 0o600)
    second = image(shared_dir, "b.raw", OWNER, GROUP, 0o640)
    before = {p: state(p) for p in (first, second)}
    assert not opens_as(first, FOREIGN, FOREIGN)

    opened = evac("bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, first, second, root=root)
    assert opened.code == 0, opened.out
    data = opened.data
    assert data["status"] == "open"
    assert [f["status"] for f in data["files"]] == ["opened", "opened"]
    assert [f["via"] for f in data["files"]] == ["root", "root"]
    assert getfacl(first) == [
        "user::rw-",
        f"user:{OWNER}:rw-",
        f"user:{FOREIGN}:rw-",
        "group::---",
        f"group:{GROUP}:rw-",
        f"group:{FOREIGN}:rw-",
        "mask::rw-",
        "other::---",
    ]
    # The destination's libvirt may re-own the image mid-migration: the source keeps access.
    os.chown(first, int(FOREIGN), int(FOREIGN))
    assert opens_as(first, OWNER, 9)
    os.chown(first, int(OWNER), int(GROUP))
    # The kernel says yes to the foreign UID alone and to its GID alone; others stay out.
    for path in (first, second):
        assert opens_as(path, FOREIGN, 9)
        assert opens_as(path, 77, FOREIGN)
        assert not opens_as(path, 77, 9)

    status = evac("bridge", "status", root=root).data
    assert [b["run_id"] for b in status["bridges"]] == [data["run_id"]]

    closed = evac("bridge", "close", data["run_id"], root=root)
    assert closed.code == 0
    assert [f["status"] for f in closed.data["files"]] == ["restored", "restored"]
    assert {p: state(p) for p in (first, second)} == before
    assert not opens_as(first, FOREIGN, FOREIGN)
    assert evac("bridge", "status", root=root).data["bridges"] == []
    again = evac("bridge", "close", data["run_id"], root=root)
    assert (again.code, again.data["status"]) == (0, "already-closed")


def test_an_existing_acl_and_other_xattrs_come_back_byte_for_byte(evac, root, shared_dir, image):
    path = image(shared_dir, "acl.qcow2", OWNER, GROUP, 0o640)
    subprocess.run(["setfacl", "-m", "u:1000:rw,g:2000:r,m::r", str(path)], check=True)
    os.setxattr(path, "trusted.libvirt.security.dac", b"+1101:+1102")
    os.setxattr(path, "user.note", b"kept")
    before = state(path)
    opened = evac("bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root)
    assert opened.code == 0
    # The mask grew from r to rw: user 1000 gets write too while the bridge is open; said so.
    (entry,) = opened.data["files"]
    assert entry["widened"] == ["user:1000"]
    assert any("user:1000" in w for w in opened.data["warnings"])
    assert os.getxattr(path, "trusted.libvirt.security.dac") == b"+1101:+1102"
    assert opens_as(path, FOREIGN, 9)
    closed = evac("bridge", "close", opened.data["run_id"], root=root)
    assert closed.code == 0
    assert state(path) == before


def test_chmod_mode_is_loud_and_restores_the_exact_mode(evac, root, shared_dir, image):
    path = image(shared_dir, "w.qcow2", OWNER, GROUP, 0o600)
    before = state(path)
    opened = evac(
        "bridge", "open", "--mode", "chmod", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root
    )
    assert opened.code == 0
    assert any("WORLD-WRITABLE" in w for w in opened.data["warnings"])
    assert os.stat(path).st_mode & 0o777 == 0o666
    assert opens_as(path, 4242, 4242)
    human = evac("bridge", "status", root=root, json=False)
    assert opened.data["run_id"] in human.out
    closed = evac("bridge", "close", opened.data["run_id"], root=root, json=False)
    assert closed.code == 0
    assert "restored" in closed.out
    assert state(path) == before


def test_dry_run_changes_nothing_and_journals_nothing(evac, root, shared_dir, image):
    path = image(shared_dir, "d.qcow2", OWNER, GROUP, 0o600)
    before = state(path)
    result = evac(
        "bridge", "open", "--dry-run", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root
    )
    assert result.code == 0
    assert result.data["status"] == "would-open"
    assert result.data["files"][0]["after"]["mode"] & 0o777 == 0o660  # group bits show the mask
    assert state(path) == before
    assert not (root / "var/lib/libvirt-static-ids/runs").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--uid", "x", "--gid", "5"], "'x'"),
        (["--uid", "5", "--gid", "5", "--ttl", "0"], "--ttl '0'"),
        (["--uid", "5", "--gid", "5", "--ttl", "1h"], "--ttl '1h'"),
        (["--uid", "5", "--gid", "5", "--mode", "777"], "777"),
        (["--uid", "5", "--gid", "5", "NOPE"], "NOPE"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(evac, root, shared_dir, image, args, named):  # noqa: PLR0917 - fixtures and parameters
    path = image(shared_dir, "i.qcow2", OWNER, GROUP, 0o600)
    before = state(path)
    args = [str(shared_dir / a) if a == "NOPE" else a for a in args]
    result = evac("bridge", "open", *args, path, root=root)
    assert result.code == 2
    assert named in result.data["error"]["message"]
    assert state(path) == before
    assert not (root / "var/lib/libvirt-static-ids/runs").exists()


def test_close_needs_a_run_or_expired(evac, root):
    assert evac("bridge", "close", root=root).code == 2
    assert evac("bridge", "close", "nonsense", root=root).code == 2


def test_owner_changed_by_libvirt_meanwhile_is_kept(evac, root, shared_dir, image):
    """The destination's libvirt chowns the image to its QEMU user during the migration:
    closing restores mode and ACL but leaves that owner, so the migrated VM keeps access."""
    path = image(shared_dir, "m.qcow2", OWNER, GROUP, 0o600)
    opened = evac("bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root)
    os.chown(path, FOREIGN, FOREIGN)  # what dynamic_ownership does on the destination
    closed = evac("bridge", "close", opened.data["run_id"], root=root)
    assert closed.code == 0
    assert closed.data["files"][0]["status"] == "restored"
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (FOREIGN, FOREIGN, 0o600)
    assert "system.posix_acl_access" not in os.listxattr(path)
    assert opens_as(path, FOREIGN, FOREIGN)
    assert not opens_as(path, OWNER, GROUP)


def test_a_change_by_someone_else_is_left_and_reported(evac, root, shared_dir, image):
    path = image(shared_dir, "c.qcow2", OWNER, GROUP, 0o600)
    opened = evac("bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root)
    subprocess.run(["setfacl", "-m", "u:4242:r", str(path)], check=True)
    theirs = state(path)
    closed = evac("bridge", "close", opened.data["run_id"], root=root)
    assert closed.code == 1
    assert closed.data["status"] == "closed-with-conflicts"
    assert "someone else" in closed.data["files"][0]["message"]
    assert state(path) == theirs


def test_rollback_undoes_a_bridge_from_the_same_journal(evac, root, shared_dir, image):
    path = image(shared_dir, "r.qcow2", OWNER, GROUP, 0o600)
    before = state(path)
    opened = evac("bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root)
    rolled = evac("rollback", opened.data["run_id"], root=root, json=False)
    assert rolled.code == 0, rolled.err
    assert state(path) == before


def test_expired_closes_only_bridges_past_their_ttl(evac, root, shared_dir, image):
    short = image(shared_dir, "short.qcow2", OWNER, GROUP, 0o600)
    long = image(shared_dir, "long.qcow2", OWNER, GROUP, 0o600)
    before = state(short)
    first = evac("bridge", "open", "--ttl", 1, "--uid", FOREIGN, "--gid", FOREIGN, short, root=root)
    second = evac(
        "bridge", "open", "--ttl", 3600, "--uid", FOREIGN, "--gid", FOREIGN, long, root=root
    )
    expires = first.data["expires"]
    while time.time() <= expires:  # wait until the first one is past its TTL
        time.sleep(0.2)
    result = evac("bridge", "close", "--expired", root=root)
    assert result.code == 0
    assert [r["run_id"] for r in result.data["closed"]] == [first.data["run_id"]]
    assert state(short) == before
    assert opens_as(long, FOREIGN, FOREIGN)
    still = evac("bridge", "status", root=root).data["bridges"]
    assert [b["run_id"] for b in still] == [second.data["run_id"]]
    assert evac("bridge", "close", "--expired", root=root).data["closed"] == []


def test_the_ttl_timer_is_a_transient_systemd_unit(monkeypatch, root, shared_dir, image):
    """On a live host: ``systemd-run`` with exactly this argv (recorded, never run here),
    armed before the file is widened, running ``close --expired`` (which waits for the lock
    and lets the VM decide the owner) rather than ``close RUN``."""
    path = image(shared_dir, "t.qcow2", OWNER, GROUP, 0o600)
    before = state(path)
    host = HostRoot.open(str(root))
    monkeypatch.setattr(timer, "systemd_available", lambda _root: True)
    calls: list[list[str]] = []
    seen_at_arming: list[tuple[int, int, int, tuple[tuple[str, bytes], ...]]] = []

    def recorder(argv: list[str]) -> None:
        if argv[0] == "systemd-run":
            seen_at_arming.append(state(path))
        calls.append(argv)

    report = bridge.open_bridge(
        host, Identity(FOREIGN, FOREIGN), [str(path)], ttl=900, timer_runner=recorder
    )
    run_id = report.run_id
    assert report.status == "open"
    assert seen_at_arming == [before]  # armed while nothing was widened yet
    program = timer.close_command(host)[:-5]
    assert calls == [
        [
            "systemd-run",
            f"--unit=libvirt-static-ids-bridge-{run_id}",
            "--on-active=900s",
            "--timer-property=AccuracySec=1s",
            f"--description=close libvirt-static-ids bridge {run_id} (TTL 900s)",
            *program,
            "--root",
            str(root),
            "bridge",
            "close",
            "--expired",
        ]
    ]
    closed = bridge.close_bridge(host, run_id, timer_runner=recorder)
    assert closed.status == "closed"
    assert calls[-1] == ["systemctl", "stop", f"libvirt-static-ids-bridge-{run_id}.timer"]


def test_a_timer_that_does_not_start_undoes_the_bridge(monkeypatch, root, shared_dir, image):
    path = image(shared_dir, "u.qcow2", OWNER, GROUP, 0o600)
    before = state(path)
    monkeypatch.setattr(timer, "systemd_available", lambda _root: True)
    report = bridge.open_bridge(
        HostRoot.open(str(root)),
        Identity(FOREIGN, FOREIGN),
        [str(path)],
        ttl=60,
        timer_runner=lambda argv: "systemd-run: no bus",
    )
    assert report.status == "failed"
    assert report.files[0].status == "not-started"  # the TTL comes first: nothing widened
    assert state(path) == before


def test_all_or_nothing_when_one_file_cannot_be_changed(root, shared_dir, image):
    """A file that refuses (here: immutable, so even root gets EPERM and its owner too) undoes
    the files already widened; the bridge reports failure with what must run where."""
    good = image(shared_dir, "g.qcow2", OWNER, GROUP, 0o600)
    stuck = image(shared_dir, "s.qcow2", OWNER, GROUP, 0o600)
    before = state(good)
    if subprocess.run(["chattr", "+i", str(stuck)], check=False).returncode != 0:
        pytest.skip(reason="this file system has no immutable flag")
    try:
        report = bridge.open_bridge(
            HostRoot.open(str(root)), Identity(FOREIGN, FOREIGN), [str(good), str(stuck)]
        )
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)
    assert report.status == "failed"
    statuses = {Path(f.path).name: f.status for f in report.files}
    assert statuses == {"g.qcow2": "undone", "s.qcow2": "failed"}
    failed = next(f for f in report.files if f.status == "failed")
    assert failed.errno == "EPERM"
    assert "setfacl --set" in failed.advice
    assert failed.advice.startswith("as root on this host:")
    assert state(good) == before


DOMAIN_XML = """<node>
  <domain type='test'>
    <name>web</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='{disk}'/><target dev='vda'/></disk>
      <disk type='file' device='cdrom'><source file='{iso}'/><target dev='hdc'/><readonly/></disk>
      <disk type='network' device='disk'>
        <source protocol='nbd' name='x'><host name='127.0.0.1' port='10809'/></source>
        <target dev='vdb'/>
      </disk>
      <disk type='block' device='disk'><source dev='/dev/null'/><target dev='vdc'/></disk>
    </devices>
  </domain>
  <domain type='test'>
    <name>diskless</name>
    <memory>524288</memory>
    <os><type>hvm</type></os>
  </domain>
</node>
"""


def test_domain_bridges_only_its_file_disks(evac, root, shared_dir, image):
    disk = image(shared_dir, "web.qcow2", OWNER, GROUP, 0o600)
    iso = image(shared_dir, "install.iso", 0, 0, 0o644)
    iso_before = state(iso)
    node = shared_dir / "node.xml"
    node.write_text(DOMAIN_XML.format(disk=disk, iso=iso))
    uri = f"test://{node}"
    result = evac(
        "bridge",
        "open",
        "--uid",
        FOREIGN,
        "--gid",
        FOREIGN,
        "--connect",
        uri,
        "--vm",
        "web",
        root=root,
    )
    assert result.code == 0, result.out
    assert result.data["domain"] == "web"
    assert [f["path"] for f in result.data["files"]] == [str(disk)]
    assert state(iso) == iso_before
    assert opens_as(disk, FOREIGN, FOREIGN)
    evac("bridge", "close", result.data["run_id"], root=root)

    # --domain, libvirt's word and 0.1.0's spelling, still works.
    none = evac(
        "bridge",
        "open",
        "--uid",
        5,
        "--gid",
        5,
        "--connect",
        uri,
        "--domain",
        "diskless",
        root=root,
    )
    assert none.code == 2
    assert "diskless" in none.data["error"]["message"]
    missing = evac(
        "bridge", "open", "--uid", 5, "--gid", 5, "--connect", uri, "--domain", "nope", root=root
    )
    assert missing.code == 2
    assert "'nope'" in missing.data["error"]["message"]
    both = evac("bridge", "open", "--uid", 5, "--gid", 5, "--domain", "web", disk, root=root)
    assert both.code == 2


def test_no_acl_support_falls_back_to_chmod_loudly(evac, root, tmp_path):
    """ramfs takes no xattrs at all: the ACL bridge becomes a (loud) chmod bridge."""
    mountpoint = tmp_path / "ramfs"
    mountpoint.mkdir()
    script = (
        'mount -t ramfs none "$1" && printf x > "$1/img" && chown 1101:1102 "$1/img" && '
        'chmod 600 "$1/img" && shift && "$@" && stat -c %a "$MP/img"'
    )
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "env",
            f"MP={mountpoint}",
            "sh",
            "-c",
            script,
            "sh",
            str(mountpoint),
            *cli_support.COMMAND,
            "--root",
            str(root),
            "--json",
            "bridge",
            "open",
            "--uid",
            str(FOREIGN),
            "--gid",
            str(FOREIGN),
            str(mountpoint / "img"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    text, _, mode = done.stdout.rpartition("}")
    data = json.loads(text + "}")
    assert data["files"][0]["mode"] == "chmod"
    assert any("takes no POSIX ACL" in w and "WORLD-WRITABLE" in w for w in data["warnings"])
    assert mode.strip() == "666"


def test_the_journal_lists_a_bridge_run_as_the_cli_schema_says(evac, root, shared_dir, image):
    """``journal --json`` after a bridge still validates against the host engine's schema."""
    validator = cli_support.validator(cli_support.CLI_OUTPUT)
    path = image(shared_dir, "j.qcow2", OWNER, GROUP, 0o600)
    opened = evac("bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root)
    listed = evac("journal", root=root, schema=cli_support.CLI_OUTPUT)
    data = listed.data
    assert [(r["run_id"], r["kind"]) for r in data["runs"]] == [(opened.data["run_id"], "bridge")]
    assert list(validator.iter_errors(data)) == []
