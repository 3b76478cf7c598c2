# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``survey --domain``: every host's record, ID classes, holders of the target, stale/missing.

Proves, with the real CLI against the real slapd: hosts are listed with numbers, state,
last check and blockers; hosts with identical numbers form one class which migrates only
within itself; LDAP objects holding the target UID or GID are found whatever their kind;
records older than 7 days are stale, host objects without a record are missing; bad LDAP
data (garbage detail, unknown state, absurd numbers, names full of filter metacharacters)
is reported, not fatal; --json validates against the shipped schema; a host's machine
account, with nothing but its UCR, can run it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import ldap
import pytest

from libvirt_static_ids.directory import agent, record
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed.simulated import SimulatedHost


def _record_all(testbed, sim_hosts):
    for host in sim_hosts:
        conn = testbed.connect(host.dn, host.password)
        settings = directory.read_settings(conn, testbed.base)
        agent.record_host(conn, host.dn, HostRoot(host.root), settings)
        conn.unbind_s()


@pytest.fixture
def domain(testbed, hosts):
    made = hosts(
        {
            "kvm1": SimulatedHost(uid=64055, gid=64055),
            "kvm2": SimulatedHost(uid=4109, gid=4114),
            "kvm3": SimulatedHost(uid=4109, gid=4114),
            "kvm4": SimulatedHost(uid=4110, gid=4115),
            "kvm5": SimulatedHost(uid=4111, gid=4116, extra_users=(("backup", 64055),)),
            "kvm6": SimulatedHost(uid=4112, gid=4117),
        }
    )
    _record_all(testbed, made)
    # kvm6 stopped reporting ten days ago.
    old = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y%m%d%H%M%SZ")
    testbed.admin.modify_s(made[5].dn, [(ldap.MOD_REPLACE, record.CHECKED, [old.encode()])])
    # kvm7 has the app (the class) but never recorded.
    kvm7, _ = testbed.add_host("kvm7")
    testbed.admin.modify_s(kvm7, [(ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"])])
    alice = testbed.add_user("alice", 64055)
    group = testbed.add_group("legacy-kvm", 64055)
    return {"hosts": made, "alice": alice.dn, "group": group}


def test_domain_survey_json(testbed, domain, dircli, admin_args):
    result = dircli("survey", "--domain", *admin_args, "--json")
    assert result.code == 0, result
    data = result.data
    by_name = {h["name"]: h for h in data["hosts"]}
    assert sorted(by_name) == [f"kvm{n}" for n in range(1, 8)]
    assert by_name["kvm1"]["state"] == "static"
    assert (by_name["kvm2"]["uid"], by_name["kvm2"]["gid"]) == (4109, 4114)
    assert by_name["kvm5"]["state"] == "conflict"
    assert [b["code"] for b in by_name["kvm5"]["blockers"]] == ["target-uid-taken"]
    assert by_name["kvm2"]["checked"].endswith("Z")
    classes = {c["id"]: c for c in data["classes"]}
    assert data["classes"][0]["id"] == "64055:64055"
    assert classes["64055:64055"]["static"] is True
    assert classes["4109:4114"]["hosts"] == ["kvm2", "kvm3"]
    assert classes["4109:4114"]["migrates_to"] == ["4109:4114"]
    assert classes["4110:4115"]["migrates_to"] == []  # alone: nowhere to migrate to
    assert "4111:4116" in classes and "4112:4117" in classes
    holders = {h["dn"]: h for h in data["holders"]}
    assert holders[domain["alice"]]["kind"] == "user"
    assert holders[domain["alice"]]["holds"] == ["uid"]
    assert holders[domain["group"]]["kind"] == "group"
    assert holders[domain["group"]]["holds"] == ["gid"]
    assert data["stale"] == ["kvm6"]
    assert data["missing"] == ["kvm7"]
    assert by_name["kvm7"]["state"] is None and by_name["kvm7"]["class"] is None
    assert data["settings"] == {
        "dn": testbed.settings_dn,
        "exists": False,
        "target": {"uid": 64055, "gid": 64055},
        "problems": [],
    }
    summary = data["summary"]
    assert summary["converged"] is False
    assert summary["states"] == {"conflict": 1, "dynamic": 4, "static": 1, "unknown": 1}


def test_domain_survey_human(testbed, domain, dircli, admin_args):
    result = dircli("survey", "--domain", *admin_args)
    assert result.code == 0, result
    out = result.out
    assert "target 64055:64055 (default;" in out
    assert "KVM hosts (7):" in out
    assert f"{'4109:4114':<13} {'dynamic':<15} 2 host(s): kvm2, kvm3" in out
    assert f"{domain['alice']} (user): uidNumber 64055" in out
    assert f"{domain['group']} (group): gidNumber 64055" in out
    assert "kvm6: last check 10 days ago" in out
    assert "kvm7: no record yet" in out
    assert "Domain not converged" in out


def test_a_host_surveys_with_nothing_but_its_ucr(testbed, domain, dircli):
    kvm2 = domain["hosts"][1]
    result = dircli("survey", "--domain", "--root", kvm2.root, "--json")
    assert result.code == 0, result
    assert len(result.data["hosts"]) == 7


def test_converged_domain_and_settings(testbed, hosts, dircli, admin_args):
    made = hosts(
        {"kvm1": SimulatedHost(uid=64056, gid=64056), "kvm2": SimulatedHost(uid=64056, gid=64056)}
    )
    testbed.set_target(64056, 64056)
    _record_all(testbed, made)
    data = dircli("survey", "--domain", *admin_args, "--json").data
    assert data["settings"]["exists"] is True
    assert data["settings"]["target"] == {"uid": 64056, "gid": 64056}
    assert [c["id"] for c in data["classes"]] == ["64056:64056"]
    assert data["summary"]["converged"] is True
    # An unusable target in LDAP falls back to 64055 and says why.
    testbed.admin.modify_s(
        testbed.settings_dn, [(ldap.MOD_REPLACE, "libvirtStaticIdsTargetUid", [b"0"])]
    )
    data = dircli("survey", "--domain", *admin_args, "--json").data
    assert data["settings"]["target"] == {"uid": 64055, "gid": 64056}
    assert "root's ID" in data["settings"]["problems"][0]


WEIRD = "we(ird)*\\x"


def test_bad_ldap_data_is_reported_not_fatal(testbed, hosts, dircli, admin_args):
    (kvm1,) = hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    _record_all(testbed, [kvm1])
    weird_dn, _ = testbed.add_host(WEIRD)
    testbed.admin.modify_s(
        weird_dn,
        [
            (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
            (ldap.MOD_REPLACE, record.STATE, [b"exploded"]),
            (ldap.MOD_REPLACE, record.UID, [b"-5"]),
            (ldap.MOD_REPLACE, record.DETAIL, [b"{\x01garbage"]),
            (ldap.MOD_REPLACE, record.CHECKED, [b"20261101000000Z"]),
        ],
    )
    shell, _ = testbed.add_host("shell")  # only a state, nothing else
    testbed.admin.modify_s(
        shell,
        [
            (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
            (ldap.MOD_REPLACE, record.STATE, [b"static"]),
        ],
    )
    result = dircli("survey", "--domain", *admin_args, "--json")
    assert result.code == 0, result
    by_name = {h["name"]: h for h in result.data["hosts"]}
    weird = by_name[WEIRD]
    assert weird["state"] is None and weird["uid"] is None
    assert len(weird["problems"]) == 3
    assert by_name["shell"]["missing"] is True  # a state but never checked
    human = dircli("survey", "--domain", *admin_args)
    assert human.code == 0
    assert "we(ird)*\\x" in human.out and "\x01" not in human.out
    # The name's metacharacters are escaped in the lookup: exactly that host is found.
    requested = dircli("request", "refresh", WEIRD, *admin_args, "--json")
    assert requested.code == 0, requested
    (found,) = requested.data["hosts"]
    assert directory.same_dn(found["dn"], weird_dn)
    star = dircli("request", "refresh", "kvm*", *admin_args, "--json")
    assert star.code == 2
    assert "'kvm*'" in star.data["error"]["message"]


def test_empty_domain(testbed, dircli, admin_args):
    data = dircli("survey", "--domain", *admin_args, "--json").data
    assert data["hosts"] == [] and data["classes"] == [] and data["holders"] == []
    assert data["summary"]["converged"] is True
    assert "No KVM host has recorded itself yet." in dircli("survey", "--domain", *admin_args).out


def test_survey_env_is_clean():
    # The tests' children must not see a UCR of the machine running them.
    assert "UNIVENTION_BASECONF" not in os.environ


def test_a_failed_host_keeps_its_class(testbed, domain, dircli, admin_args):
    """A refused conversion leaves the host on its numbers: it still migrates only there."""
    kvm5 = domain["hosts"][4]
    conn = testbed.connect(kvm5.dn, kvm5.password)
    settings = directory.read_settings(conn, testbed.base)
    agent.convert_and_record(conn, kvm5.dn, HostRoot(kvm5.root), settings, restart=False)
    conn.unbind_s()
    data = dircli("survey", "--domain", *admin_args, "--json").data
    by_name = {h["name"]: h for h in data["hosts"]}
    assert by_name["kvm5"]["state"] == "failed"
    assert by_name["kvm5"]["class"] == "4111:4116"
    assert {c["id"]: c["hosts"] for c in data["classes"]}["4111:4116"] == ["kvm5"]
