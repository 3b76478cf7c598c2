# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``record --pending``: what the listener's unit runs, against the real slapd.

Proves: a request that arrives while the unit carries out another is carried out by the same
unit before it ends (it reads the object again until none is left), also one set while the
unit writes its record; with nothing pending it only records; --pending and --convert
exclude each other (exit 2, nothing written).
"""

from __future__ import annotations

import ldap

from libvirt_static_ids.directory import agent
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed.simulated import SimulatedHost


def test_a_request_arriving_meanwhile_is_done_by_the_same_unit(lab, mocker):
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    lab.testbed.set_target(64055, 64055)
    lab.testbed.admin.modify_s(
        kvm1.dn,
        [
            (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
            (ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"refresh"]),
        ],
    )
    real = agent.handle_request
    seen = []

    def then_another_arrives(*args, **kwargs):
        outcome = real(*args, **kwargs)
        seen.append(outcome.request)
        if len(seen) == 1:  # an admin asks again while this one is being carried out
            lab.testbed.admin.modify_s(
                kvm1.dn, [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"bogus"])]
            )
        return outcome

    mocker.patch.object(agent, "handle_request", side_effect=then_another_arrives)
    conn = lab.testbed.connect(kvm1.dn, kvm1.password)
    outcomes, result = agent.handle_pending(conn, kvm1.dn, HostRoot(kvm1.root), lab.testbed.base)
    assert [o.request for o in outcomes] == ["refresh", "bogus"]
    assert [str(o.action) for o in outcomes] == ["recorded", "ignored"]
    assert "libvirtStaticIdsRequest" not in lab.entry(kvm1.dn)
    assert result.record.state == "dynamic"
    # Nothing pending: it only records (and writes nothing when nothing changed).
    outcomes, again = agent.handle_pending(conn, kvm1.dn, HostRoot(kvm1.root), lab.testbed.base)
    assert outcomes == [] and again.change.empty


def test_a_request_set_while_the_unit_records_is_carried_out_too(lab, mocker):
    """The listener cannot start a second unit while this one writes its record: this unit
    must look once more after recording, or the request waits for the daily timer."""
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    lab.testbed.set_target(64055, 64055)
    lab.testbed.admin.modify_s(kvm1.dn, [(ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"])])
    real = agent.record_host

    def a_request_arrives_meanwhile(*args, **kwargs):
        result = real(*args, **kwargs)
        if real_calls.call_count == 1:
            lab.testbed.admin.modify_s(
                kvm1.dn, [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"refresh"])]
            )
        return result

    real_calls = mocker.patch.object(agent, "record_host", side_effect=a_request_arrives_meanwhile)
    conn = lab.testbed.connect(kvm1.dn, kvm1.password)
    outcomes, result = agent.handle_pending(conn, kvm1.dn, HostRoot(kvm1.root), lab.testbed.base)
    assert [o.request for o in outcomes] == ["refresh"]
    assert "libvirtStaticIdsRequest" not in lab.entry(kvm1.dn)
    assert result.record.state == "dynamic"


def test_pending_and_convert_exclude_each_other(lab):
    (kvm1,) = lab.hosts({"kvm1": None})
    before = lab.entry(kvm1.dn)
    result = lab.cli("record", "--root", kvm1.root, "--pending", "--convert", "--json")
    assert result.code == 2, result
    assert "--pending excludes --convert and --request" in result.data["error"]["message"]
    assert lab.entry(kvm1.dn)["entryCSN"] == before["entryCSN"]
