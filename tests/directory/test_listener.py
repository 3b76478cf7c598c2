# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The listener module, run per simulated host in its own process against the real slapd.

The module only starts the transient unit ``libvirt-static-ids record --pending`` (through
the fake systemd of tests/fake_systemd.py, which really runs the unit's command) and returns.
Proves: it returns while the unit is blocked in libvirt; hosts record themselves through the
unit (initialize), as their own machine accounts; an unchanged host writes nothing (no
self-trigger); a target change re-records; a request left pending while no listener ran is
carried out at initialize; a refresh request records and clears itself; a convert request
records "converting", starts the exact convert unit and clears itself, and that unit's
command records the end state; a request left pending while a conversion ran is taken up
when the record leaves "converting"; a running unit or a failing systemd-run is logged, never
raised; events for other objects start nothing; the module opens no LDAP connection.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import ldap
import pytest

from libvirt_static_ids_testbed.simulated import SimulatedHost

SETTINGS_ATTRS = ["objectClass", "cn", "libvirtStaticIdsTargetUid", "libvirtStaticIdsTargetGid"]
UNIT = "libvirt-static-ids-listener"


def _record(entry, dn):
    found = entry(dn)
    return {
        name: found.get(name, [b""])[0].decode()
        for name in (
            "libvirtStaticIdsUid",
            "libvirtStaticIdsGid",
            "libvirtStaticIdsState",
            "libvirtStaticIdsChecked",
            "libvirtStaticIdsRequest",
            "entryCSN",
            "modifiersName",
        )
    }


def _ran(units, name=UNIT):
    out = units.wait(name)
    assert "Traceback" not in out and "error:" not in out, out
    return out


def _started(out, why):
    assert any(why in line and f"started {UNIT}" in line for line in out["log"]), out


def test_hosts_record_themselves_and_do_not_rewrite(testbed, hosts, listener, entry, units):
    kvm1, kvm2, kvm3 = hosts(
        {
            "kvm1": SimulatedHost(uid=4109, gid=4114),
            "kvm2": SimulatedHost(uid=4110, gid=4115),
            "kvm3": SimulatedHost(uid=64055, gid=64055),
        }
    )
    for host in (kvm1, kvm2, kvm3):
        _started(listener(host, "initialize"), "initial record")
        _ran(units)
    one, two, three = (_record(entry, h.dn) for h in (kvm1, kvm2, kvm3))
    assert (one["libvirtStaticIdsUid"], one["libvirtStaticIdsGid"]) == ("4109", "4114")
    assert one["libvirtStaticIdsState"] == "dynamic"
    assert (two["libvirtStaticIdsUid"], two["libvirtStaticIdsGid"]) == ("4110", "4115")
    assert three["libvirtStaticIdsState"] == "static"
    # Each host wrote as itself, not as an admin.
    assert one["modifiersName"].lower() == kvm1.dn.lower()
    assert three["modifiersName"].lower() == kvm3.dn.lower()
    # Again: nothing changed, so nothing is written (entryCSN unchanged).
    listener(kvm1, "initialize")
    assert "record unchanged: nothing written" in _ran(units)
    assert _record(entry, kvm1.dn)["entryCSN"] == one["entryCSN"]
    # The unit is exactly this, once per event.
    starts = [call for call in units.calls() if call[0] == "systemd-run"]
    assert len(starts) == 4
    assert starts[-1][:7] == [
        "systemd-run",
        f"--unit={UNIT}",
        "--description=libvirt-static-ids: carry out this host's requests and record it in LDAP",
        "--collect",
        "--no-block",
        "--quiet",
        "--",
    ]
    assert starts[-1][8:] == ["record", "--pending", "--root", kvm1.root]


class HangingLibvirt:
    """A libvirt socket that accepts and never answers: a stuck libvirtd (or NFS under it)."""

    def __init__(self, path: Path) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen()
        self.reached = threading.Event()
        self.released = threading.Event()
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        client, _ = self.server.accept()
        self.clients.append(client)
        self.reached.set()
        self.released.wait()
        client.close()

    def release(self) -> None:
        self.released.set()
        self.thread.join(timeout=10)
        self.server.close()


def test_the_handler_returns_while_libvirt_hangs(lab):
    entry, units = lab.entry, lab.units
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    hang = HangingLibvirt(lab.tmp / "libvirt-sock")
    try:
        out = lab.listener(
            kvm1, "initialize", inventory_uri=f"qemu+unix:///system?socket={lab.tmp}/libvirt-sock"
        )
        # The listener module has returned (its process ended) ...
        _started(out, "initial record")
        # ... while its unit is inside libvirt, which has not answered and will not.
        assert hang.reached.wait(60), "the unit never reached libvirt"
        assert not hang.released.is_set()
        assert units.running(UNIT)
        assert _record(entry, kvm1.dn)["libvirtStaticIdsState"] == ""
    finally:
        hang.release()
    # Released (the connection drops): the unit records, the inventory saying what failed.
    _ran(units)
    assert _record(entry, kvm1.dn)["libvirtStaticIdsState"] == "dynamic"
    assert b"error" in entry(kvm1.dn)["libvirtStaticIdsInventory"][0]


def test_listener_configuration_filters_own_object_and_settings(testbed, hosts, listener, units):
    (kvm1,) = hosts({"kvm1": None})
    out = listener(kvm1, "initialize")
    assert out["filter"] == (
        "(|(&(objectClass=posixAccount)(uid=kvm1$))(objectClass=libvirtStaticIdsSettings))"
    )
    assert out["attributes"] == [
        "libvirtStaticIdsRequest",
        "libvirtStaticIdsTargetUid",
        "libvirtStaticIdsTargetGid",
    ]
    _ran(units)


def test_target_change_rerecords_and_other_objects_are_ignored(
    testbed, hosts, listener, entry, units
):
    kvm1, kvm2 = hosts({"kvm1": SimulatedHost(uid=64056, gid=64056), "kvm2": None})
    listener(kvm1, "initialize")
    _ran(units)
    assert _record(entry, kvm1.dn)["libvirtStaticIdsState"] == "dynamic"
    testbed.set_target(64056, 64056)
    new = testbed.admin.search_s(testbed.settings_dn, ldap.SCOPE_BASE, attrlist=SETTINGS_ATTRS)
    _started(listener(kvm1, "change", testbed.settings_dn, old={}, new=new[0][1]), "target")
    _ran(units)
    assert _record(entry, kvm1.dn)["libvirtStaticIdsState"] == "static"
    # kvm1's listener sees kvm2's object change: not its business, nothing is started.
    calls = len(units.calls())
    before = _record(entry, kvm2.dn)
    kvm2_entry = entry(kvm2.dn)
    out = listener(
        kvm1,
        "change",
        kvm2.dn,
        old=kvm2_entry,
        new={**kvm2_entry, "libvirtStaticIdsRequest": [b"refresh"]},
    )
    assert out["log"] == []
    assert len(units.calls()) == calls
    assert _record(entry, kvm2.dn) == before


def _request(lab, action, host):
    result = lab.cli("request", action, host, *lab.admin_args, "--json")
    assert result.code == 0, result
    return result.data


def test_a_request_pending_before_the_listener_ran_is_done_at_initialize(lab):
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    # Requested while this host's listener was down (or its earlier unit crashed).
    _request(lab, "refresh", "kvm1")
    _started(lab.listener(kvm1, "initialize"), "any request pending")
    assert "request 'refresh': recorded, 1 write(s), cleared=True" in _ran(lab.units)
    record = lab.entry(kvm1.dn)
    assert "libvirtStaticIdsRequest" not in record
    assert record["libvirtStaticIdsState"] == [b"dynamic"]


def test_refresh_request_end_to_end(lab):
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    lab.listener(kvm1, "initialize")
    _ran(lab.units)
    before = lab.entry(kvm1.dn)
    data = _request(lab, "refresh", "kvm1")
    assert data["hosts"] == [{"host": "kvm1", "dn": kvm1.dn, "status": "requested"}]
    # The host changed locally meanwhile (someone renumbered the group by hand).
    group = Path(kvm1.root, "etc/group")
    group.write_text(group.read_text().replace("libvirt-qemu:x:4114:", "libvirt-qemu:x:4120:"))
    after = lab.entry(kvm1.dn)
    assert after["libvirtStaticIdsRequest"] == [b"refresh"]
    _started(lab.listener(kvm1, "change", kvm1.dn, old=before, new=after), "request 'refresh'")
    assert "request 'refresh': recorded, 1 write(s), cleared=True" in _ran(lab.units)
    record = lab.entry(kvm1.dn)
    assert record["libvirtStaticIdsGid"] == [b"4120"]
    assert "libvirtStaticIdsRequest" not in record
    # The unit's own writes (record, cleared request) are no event for the listener: the
    # request attribute went away, so a replayed modify starts nothing.
    out = lab.listener(kvm1, "change", kvm1.dn, old=after, new=record)
    assert out["log"] == []


def test_convert_request_end_to_end(lab):
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    lab.listener(kvm1, "initialize")
    _ran(lab.units)
    before = lab.entry(kvm1.dn)
    _request(lab, "convert", "kvm1")
    after = lab.entry(kvm1.dn)
    lab.listener(kvm1, "change", kvm1.dn, old=before, new=after)
    assert "request 'convert': launched" in _ran(lab.units)
    argv = next(
        call[1:]
        for call in lab.units.calls()
        if call[:2] == ["systemd-run", "--unit=libvirt-static-ids-convert"]
    )
    assert (
        argv
        == [
            "systemd-run",
            "--unit=libvirt-static-ids-convert",
            "--description=libvirt-static-ids: convert libvirt-qemu to the domain's static IDs",
            "--collect",
            "--no-block",
            "--quiet",
            "--",
            "/usr/bin/libvirt-static-ids",
            "record",
            "--convert",
            "--root",
            kvm1.root,
        ][1:]
    )
    # /usr/bin/libvirt-static-ids is not installed here: that unit could not exec (203).
    assert "203/EXEC /usr/bin/libvirt-static-ids" in lab.units.wait("libvirt-static-ids-convert")
    record = lab.entry(kvm1.dn)
    assert record["libvirtStaticIdsState"] == [b"converting"]
    assert "libvirtStaticIdsRequest" not in record
    # What the unit runs, with the installed command instead of /usr/bin (no options: the
    # host's UCR and machine account, StartTLS to the "Primary").
    unit = argv[argv.index("--") + 2 :]
    result = lab.cli(*unit, "--no-restart", "--json")
    assert result.code == 0, result
    assert result.data["state"] == "static"
    assert result.data["convert"]["status"] == "converted"
    record = lab.entry(kvm1.dn)
    assert record["libvirtStaticIdsUid"] == [b"64055"]
    assert record["libvirtStaticIdsGid"] == [b"64055"]
    assert record["libvirtStaticIdsState"] == [b"static"]
    assert record["modifiersName"][0].decode().lower() == kvm1.dn.lower()


def test_convert_refused_records_failed(lab):
    # 64055 is taken by a local account: preflight refuses, the record says so.
    spec = SimulatedHost(uid=4111, gid=4116, extra_users=(("backup", 64055),))
    (kvm4,) = lab.hosts({"kvm4": spec})
    lab.listener(kvm4, "initialize")
    _ran(lab.units)
    assert lab.entry(kvm4.dn)["libvirtStaticIdsState"] == [b"conflict"]
    before = lab.entry(kvm4.dn)
    _request(lab, "convert", "kvm4")
    lab.listener(kvm4, "change", kvm4.dn, old=before, new=lab.entry(kvm4.dn))
    _ran(lab.units)
    lab.units.wait("libvirt-static-ids-convert")
    unit = next(c for c in lab.units.calls() if c[1] == "--unit=libvirt-static-ids-convert")
    result = lab.cli(*unit[unit.index("--") + 2 :], "--no-restart", "--json")
    assert result.code == 3, result
    record = lab.entry(kvm4.dn)
    detail = json.loads(record["libvirtStaticIdsDetail"][0])
    assert record["libvirtStaticIdsState"] == [b"failed"]
    assert detail["error"]["code"] == "refused"
    assert [b["code"] for b in detail["blockers"]] == ["target-uid-taken"]


def test_unknown_request_is_cleared_and_ignored(testbed, hosts, listener, entry, units):
    (kvm1,) = hosts({"kvm1": None})
    listener(kvm1, "initialize")
    _ran(units)
    before = entry(kvm1.dn)
    testbed.admin.modify_s(
        kvm1.dn, [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"reboot-everything"])]
    )
    listener(kvm1, "change", kvm1.dn, old=before, new=entry(kvm1.dn))
    out = _ran(units)
    assert "request 'reboot-everything': ignored" in out
    assert "unknown request" in out
    assert "libvirtStaticIdsRequest" not in entry(kvm1.dn)


@pytest.mark.parametrize(
    ("state", "logged"),
    [
        ("running", f"INFO initial record, and any request pending: {UNIT} runs already"),
        ("no-systemd", f"ERROR initial record, and any request pending: starting {UNIT} failed"),
    ],
)
def test_a_running_unit_or_a_failing_systemd_is_logged_not_raised(
    hosts, listener, units, state, logged
):
    (kvm1,) = hosts({"kvm1": None})
    if state == "running":
        (units.state / "units" / f"{UNIT}.service").write_text("active")
    else:
        (units.state / "no-systemd").touch()
    out = listener(kvm1, "initialize")  # the harness fails if the module raised
    assert any(line.startswith(logged) for line in out["log"]), out
    assert [call[0] for call in units.calls()] == ["systemd-run"]


def test_the_module_opens_no_ldap_connection():
    """Slow or hanging LDAP is the unit's business too: the module has no connection at all."""
    source = (
        Path(__file__).resolve().parents[2] / "listener" / "libvirt-static-ids.py"
    ).read_text()
    for name in ("getMachineConnection", "uldap", "ldap.initialize", "self.lo.", "self.lo)"):
        assert name not in source


def test_a_request_left_pending_by_a_conversion_is_taken_up_when_it_ends(
    testbed, hosts, listener, entry, units
):
    (kvm1,) = hosts({"kvm1": None})
    listener(kvm1, "initialize")
    _ran(units)
    current = entry(kvm1.dn)
    waiting = {**current, "libvirtStaticIdsRequest": [b"convert"]}
    old = {**waiting, "libvirtStaticIdsState": [b"converting"]}
    # The conversion's own writes while it runs start nothing; its end does.
    out = listener(kvm1, "change", kvm1.dn, old=old, new=old)
    assert [call[0] for call in units.calls()] == ["systemd-run"]  # initialize's alone
    out = listener(
        kvm1, "change", kvm1.dn, old=old, new={**waiting, "libvirtStaticIdsState": [b"static"]}
    )
    _started(out, "request 'convert' after the conversion")
