# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``convert --suspend-vms`` / ``--shutdown-vms`` against libvirt's test driver and real files.

Proves: the running VMs are stopped (managed save or ACPI shutdown) before the accounts are
renumbered and started again afterwards; their disk images (outside the host's tree, as on
NFS) and managed-save images (inside var/lib/libvirt/qemu/save) are remapped to the new
numbers, which the kernel then lets open them; a VM that does not shut down in time is never
destroyed and nothing is converted; a VM that does not come back is reported with its
managed-save image kept (exit 1); a resumed convert, even without the option, starts what the
interrupted run stopped; rollback starts them again under the old numbers; a transient VM or
a process that is no VM refuses the run; bad options are exit 2 and change nothing.

The test driver keeps its state per connection: in-process tests hand the run one connection
(``Stopper(conn=...)``, or ``hypervisor.connect`` answering with it) and look at it afterwards.
Its ACPI shutdown is instant; a guest ignoring the power button is imitated by replacing
``hypervisor.shutdown`` for one domain, a failing start by replacing ``hypervisor.start``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evacuation.conftest import opens_as
from libvirt_static_ids.cli import main
from libvirt_static_ids.errors import OperationFailed, PreflightRefused
from libvirt_static_ids.files import libvirt_xattrs
from libvirt_static_ids.host import accounts, convert, downtime, hypervisor
from libvirt_static_ids.host import rollback as rollback_module
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.journal.records import AccountRecord, DowntimeRecord
from libvirt_static_ids.journal.runs import RunState
from libvirt_static_ids.journal.store import Store
from libvirt_static_ids_testbed.simulated import SimulatedHost

libvirt = pytest.importorskip(
    "libvirt", reason="needs libvirt-python (pip, built against Debian libvirt-dev)"
)

OLD = SimulatedHost(uid=5109, gid=5114, kvm_gid=5106)  # numbers no other test runs as
TARGET = IdPair(64055, 64055)
NODE = """<node>
{domains}
</node>"""
DOMAIN = """  <domain type='test'>
    <name>{name}</name>
    <memory>524288</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='{disk}'/><target dev='vda'/></disk>
      <disk type='file' device='cdrom'><source file='{iso}'/><target dev='hdc'/><readonly/></disk>
    </devices>
  </domain>"""


class _Shared:
    """One test-driver connection for the run, the rollback and the test (close is a no-op)."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def close(self) -> int:
        return 0


@pytest.fixture
def host(make_root, shared_dir: Path, image):
    root = make_root(OLD)
    iso = image(shared_dir, "install.iso", 0, 0, 0o644)
    disks = {
        name: image(shared_dir, f"{name}.qcow2", OLD.uid, OLD.gid, 0o600)
        for name in ("alpha", "beta", "gamma")
    }
    node = shared_dir / "node.xml"
    node.write_text(
        NODE.format(
            domains="\n".join(DOMAIN.format(name=n, disk=d, iso=iso) for n, d in disks.items())
        )
    )
    uri = f"test://{node}"
    conn = libvirt.open(uri)
    conn.lookupByName("gamma").managedSave(0)  # saved earlier by someone else: left alone
    # alpha's managed-save image, as libvirt leaves it: owned by QEMU, remembered owner set.
    save = root / "var/lib/libvirt/qemu/save/alpha.save"
    save.write_bytes(b"saved state")
    os.chown(save, OLD.uid, OLD.gid)
    os.setxattr(save, libvirt_xattrs.DAC, b"+%d:+%d" % (OLD.uid, OLD.gid))
    yield {
        "root": HostRoot.open(str(root)),
        "uri": uri,
        "conn": conn,
        "disks": disks,
        "iso": iso,
        "save": save,
    }
    conn.close()


def _states(conn) -> dict[str, tuple[bool, bool]]:
    return {
        d.name(): (bool(d.isActive()), bool(d.hasManagedSaveImage(0)))
        for d in conn.listAllDomains(0)
    }


def _owner(path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


def _account(root: HostRoot) -> IdPair:
    user = accounts.find_user(root, "libvirt-qemu")
    group = accounts.find_group(root, "libvirt-qemu")
    assert user is not None and group is not None
    return IdPair(user.uid, group.gid)


def _watch_renumbering(monkeypatch, conn) -> list[dict[str, tuple[bool, bool]]]:
    """Record the domains' states at the moment the user is renumbered."""
    seen: list[dict[str, tuple[bool, bool]]] = []
    real = accounts.renumber_user

    def watching(*args, **kwargs):
        seen.append(_states(conn))
        return real(*args, **kwargs)

    monkeypatch.setattr(accounts, "renumber_user", watching)
    return seen


def test_suspend_converts_with_the_vms_saved_and_resumes_them(host, monkeypatch):
    conn = host["conn"]
    seen = _watch_renumbering(monkeypatch, conn)
    stopper = downtime.Stopper(downtime.How.SUSPEND, host["uri"], conn=conn)
    report = convert.convert(host["root"], TARGET, stopper=stopper)

    assert report.status == "converted"
    assert _account(host["root"]) == TARGET
    # While the numbers changed, alpha and beta were saved to disk, gamma as it was.
    assert seen == [{"alpha": (False, True), "beta": (False, True), "gamma": (False, True)}]
    # Afterwards they run again (their save images consumed); gamma is not ours to start.
    assert _states(conn) == {
        "alpha": (True, False),
        "beta": (True, False),
        "gamma": (False, True),
    }
    data = report.as_dict()
    assert [(d["name"], d["status"]) for d in data["downtime"]["domains"]] == [
        ("alpha", "started"),
        ("beta", "started"),
    ]
    assert data["downtime"]["untouched_saved"] == ["gamma"]
    # The images of the stopped VMs (outside the host's tree) now belong to the new numbers,
    # which the kernel lets open them; gamma's image (not stopped by us) and the ISO are untouched.
    for name in ("alpha", "beta"):
        assert _owner(host["disks"][name]) == (64055, 64055, 0o600)
        assert opens_as(host["disks"][name], 64055, 64055)
    assert _owner(host["disks"]["gamma"]) == (OLD.uid, OLD.gid, 0o600)
    assert _owner(host["iso"]) == (0, 0, 0o644)
    # The managed-save image lies inside the convert scope and was repaired with its label.
    assert downtime.in_convert_scope(host["root"], str(host["save"]))
    assert _owner(host["save"])[:2] == (64055, 64055)
    assert os.getxattr(host["save"], libvirt_xattrs.DAC) == b"+64055:+64055"
    # The journal says which domains were stopped and started, in order.
    journal = Store(host["root"]).open(report.run_id)
    steps = [(r.name, r.step) for r in journal.records_of(DowntimeRecord)]
    assert steps == [
        ("alpha", "stop"),
        ("alpha", "stopped"),
        ("beta", "stop"),
        ("beta", "stopped"),
        ("alpha", "start"),
        ("alpha", "started"),
        ("beta", "start"),
        ("beta", "started"),
    ]


def test_shutdown_path_boots_the_vms_again(host):
    conn = host["conn"]
    stopper = downtime.Stopper(downtime.How.SHUTDOWN, host["uri"], timeout=30, conn=conn)
    report = convert.convert(host["root"], TARGET, stopper=stopper)
    assert report.status == "converted"
    assert _states(conn)["alpha"] == (True, False)
    assert [d["status"] for d in report.downtime["domains"]] == ["started", "started"]
    assert report.downtime["how"] == "shutdown"


def test_a_vm_ignoring_acpi_is_never_destroyed_and_nothing_is_converted(host, monkeypatch):
    conn = host["conn"]
    real = hypervisor.shutdown
    destroyed: list[str] = []

    def ignoring(domain):
        if domain.name() != "beta":
            real(domain)

    monkeypatch.setattr(hypervisor, "shutdown", ignoring)
    monkeypatch.setattr(
        libvirt.virDomain, "destroy", lambda self, *a: destroyed.append(self.name())
    )
    stopper = downtime.Stopper(downtime.How.SHUTDOWN, host["uri"], timeout=0.5, conn=conn)
    with pytest.raises(OperationFailed, match=r"beta did not shut down within 0\.5 s") as caught:
        convert.convert(host["root"], TARGET, stopper=stopper)
    assert destroyed == []
    assert _states(conn)["beta"] == (True, False)  # still running
    assert _states(conn)["alpha"] == (True, False)  # started again
    assert _account(host["root"]) == IdPair(OLD.uid, OLD.gid)
    statuses = {d["name"]: d["status"] for d in caught.value.details["domains"]}
    assert statuses == {"alpha": "started", "beta": "still-running"}
    store = Store(host["root"])
    assert store.interrupted() is None
    (run,) = store.runs()
    assert run.state == RunState.ROLLED_BACK
    assert not list(store.open(run.run_id).records_of(AccountRecord))


def test_a_vm_that_does_not_come_back_keeps_its_saved_state(host, monkeypatch, capsys):
    """Through the command itself (in this process, so the start can be made to fail)."""
    real = hypervisor.start

    def failing(domain):
        if domain.name() == "beta":
            raise libvirt.libvirtError("internal error: qemu unexpectedly closed the monitor")
        real(domain)

    monkeypatch.setattr(hypervisor, "start", failing)
    shared = _Shared(host["conn"])
    monkeypatch.setattr(hypervisor, "connect", lambda uri: shared)
    argv = ["--root", host["root"].path, "--json", "convert", "--suspend-vms"]
    code = main.main([*argv, "--connect", host["uri"]])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["status"] == "converted"  # the host is converted; one VM is not back
    beta = next(d for d in data["downtime"]["domains"] if d["name"] == "beta")
    assert beta["status"] == "failed"
    assert "qemu unexpectedly closed the monitor" in beta["message"]
    assert "managed-save image is kept" in beta["message"]
    assert _states(host["conn"])["beta"] == (False, True)  # defined, saved state intact
    assert _states(host["conn"])["alpha"] == (True, False)


def _crash_while_renumbering_the_group(monkeypatch) -> None:
    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt  # as a kill would: the run stays "running"

    monkeypatch.setattr(accounts, "renumber_group", crash)


def test_a_resumed_convert_starts_what_the_interrupted_run_stopped(host, monkeypatch):
    conn = host["conn"]
    shared = _Shared(conn)
    monkeypatch.setattr(hypervisor, "connect", lambda uri: shared)
    with monkeypatch.context() as crash:
        _crash_while_renumbering_the_group(crash)
        stopper = downtime.Stopper(downtime.How.SUSPEND, host["uri"])
        with pytest.raises(KeyboardInterrupt):
            convert.convert(host["root"], TARGET, stopper=stopper)
    assert _states(conn)["alpha"] == (False, True)
    assert Store(host["root"]).interrupted() is not None
    # Plain `convert`: the journal knows the run stopped VMs, and where to start them.
    report = convert.convert(host["root"], TARGET)
    assert report.resumed
    assert report.status == "converted"
    assert _account(host["root"]) == TARGET
    assert _states(conn)["alpha"] == (True, False)
    assert _states(conn)["beta"] == (True, False)
    assert [d["status"] for d in report.downtime["domains"]] == ["started", "started"]


def test_rollback_starts_the_vms_the_run_left_stopped(host, monkeypatch):
    conn = host["conn"]
    shared = _Shared(conn)
    monkeypatch.setattr(hypervisor, "connect", lambda uri: shared)
    with monkeypatch.context() as crash:
        _crash_while_renumbering_the_group(crash)
        with pytest.raises(KeyboardInterrupt):
            convert.convert(
                host["root"], TARGET, stopper=downtime.Stopper(downtime.How.SUSPEND, host["uri"])
            )
    assert _account(host["root"]).uid == 64055  # the user was renumbered before the crash
    result = rollback_module.rollback(host["root"])
    assert result.clean
    assert _account(host["root"]) == IdPair(OLD.uid, OLD.gid)
    assert [(d["name"], d["status"]) for d in result.as_dict()["domains"]] == [
        ("alpha", "started"),
        ("beta", "started"),
    ]
    assert _states(conn)["alpha"] == (True, False)


def test_a_transient_vm_refuses_before_anything_stops(host):
    conn = host["conn"]
    xml = DOMAIN.format(name="scratch", disk=host["disks"]["gamma"], iso=host["iso"])
    conn.createXML(xml, 0)
    stopper = downtime.Stopper(downtime.How.SUSPEND, host["uri"], conn=conn)
    with pytest.raises(PreflightRefused, match="'scratch' is transient"):
        convert.convert(host["root"], TARGET, stopper=stopper)
    assert all(active for active, _ in (_states(conn)[n] for n in ("alpha", "beta", "scratch")))
    assert _account(host["root"]) == IdPair(OLD.uid, OLD.gid)
    assert Store(host["root"]).interrupted() is None


def test_a_process_that_is_no_vm_refuses_and_the_vms_run_again(host, process_as):
    conn = host["conn"]
    pid = process_as(OLD.uid, OLD.gid)
    stopper = downtime.Stopper(downtime.How.SUSPEND, host["uri"], grace=0.5, conn=conn)
    with pytest.raises(PreflightRefused, match=f"{pid} \\(sleep\\)") as caught:
        convert.convert(host["root"], TARGET, stopper=stopper)
    assert caught.value.details["blockers"][0]["code"] == "processes-running"
    assert _states(conn)["alpha"] == (True, False)
    assert _states(conn)["beta"] == (True, False)
    assert _account(host["root"]) == IdPair(OLD.uid, OLD.gid)
    assert Store(host["root"]).interrupted() is None


def test_cli_end_to_end_and_dry_run(host, cli):
    """The installed command in its own process: its own test-driver state, where all three
    domains of node.xml run (gamma's earlier managed save lives only in this process)."""
    root = host["root"].path
    dry = cli(
        "convert", "--suspend-vms", "--connect", host["uri"], "--dry-run", root=root, json=True
    )
    assert dry.code == 0, dry
    assert dry.data["status"] == "would-convert"
    assert [d["status"] for d in dry.data["downtime"]["domains"]] == ["would-stop"] * 3
    assert dry.data["steps"][0] == "managedsave the running domains: alpha, beta, gamma"
    assert Store(host["root"]).runs() == []
    done = cli("convert", "--suspend-vms", "--connect", host["uri"], root=root, json=True)
    assert done.code == 0, done
    assert [d["status"] for d in done.data["downtime"]["domains"]] == ["started"] * 3
    assert _owner(host["disks"]["alpha"]) == (64055, 64055, 0o600)
    human = cli("journal", root=root)
    assert human.code == 0
    text = cli("rollback", "--no-restart", root=root)
    assert text.code == 0, text
    assert "VMs the run had stopped" not in text.out  # they were running again: none to start
    assert _owner(host["disks"]["alpha"]) == (OLD.uid, OLD.gid, 0o600)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--shutdown-vms", "--shutdown-timeout", "soon"], "'soon'"),
        (["--shutdown-vms", "--shutdown-timeout", "0"], "'0'"),
        (["--suspend-vms", "--shutdown-timeout", "5"], "--shutdown-timeout"),
        (["--suspend-vms", "--shutdown-vms"], "not allowed with"),
        (["--connect", "test:///default"], "--connect"),
        (["--suspend-vms", "--connect", "bogus:///nothing"], "'bogus:///nothing'"),
    ],
)
def test_bad_options_are_named_and_change_nothing(host, cli, args, named):
    root = host["root"].path
    result = cli("convert", *args, root=root, json=True)
    assert result.code == 2, result
    assert named in result.data["error"]["message"]
    assert Store(host["root"]).runs() == []
    assert _account(host["root"]) == IdPair(OLD.uid, OLD.gid)
