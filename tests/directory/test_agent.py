# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The record's state follows the journal: a live convert run is "converting", a failed or
interrupted one "failed" until resolved; a launch that fails is recorded as failed, but a
convert request finding a conversion under way (or its unit running) is busy: left pending,
the record untouched, and carried out once the conversion ended.
"""

from __future__ import annotations

import json
from pathlib import Path

import ldap
import pytest

from libvirt_static_ids.directory import agent
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory.record import State
from libvirt_static_ids.errors import OperationFailed, UnitRunning
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import DEFAULT_TARGET
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Store
from libvirt_static_ids_testbed.simulated import SimulatedHost


@pytest.fixture
def root(make_root):
    return HostRoot(str(make_root(SimulatedHost(uid=4109, gid=4114))))


def _derive(root):
    return agent.derive(host_survey.survey(root, DEFAULT_TARGET), root)


def test_state_follows_the_journal(root):
    assert _derive(root).state == State.DYNAMIC
    assert "run" not in _derive(root).detail
    store = Store(root)
    with store.locked(), store.run(RunKind.CONVERT, {"to_uid": 64055}) as journal:
        # Another reader (the listener, the daily timer) sees a live run.
        live = _derive(root)
        assert live.state == State.CONVERTING
        assert live.detail["run"] == {"run_id": journal.run_id, "state": "running"}
    # The holder died without finishing: interrupted, so failed until resumed or rolled back.
    assert _derive(root).state == State.FAILED
    with store.locked():
        journal.set_state(RunState.FAILED)
    failed = _derive(root)
    assert failed.state == State.FAILED
    assert failed.detail["run"]["state"] == "failed"
    with store.locked():
        journal.set_state(RunState.ROLLED_BACK)
    assert _derive(root).state == State.DYNAMIC


def test_failed_launch_is_recorded(testbed, hosts):
    (kvm1,) = hosts({"kvm1": None})
    conn = testbed.connect(kvm1.dn, kvm1.password)
    settings = directory.read_settings(conn, testbed.base)
    testbed.admin.modify_s(
        kvm1.dn,
        [
            (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
            (ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"convert"]),
        ],
    )

    def no_systemd(unit):
        raise OperationFailed("systemd-run failed with exit 1: Unit already exists")

    outcome = agent.handle_request(
        conn, kvm1.dn, HostRoot(kvm1.root), settings, "convert", launch=no_systemd
    )
    assert outcome.action == "launch-failed" and outcome.cleared
    assert outcome.messages == ["systemd-run failed with exit 1: Unit already exists"]
    stored = testbed.admin.search_s(kvm1.dn, ldap.SCOPE_BASE)[0][1]
    assert stored["libvirtStaticIdsState"] == [b"failed"]
    assert b"Unit already exists" in stored["libvirtStaticIdsDetail"][0]
    assert "libvirtStaticIdsRequest" not in stored


def test_a_directory_holder_blocks_every_host(lab):
    (kvm2,) = lab.hosts({"kvm2": SimulatedHost(uid=4109, gid=4114)})
    alice = lab.testbed.add_user("alice", 64055)
    lab.testbed.add_user("bob", 3000, gid_number=64055)  # a primary GID takes no GID
    lab.testbed.add_group("kvm-legacy", 64055)
    result = lab.cli("record", "--root", kvm2.root, "--json")
    assert result.code == 0, result
    assert result.data["state"] == "conflict"
    messages = {b["code"]: b["message"] for b in result.data["blockers"]}
    assert set(messages) == {"target-uid-taken", "target-gid-taken"}
    assert alice.dn in messages["target-uid-taken"]
    assert "cn=kvm-legacy" in messages["target-gid-taken"]
    converted = lab.cli("record", "--convert", "--no-restart", "--root", kvm2.root, "--json")
    assert converted.code == 3, converted
    assert converted.data["state"] == "failed"
    assert converted.data["convert"] is None
    passwd = (Path(kvm2.root) / "etc/passwd").read_text()
    assert "libvirt-qemu:x:4109:" in passwd  # nothing changed


def _convert_requested(testbed, kvm1):
    testbed.admin.modify_s(
        kvm1.dn,
        [
            (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
            (ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"convert"]),
        ],
    )


def test_a_second_convert_while_one_runs_waits_for_it(testbed, hosts):
    """Busy, not failed: the request stays pending, untried, and is carried out after."""
    (kvm1,) = hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    conn = testbed.connect(kvm1.dn, kvm1.password)
    root = HostRoot(kvm1.root)
    _convert_requested(testbed, kvm1)
    started = []
    store = Store(root)
    with store.locked(), store.run(RunKind.CONVERT, {"to_uid": 64055}) as journal:
        settings = directory.read_settings(conn, testbed.base)
        agent.record_host(conn, kvm1.dn, root, settings)  # what the running unit recorded
        before = testbed.admin.search_s(kvm1.dn, ldap.SCOPE_BASE, attrlist=["*", "entryCSN"])
        outcomes, _ = agent.handle_pending(conn, kvm1.dn, root, testbed.base, launch=started.append)
        assert [(o.action, o.cleared) for o in outcomes] == [("busy", False)]
        after = testbed.admin.search_s(kvm1.dn, ldap.SCOPE_BASE, attrlist=["*", "entryCSN"])
        assert after == before  # untouched: the running unit owns the record
        assert after[0][1]["libvirtStaticIdsState"] == [b"converting"]
        assert after[0][1]["libvirtStaticIdsRequest"] == [b"convert"]
        assert started == []
        journal.set_state(RunState.COMPLETE)
    outcomes, _ = agent.handle_pending(conn, kvm1.dn, root, testbed.base, launch=started.append)
    assert [(o.action, o.cleared) for o in outcomes] == [("launched", True)]
    assert [unit.name for unit in started] == ["libvirt-static-ids-convert"]


def test_a_convert_unit_started_meanwhile_leaves_the_request_pending(testbed, hosts):
    (kvm1,) = hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    conn = testbed.connect(kvm1.dn, kvm1.password)
    _convert_requested(testbed, kvm1)

    def running(unit):
        raise UnitRunning(f"{unit.name}.service is already running", unit=unit.name)

    outcomes, _ = agent.handle_pending(
        conn, kvm1.dn, HostRoot(kvm1.root), testbed.base, launch=running
    )
    assert [(o.action, o.cleared) for o in outcomes] == [("busy", False)]
    stored = testbed.admin.search_s(kvm1.dn, ldap.SCOPE_BASE)[0][1]
    assert stored["libvirtStaticIdsRequest"] == [b"convert"]
    assert stored["libvirtStaticIdsState"] != [b"failed"]


@pytest.mark.parametrize("unit_state", [None, "active"])
def test_a_running_echo_whose_unit_is_gone_becomes_failed(
    testbed, hosts, units, monkeypatch, unit_state
):
    """A host restarted (or its unit killed -9) mid-evacuation: the record still echoes
    "running", and a rollout waiting for it would wait its whole time limit. The next record
    says failed, naming the unit; while the unit runs, the echo stays."""
    (kvm1,) = hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    conn = testbed.connect(kvm1.dn, kvm1.password)
    root = HostRoot(kvm1.root)
    for key, value in units.env().items():
        monkeypatch.setenv(key, value)
    unit = "libvirt-static-ids-evacuate"
    if unit_state:
        (units.state / "units").mkdir(exist_ok=True)
        (units.state / "units" / f"{unit}.service").write_text(unit_state)
    settings = directory.read_settings(conn, testbed.base)
    running = {"kind": "evacuate", "state": "running", "id": "r1.4"}
    agent.record_host(conn, kvm1.dn, root, settings, outcome=running)
    agent.handle_pending(conn, kvm1.dn, root, testbed.base)
    detail = testbed.admin.search_s(kvm1.dn, ldap.SCOPE_BASE)[0][1]["libvirtStaticIdsDetail"]
    echo = json.loads(detail[0])["request"]
    if unit_state:
        assert echo == running
    else:
        assert (echo["id"], echo["state"]) == ("r1.4", "failed")
        assert f"{unit} ended without recording an outcome" in echo["message"]
