# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``settings show`` and ``settings set``, against the real slapd (the CLI as a subprocess, the
core in-process where a fault is injected at an exact point).

Proves: show names the target and whether UDM's allocator locks reserve its numbers; set
locks the new pair permanently before the target moves, moves it, removes the old pair's
locks and asks every host to record again; a holder of a new number in the directory, a
number UDM is handing out right now, or a host converting refuses with exit 3 and changes
nothing; an object created while the locks are taken is found under the lock, and the new
locks are taken back; a target changed meanwhile by someone else is never overwritten; bad
input is exit 2 naming the value; a dry run changes nothing; setting the current pair again
only makes sure its locks are there.
"""

from __future__ import annotations

import ldap
import pytest

from libvirt_static_ids.directory import settings
from libvirt_static_ids.errors import PreflightRefused
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids_testbed.simulated import SimulatedHost


def _lock(testbed, kind, number):
    dn = f"cn={number},cn={kind},cn=temporary,cn=univention,{testbed.base}"
    found = testbed.admin.search_s(dn, ldap.SCOPE_BASE) if _exists(testbed, dn) else []
    return found[0][1]["lockTime"][0].decode() if found else None


def _exists(testbed, dn):
    try:
        testbed.admin.search_s(dn, ldap.SCOPE_BASE, attrlist=["1.1"])
    except ldap.NO_SUCH_OBJECT:
        return False
    return True


def _state(testbed):
    """Target, the locks of 64055 and 64060, and the hosts' requests: all set can change."""
    target = testbed.admin.search_s(testbed.settings_dn, ldap.SCOPE_BASE)[0][1]
    hosts = testbed.admin.search_s(
        testbed.base, ldap.SCOPE_SUBTREE, "(uid=*$)", ["libvirtStaticIdsRequest"]
    )
    return (
        target["libvirtStaticIdsTargetUid"],
        target["libvirtStaticIdsTargetGid"],
        {
            (kind, n): _lock(testbed, kind, n)
            for kind in ("uidNumber", "gidNumber")
            for n in (64055, 64060)
        },
        sorted((dn, str(entry)) for dn, entry in hosts),
    )


@pytest.fixture
def joined(lab):
    """The state the join script leaves: the default target, locked permanently; two hosts."""
    lab.testbed.set_target(64055, 64055)
    lab.testbed.lock_number("uidNumber", 64055)
    lab.testbed.lock_number("gidNumber", 64055)
    hosts = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114), "kvm2": None})
    for host in hosts:  # they have recorded themselves once (the record's class is there)
        lab.testbed.admin.modify_s(
            host.dn, [(ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"])]
        )
    return lab, hosts


def test_show_names_the_target_and_its_locks(lab):
    lab.testbed.set_target(64055, 64055)
    lab.testbed.lock_number("uidNumber", 64055)
    shown = lab.cli("settings", "show", *lab.admin_args, "--json")
    assert shown.code == 0, shown
    assert shown.data["target"] == {"uid": 64055, "gid": 64055} and shown.data["exists"]
    assert [(lock["kind"], lock["state"]) for lock in shown.data["locks"]] == [
        ("uidNumber", "permanent"),
        ("gidNumber", "absent"),
    ]
    human = lab.cli("settings", "show", *lab.admin_args)
    assert "target 64055:64055" in human.out
    assert "uidNumber 64055: locked permanently" in human.out
    assert "gidNumber 64055: NOT locked" in human.out


def test_set_moves_target_and_locks_and_every_host_records_again(joined):
    lab, (kvm1, kvm2) = joined
    moved = lab.cli(
        "settings", "set", "--uid", "64060", "--gid", "64060", *lab.admin_args, "--json"
    )
    assert moved.code == 0, moved
    assert moved.data["old"] == {"uid": 64055, "gid": 64055}
    assert moved.data["new"] == {"uid": 64060, "gid": 64060} and moved.data["changed"]
    target, _, locks, _ = _state(lab.testbed)
    assert target == [b"64060"]
    assert locks == {
        ("uidNumber", 64055): None,
        ("uidNumber", 64060): "0",
        ("gidNumber", 64055): None,
        ("gidNumber", 64060): "0",
    }
    assert len(moved.data["locked"]) == 2 and len(moved.data["unlocked"]) == 2
    assert {(h["host"], h["status"]) for h in moved.data["hosts"]} == {
        ("kvm1", "requested"),
        ("kvm2", "requested"),
    }
    for host in (kvm1, kvm2):
        assert lab.entry(host.dn)["libvirtStaticIdsRequest"] == [b"refresh"]
    # What the hosts' listeners then do: record against the new pair.
    for host in (kvm1, kvm2):
        lab.listener(host, "initialize")
        out = lab.units.wait("libvirt-static-ids-listener")
        assert "request 'refresh': recorded" in out, out
    assert "target 64060:64060" in lab.cli("settings", "show", *lab.admin_args).out


def test_a_holder_in_the_directory_refuses_and_changes_nothing(joined):
    lab, _ = joined
    lab.testbed.add_user("squatter", 64060)
    before = _state(lab.testbed)
    refused = lab.cli(
        "settings", "set", "--uid", "64060", "--gid", "64060", *lab.admin_args, "--json"
    )
    assert refused.code == 3, refused
    error = refused.data["error"]
    assert error["code"] == "refused"
    assert [b["code"] for b in error["blockers"]] == ["target-uid-taken"]
    assert "uid=squatter" in error["blockers"][0]["message"]
    assert _state(lab.testbed) == before


def test_a_number_being_allocated_or_a_converting_host_refuses(joined):
    lab, (kvm1, _) = joined
    lab.testbed.lock_number("gidNumber", 64060, lock_time=4102444800)  # a UDM create, in 2100
    lab.testbed.admin.modify_s(
        kvm1.dn, [(ldap.MOD_REPLACE, "libvirtStaticIdsState", [b"converting"])]
    )
    before = _state(lab.testbed)
    refused = lab.cli(
        "settings", "set", "--uid", "64060", "--gid", "64060", *lab.admin_args, "--json"
    )
    assert refused.code == 3, refused
    codes = [b["code"] for b in refused.data["error"]["blockers"]]
    assert codes == ["number-being-allocated", "host-converting"]
    assert _state(lab.testbed) == before


def test_an_object_created_while_locking_is_found_and_the_locks_taken_back(joined, mocker):
    """Fault injection at the one point no real component can be made to hit on cue."""
    lab, _ = joined
    conn = lab.testbed.connect(lab.testbed.domain_admin.dn, lab.testbed.domain_admin.password)
    real_add = settings._add_lock
    created = []

    def add_then_race(connection, lock):
        done = real_add(connection, lock)
        if not created:  # someone creates a group with the new GID right now
            created.append(lab.testbed.add_group("late", 64060))
        return done

    mocker.patch.object(settings, "_add_lock", side_effect=add_then_race)
    with pytest.raises(PreflightRefused) as caught:
        settings.change_target(conn, lab.testbed.base, IdPair(64060, 64060))
    assert [b["code"] for b in caught.value.details["blockers"]] == ["target-gid-taken"]
    target, _, locks, _ = _state(lab.testbed)
    assert target == [b"64055"]
    assert locks[("uidNumber", 64060)] is None and locks[("gidNumber", 64060)] is None
    assert locks[("uidNumber", 64055)] == "0" and locks[("gidNumber", 64055)] == "0"


def test_a_target_changed_meanwhile_is_not_overwritten(joined, mocker):
    lab, _ = joined
    conn = lab.testbed.connect(lab.testbed.domain_admin.dn, lab.testbed.domain_admin.password)
    real_swap = settings._swap_target

    def someone_else_first(connection, current, old, new):
        lab.testbed.set_target(64070, 64070)
        return real_swap(connection, current, old, new)

    mocker.patch.object(settings, "_swap_target", side_effect=someone_else_first)
    with pytest.raises(PreflightRefused, match="changed meanwhile"):
        settings.change_target(conn, lab.testbed.base, IdPair(64060, 64060))
    target, _, locks, _ = _state(lab.testbed)
    assert target == [b"64070"]
    assert locks[("uidNumber", 64060)] is None and locks[("gidNumber", 64060)] is None


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--uid", "abc", "--gid", "64060"], "--uid 'abc' is not a number"),
        (["--uid", "64060"], "needs both --uid N and --gid N"),
        (["--uid", "0", "--gid", "64060"], "--uid 0 is root's ID"),
        (["--uid", "64060", "--gid", "65534"], "--gid 65534 is reserved"),
    ],
)
def test_bad_input_names_the_value_and_changes_nothing(joined, args, named):
    lab, _ = joined
    before = _state(lab.testbed)
    result = lab.cli("settings", "set", *args, *lab.admin_args, "--json")
    assert result.code == 2, result
    assert named in result.data["error"]["message"]
    assert _state(lab.testbed) == before


def test_dry_run_and_setting_the_same_pair(joined):
    lab, _ = joined
    before = _state(lab.testbed)
    dry = lab.cli(
        "settings",
        "set",
        "--uid",
        "64060",
        "--gid",
        "64060",
        "--dry-run",
        *lab.admin_args,
        "--json",
    )
    assert dry.code == 0, dry
    assert dry.data["dry_run"] and len(dry.data["locked"]) == 2 and len(dry.data["unlocked"]) == 2
    assert {h["status"] for h in dry.data["hosts"]} == {"would-request"}
    assert _state(lab.testbed) == before
    # The current pair once more: its missing lock is added, nothing else moves.
    lab.testbed.admin.delete_s(
        f"cn=64055,cn=gidNumber,cn=temporary,cn=univention,{lab.testbed.base}"
    )
    same = lab.cli("settings", "set", "--uid", "64055", "--gid", "64055", *lab.admin_args, "--json")
    assert same.code == 0, same
    assert not same.data["changed"] and same.data["unlocked"] == []
    assert same.data["locked"] == [
        f"cn=64055,cn=gidNumber,cn=temporary,cn=univention,{lab.testbed.base}"
    ]
    assert _state(lab.testbed)[2][("gidNumber", 64055)] == "0"
