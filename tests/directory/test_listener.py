# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The listener module, run per simulated host in its own process against the real slapd.

Proves: hosts record themselves through the listener (initialize), as their own machine
accounts; an unchanged host writes nothing (no self-trigger); a target change re-records;
a refresh request records and clears itself; a convert request records "converting",
starts the exact systemd-run unit and clears itself, and the unit's command records the
end state; events for other objects are ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

import ldap

from libvirt_static_ids_testbed.simulated import SimulatedHost

SETTINGS_ATTRS = ["objectClass", "cn", "libvirtStaticIdsTargetUid", "libvirtStaticIdsTargetGid"]


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


def test_hosts_record_themselves_and_do_not_rewrite(testbed, hosts, listener, entry):
    kvm1, kvm2, kvm3 = hosts(
        {
            "kvm1": SimulatedHost(uid=4109, gid=4114),
            "kvm2": SimulatedHost(uid=4110, gid=4115),
            "kvm3": SimulatedHost(uid=64055, gid=64055),
        }
    )
    for host in (kvm1, kvm2, kvm3):
        out = listener(host, "initialize")
        assert any("initial record" in line for line in out["log"]), out
    one, two, three = (_record(entry, h.dn) for h in (kvm1, kvm2, kvm3))
    assert (one["libvirtStaticIdsUid"], one["libvirtStaticIdsGid"]) == ("4109", "4114")
    assert one["libvirtStaticIdsState"] == "dynamic"
    assert (two["libvirtStaticIdsUid"], two["libvirtStaticIdsGid"]) == ("4110", "4115")
    assert three["libvirtStaticIdsState"] == "static"
    # Each host wrote as itself, not as an admin.
    assert one["modifiersName"].lower() == kvm1.dn.lower()
    assert three["modifiersName"].lower() == kvm3.dn.lower()
    # Again: nothing changed, so nothing is written (entryCSN unchanged).
    out = listener(kvm1, "initialize")
    assert any("nothing (unchanged)" in line for line in out["log"]), out
    assert _record(entry, kvm1.dn)["entryCSN"] == one["entryCSN"]


def test_listener_configuration_filters_own_object_and_settings(testbed, hosts, listener):
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


def test_target_change_rerecords_and_other_objects_are_ignored(testbed, hosts, listener, entry):
    kvm1, kvm2 = hosts({"kvm1": SimulatedHost(uid=64056, gid=64056), "kvm2": None})
    listener(kvm1, "initialize")
    assert _record(entry, kvm1.dn)["libvirtStaticIdsState"] == "dynamic"
    testbed.set_target(64056, 64056)
    new = testbed.admin.search_s(testbed.settings_dn, ldap.SCOPE_BASE, attrlist=SETTINGS_ATTRS)
    out = listener(kvm1, "change", testbed.settings_dn, old={}, new=new[0][1])
    assert any("target changed" in line for line in out["log"]), out
    assert _record(entry, kvm1.dn)["libvirtStaticIdsState"] == "static"
    # kvm1's listener sees kvm2's object change: not its business.
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
    assert _record(entry, kvm2.dn) == before


def _request(lab, action, host):
    result = lab.cli("request", action, host, *lab.admin_args, "--json")
    assert result.code == 0, result
    return result.data


def test_refresh_request_end_to_end(lab):
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    lab.listener(kvm1, "initialize")
    before = lab.entry(kvm1.dn)
    data = _request(lab, "refresh", "kvm1")
    assert data["hosts"] == [{"host": "kvm1", "dn": kvm1.dn, "status": "requested"}]
    # The host changed locally meanwhile (someone renumbered the group by hand).
    group = Path(kvm1.root, "etc/group")
    group.write_text(group.read_text().replace("libvirt-qemu:x:4114:", "libvirt-qemu:x:4120:"))
    after = lab.entry(kvm1.dn)
    assert after["libvirtStaticIdsRequest"] == [b"refresh"]
    out = lab.listener(kvm1, "change", kvm1.dn, old=before, new=after)
    assert any(
        "request 'refresh': recorded" in line and "cleared=True" in line for line in out["log"]
    ), out
    record = lab.entry(kvm1.dn)
    assert record["libvirtStaticIdsGid"] == [b"4120"]
    assert "libvirtStaticIdsRequest" not in record
    # The listener's own writes (record, cleared request) are no event for it: the request
    # attribute went away, so a replayed modify finds nothing to do.
    out = lab.listener(kvm1, "change", kvm1.dn, old=after, new=record)
    assert out["log"] == []


def test_convert_request_end_to_end(lab):
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    lab.listener(kvm1, "initialize")
    before = lab.entry(kvm1.dn)
    _request(lab, "convert", "kvm1")
    after = lab.entry(kvm1.dn)
    argv_file = lab.tmp / "unit-argv.json"
    out = lab.listener(kvm1, "change", kvm1.dn, old=before, new=after, fake_launch=argv_file)
    assert any("request 'convert': launched" in line for line in out["log"]), out
    argv = json.loads(argv_file.read_text())
    assert argv == [
        "systemd-run",
        "--unit=libvirt-static-ids-convert",
        "--description=libvirt-static-ids: convert libvirt-qemu to the domain's static IDs",
        "--collect",
        "--no-block",
        "--",
        "/usr/bin/libvirt-static-ids",
        "record",
        "--convert",
        "--root",
        kvm1.root,
    ]
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
    assert lab.entry(kvm4.dn)["libvirtStaticIdsState"] == [b"conflict"]
    before = lab.entry(kvm4.dn)
    _request(lab, "convert", "kvm4")
    argv_file = lab.tmp / "unit-argv.json"
    lab.listener(kvm4, "change", kvm4.dn, old=before, new=lab.entry(kvm4.dn), fake_launch=argv_file)
    unit = json.loads(argv_file.read_text())
    result = lab.cli(*unit[unit.index("--") + 2 :], "--no-restart", "--json")
    assert result.code == 3, result
    record = lab.entry(kvm4.dn)
    detail = json.loads(record["libvirtStaticIdsDetail"][0])
    assert record["libvirtStaticIdsState"] == [b"failed"]
    assert detail["error"]["code"] == "refused"
    assert [b["code"] for b in detail["blockers"]] == ["target-uid-taken"]


def test_unknown_request_is_cleared_and_ignored(testbed, hosts, listener, entry):
    (kvm1,) = hosts({"kvm1": None})
    listener(kvm1, "initialize")
    before = entry(kvm1.dn)
    testbed.admin.modify_s(
        kvm1.dn, [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"reboot-everything"])]
    )
    out = listener(kvm1, "change", kvm1.dn, old=before, new=entry(kvm1.dn))
    assert any("ignored" in line and "unknown request" in line for line in out["log"]), out
    assert "libvirtStaticIdsRequest" not in entry(kvm1.dn)
