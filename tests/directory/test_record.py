# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Writing a host record: only what changed, the check time at most once a day; reading any data.

Proves, against the real slapd and as the host's own account: the first record is one modify
(class + attributes); the same record again is no write at all (entryCSN unchanged); a day
later only the check time is rewritten; a changed number rewrites that number and the check
time only; an absent libvirt-qemu removes the numbers; unreadable stored values are replaced.
Reading tolerates garbage and names each problem.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ldap
import pytest

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import record
from libvirt_static_ids.directory.record import HostRecord, State

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def host(testbed):
    dn, password = testbed.add_host("kvm1")
    return dn, testbed.connect(dn, password)


def _csn(testbed, dn):
    return testbed.admin.search_s(dn, ldap.SCOPE_BASE, attrlist=["entryCSN"])[0][1]["entryCSN"]


def test_unchanged_record_costs_no_write(testbed, host):
    dn, conn = host
    first = HostRecord(State.DYNAMIC, 109, 114, {"blockers": []})
    change = directory.write_record(conn, dn, first, NOW)
    assert change.attributes == [
        "objectClass",
        *record.RECORD_ATTRIBUTES[:3],
        record.DETAIL,
        record.CHECKED,
    ]
    csn = _csn(testbed, dn)
    for later in (NOW + timedelta(minutes=5), NOW + timedelta(hours=23)):
        assert directory.write_record(conn, dn, first, later).empty
        assert _csn(testbed, dn) == csn
    # A day later only the check time is refreshed: "stale" means "stopped reporting".
    change = directory.write_record(conn, dn, first, NOW + timedelta(days=1, seconds=1))
    assert change.attributes == [record.CHECKED]
    assert _csn(testbed, dn) != csn


def test_only_changed_values_are_written(testbed, host):
    dn, conn = host
    directory.write_record(conn, dn, HostRecord(State.DYNAMIC, 109, 114, {"blockers": []}), NOW)
    later = NOW + timedelta(minutes=1)
    change = directory.write_record(
        conn, dn, HostRecord(State.DYNAMIC, 109, 120, {"blockers": []}), later
    )
    assert change.attributes == [record.GID, record.CHECKED]
    stored = testbed.admin.search_s(dn, ldap.SCOPE_BASE)[0][1]
    assert stored[record.GID] == [b"120"]
    assert stored[record.CHECKED] == [b"20261125120100Z"]
    # libvirt-qemu went away: the numbers are removed, not left stale.
    change = directory.write_record(conn, dn, HostRecord(State.ABSENT, None, None, {}), later)
    assert change.attributes == [
        record.UID,
        record.GID,
        record.STATE,
        record.DETAIL,
        record.CHECKED,
    ]
    stored = testbed.admin.search_s(dn, ldap.SCOPE_BASE)[0][1]
    assert record.UID not in stored
    assert stored[record.STATE] == [b"absent"]


def test_garbage_stored_values_are_replaced(testbed, host):
    dn, conn = host
    testbed.admin.modify_s(
        dn,
        [
            (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
            (ldap.MOD_REPLACE, record.STATE, [b"SOMETHING"]),
            (ldap.MOD_REPLACE, record.DETAIL, [b"{not json"]),
            (ldap.MOD_REPLACE, record.CHECKED, [b"20991231000000Z"]),  # far future: not trusted
        ],
    )
    wanted = HostRecord(State.STATIC, 64055, 64055, {"blockers": []})
    change = directory.write_record(conn, dn, wanted, NOW)
    assert set(change.attributes) == {
        record.UID,
        record.GID,
        record.STATE,
        record.DETAIL,
        record.CHECKED,
    }
    assert directory.write_record(conn, dn, wanted, NOW).empty


def test_missing_host_object_is_a_clear_error(testbed):
    conn = testbed.connect()
    missing = f"cn=nope,cn=memberserver,cn=computers,{testbed.base}"
    with pytest.raises(directory.DirectoryError, match=r"cn=nope.*does not exist"):
        directory.write_record(conn, missing, HostRecord(State.STATIC, 1, 1, {}), NOW)


def test_reading_tolerates_any_data():
    entry = {
        "cn": [b"kvm9"],
        "objectClass": [b"top", b"LIBVIRTSTATICIDSHOST"],
        record.UID: [b"99999999999"],
        record.GID: [b"114"],
        record.STATE: [b"Weird"],
        record.CHECKED: [b"yesterday"],
        record.DETAIL: [b'{"blockers": [{"code": 5}, "x", {"code": "ok", "message": "m"}]}'],
        record.REQUEST: [b" Refresh "],
    }
    stored = record.read("cn=kvm9", "kvm9", entry)
    assert stored.has_class
    assert stored.uid is None and stored.gid == 114
    assert stored.state is None and stored.checked is None
    assert stored.blockers == ({"code": "ok", "message": "m"},)
    assert stored.request == "refresh"
    assert not stored.recorded
    assert len(stored.problems) == 5
    assert any("99999999999" in p for p in stored.problems)
    for detail in (b"[1, 2]", b"{not json", b'{"blockers": "none"}'):
        assert record.read("cn=x", "x", {record.DETAIL: [detail]}).problems
    assert record.read("cn=x", "x", {}).problems == ()


def test_detail_is_stable_and_bounded():
    detail = {"blockers": [{"code": "processes-running", "message": "x" * 20000}]}
    text = record.encode_detail(detail)
    assert len(text.encode()) <= record.DETAIL_LIMIT
    assert record.encode_detail(detail) == text
    assert record.encode_detail({"b": 1, "a": 2}) == '{"a":2,"b":1}'
