# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``plan`` from the directory alone: real slapd (our schema and ACL), hosts recording their
VM inventories from libvirt's test driver, the installed command in its own process.

Proves: a host's machine account records its inventory on its own object (``record
--connect``, or the agent) and may not write another host's; ``plan`` reads records and
inventories with one search and plans the rolling conversion: VMs of dynamic hosts move to
the static host with room, each once, every host converted, the checker proving each step
(--json validated against the shipped schema); a host without an inventory is left out with
the reason (exit 3) until it records one; an LDAP user holding the target blocks the plan,
named by DN (exit 3, no steps); what `survey --domain --json` prints plans offline to the
same steps; the human output shows the figures and steps; bad options are exit 2.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import ldap
import pytest

import cli_support
from libvirt_static_ids.directory import agent, record
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed.simulated import SimulatedHost

from .plan_support import file_disk

pytest.importorskip(
    "libvirt", reason="needs libvirt-python (pip, built against Debian libvirt-dev)"
)
testbed_module = pytest.importorskip(
    "libvirt_static_ids_testbed", reason="needs the test bed installed (make venv)"
)

NUMBERS = {
    "static1": SimulatedHost(uid=64055, gid=64055, kvm_gid=5106),
    "kvm1": SimulatedHost(uid=5109, gid=5114, kvm_gid=5106),
    "kvm2": SimulatedHost(uid=5110, gid=5115, kvm_gid=5107),
    "kvm3": SimulatedHost(uid=5111, gid=5116, kvm_gid=5108),
}


@pytest.fixture
def shared(tmp_path: Path):
    path = Path(tempfile.mkdtemp(prefix="plan-images-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _image(directory: Path, name: str, numbers: SimulatedHost) -> Path:
    path = directory / f"{name}.qcow2"
    path.write_bytes(b"disk")
    os.chown(path, numbers.uid, numbers.gid)
    path.chmod(0o600)
    return path


def _record_as_host(testbed, host, uri: str | None) -> None:
    """The agent's record, bound as the host's own machine account."""
    conn = testbed.connect(host.dn, host.password)
    try:
        settings = directory.read_settings(conn, testbed.base)
        agent.record_host(conn, host.dn, HostRoot(host.root), settings, inventory_uri=uri)
    finally:
        conn.unbind_s()


def _set_free(testbed, dn: str, free_mib: int) -> None:
    """The test driver reports no free memory; give the host some, as its record would."""
    entry = testbed.admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", [record.INVENTORY])
    taken = json.loads(entry[0][1][record.INVENTORY][0])
    taken["free_mib"] = free_mib
    value = json.dumps(taken, sort_keys=True, separators=(",", ":")).encode()
    testbed.admin.modify_s(dn, [(ldap.MOD_REPLACE, record.INVENTORY, [value])])


@pytest.fixture
def domain(testbed, tmp_path: Path, shared: Path, node):
    hosts = {
        h.name: h for h in testbed_module.build_domain(testbed, str(tmp_path / "hosts"), NUMBERS)
    }
    uris = {
        "static1": node(
            "static1",
            [("app", 1024, [file_disk(_image(shared, "app", NUMBERS["static1"]), "vda")])],
        ),
        "kvm1": node(
            "kvm1",
            [
                ("web", 2048, [file_disk(_image(shared, "web", NUMBERS["kvm1"]), "vda")]),
                ("db", 4096, [file_disk(_image(shared, "db", NUMBERS["kvm1"]), "vda")]),
            ],
        ),
        "kvm2": node(
            "kvm2", [("mail", 1024, [file_disk(_image(shared, "mail", NUMBERS["kvm2"]), "vda")])]
        ),
        "kvm3": node("kvm3", []),
    }
    # static1 records through the command itself, with its own UCR and machine account.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LDAP", "UNIVENTION"))}
    env.update(LDAPCONF=os.devnull, LDAPRC=os.devnull, LDAPTLS_CACERT=testbed.ca_file)
    done = cli_support.run(
        "record",
        "--connect",
        uris["static1"],
        root=hosts["static1"].root,
        json=True,
        schema="directory-output.schema.json",
        env=env,
    )
    assert done.code == 0, done.err + done.out
    assert record.INVENTORY in done.data["written"]
    for name in ("kvm1", "kvm2"):
        _record_as_host(testbed, hosts[name], uris[name])
    _record_as_host(testbed, hosts["kvm3"], None)  # numbers only: no inventory yet
    _set_free(testbed, hosts["static1"].dn, 10240)  # 8 GiB beyond the default reserve
    return {"hosts": hosts, "uris": uris}


def test_a_host_writes_its_own_inventory_only(testbed, domain):
    kvm1, kvm2 = domain["hosts"]["kvm1"], domain["hosts"]["kvm2"]
    conn = testbed.connect(kvm1.dn, kvm1.password)
    try:
        with pytest.raises(ldap.INSUFFICIENT_ACCESS):
            conn.modify_s(kvm2.dn, [(ldap.MOD_REPLACE, record.INVENTORY, [b"{}"])])
    finally:
        conn.unbind_s()


def test_plan_from_the_directory(testbed, domain, plan_cli):
    result = plan_cli("--json", "--mode", "chmod")
    assert result.code == 3, result  # kvm3 recorded no inventory
    data = result.data
    assert data["status"] == "incomplete"
    assert data["unplanned"] == [
        {
            "host": "kvm3",
            "reason": "no VM inventory recorded: run `libvirt-static-ids record` there "
            "(needs libvirt)",
        }
    ]
    assert data["check"]["ok"], data["check"]
    moves = [(s["name"], s["host"], s["to"]) for s in data["steps"] if s["op"] == "migrate"]
    assert sorted(moves) == [
        ("db", "kvm1", "static1"),
        ("mail", "kvm2", "static1"),
        ("web", "kvm1", "static1"),
    ]
    assert [s["host"] for s in data["steps"] if s["op"] == "convert"] == ["kvm1", "kvm2"]
    assert {s["mode"] for s in data["steps"] if s["op"] == "bridge"} == {"chmod"}
    assert data["stats"]["migrations"] == data["stats"]["lower_bound"] == 3
    hosts = {h["name"]: h for h in data["hosts"]}
    assert hosts["static1"]["static"] and hosts["static1"]["free_mib"] == 10240
    assert (hosts["kvm1"]["uid"], hosts["kvm1"]["gid"], hosts["kvm1"]["running"]) == (5109, 5114, 2)

    # kvm3 records its (empty) inventory: now every host is planned, kvm3 converted first.
    _record_as_host(testbed, domain["hosts"]["kvm3"], domain["uris"]["kvm3"])
    complete = plan_cli("--json")  # the default bridge mode: evacuate's, acl
    assert complete.code == 0, complete
    assert complete.data["status"] == "complete"
    assert complete.data["options"]["bridge_mode"] == "acl"
    converts = [s["host"] for s in complete.data["steps"] if s["op"] == "convert"]
    assert converts[0] == "kvm3"
    bridge = next(s for s in complete.data["steps"] if s["op"] == "bridge")
    assert {(g["uid"], g["gid"]) for g in bridge["grants"]} == {(64055, 64055), (5109, 5114)}

    human = plan_cli("--mode", "chmod")
    assert human.code == 0
    assert "plan to 64055:64055: a plan for every KVM host, no VM stops" in human.out
    assert "3 migrations, lower bound 3 (+0: 0 second moves, 0 suspended" in human.out
    assert "on kvm1: live-migrate db to static1" in human.out


def test_survey_json_plans_offline_as_the_directory_does(testbed, domain, plan_cli, tmp_path):
    """What ``survey --domain --json`` prints from the real directory carries every host's
    inventory; ``plan --from`` that file makes the same plan as ``plan`` from LDAP."""
    _record_as_host(testbed, domain["hosts"]["kvm3"], domain["uris"]["kvm3"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LDAP", "UNIVENTION"))}
    env.update(LDAPCONF=os.devnull, LDAPRC=os.devnull, LDAPTLS_CACERT=testbed.ca_file)
    root = tmp_path / "admin-root"
    survey = cli_support.run(
        "survey",
        "--domain",
        *testbed.admin_options(str(tmp_path)),
        root=root,
        json=True,
        schema="domain-survey.schema.json",
        env=env,
    )
    assert survey.code == 0, survey
    inventories = {h["name"]: h["inventory"] for h in survey.data["hosts"]}
    assert [vm["name"] for vm in inventories["kvm1"]["vms"]] == ["db", "web"]
    saved = tmp_path / "domain.json"
    saved.write_text(survey.out)
    online = plan_cli("--json")
    offline = plan_cli("--json", "--from", str(saved), connect=False)
    assert online.code == offline.code == 0, (online, offline)
    assert offline.data["steps"] == online.data["steps"]
    assert offline.data["schedule"]["makespan_s"] == online.data["schedule"]["makespan_s"]


def test_an_ldap_user_holding_the_target_blocks_the_plan(testbed, domain, plan_cli):
    """The issue: a user with uidNumber 64055, listed by `survey --domain`, and `plan` still
    printed a complete plan whose every convert would be refused."""
    _record_as_host(testbed, domain["hosts"]["kvm3"], domain["uris"]["kvm3"])
    mallory = testbed.add_user("mallory", 64055)
    result = plan_cli("--json")
    assert result.code == 3, result
    assert result.data["status"] == "blocked"
    assert result.data["holders"] == [mallory.dn]
    assert result.data["steps"] == []
    human = plan_cli()
    assert f"target held by {mallory.dn}" in human.out
    assert "BLOCKED" in human.out


def test_bad_options_are_exit_2(plan_cli):
    result = plan_cli("--json", "--reserve-mib", "lots")
    assert result.code == 2
    assert "--reserve-mib 'lots'" in result.data["error"]["message"]
    result = plan_cli("--json", connect=False)
    assert result.code == 2
    assert "no LDAP server" in result.data["error"]["message"]
