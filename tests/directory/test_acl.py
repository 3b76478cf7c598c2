# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The shipped ACL, loaded from ldap/ into a real slapd between stand-ins for UCS's own ACLs.

Proves, by binding as each account: a host writes its own record and adds the auxiliary
class to itself, and nothing else of its own (no other class, no request); it cannot touch
another host's record or class; it may delete (not set) its own request; only Domain Admins
(by nested membership, not just the built-in Administrator) set requests and write the
settings; a plain user writes none of it; every account reads records and settings.
"""

from __future__ import annotations

import ldap
import pytest

RECORD = [
    (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsUid", [b"109"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsGid", [b"114"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsState", [b"dynamic"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsChecked", [b"20261125120000Z"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsDetail", [b'{"blockers":[]}']),
]


def _denied(conn, dn, modlist):
    with pytest.raises(ldap.INSUFFICIENT_ACCESS):
        conn.modify_s(dn, modlist)


@pytest.fixture
def accounts(testbed):
    kvm1, kvm1_pw = testbed.add_host("kvm1")
    kvm2, kvm2_pw = testbed.add_host("kvm2")
    user = testbed.add_user("alice")
    # A second-level member of Domain Admins: the ACL must follow nested groups.
    helpdesk = testbed.add_user("helpdesk")
    group = testbed.add_group("KVM Operators", 5100)
    testbed.admin.modify_s(group, [(ldap.MOD_ADD, "uniqueMember", [helpdesk.dn.encode()])])
    testbed.admin.modify_s(
        f"cn=Domain Admins,cn=groups,{testbed.base}",
        [(ldap.MOD_ADD, "uniqueMember", [group.encode()])],
    )
    testbed.set_target(64055, 64055)
    return {
        "kvm1": (kvm1, testbed.connect(kvm1, kvm1_pw)),
        "kvm2": (kvm2, testbed.connect(kvm2, kvm2_pw)),
        "alice": (user.dn, testbed.connect(user.dn, user.password)),
        "helpdesk": (helpdesk.dn, testbed.connect(helpdesk.dn, helpdesk.password)),
    }


def test_host_writes_its_own_record_only(testbed, accounts):
    kvm1, as_kvm1 = accounts["kvm1"]
    kvm2, _ = accounts["kvm2"]
    as_kvm1.modify_s(kvm1, RECORD)
    as_kvm1.modify_s(kvm1, [(ldap.MOD_REPLACE, "libvirtStaticIdsState", [b"static"])])
    _denied(as_kvm1, kvm2, RECORD[1:])
    _denied(as_kvm1, kvm2, RECORD[:1])
    # Its own object: no other class, no other attribute, no request.
    _denied(as_kvm1, kvm1, [(ldap.MOD_ADD, "objectClass", [b"inetOrgPerson"])])
    _denied(as_kvm1, kvm1, [(ldap.MOD_REPLACE, "uidNumber", [b"64055"])])
    _denied(as_kvm1, kvm1, [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"convert"])])


def test_host_cannot_write_settings(testbed, accounts):
    _, as_kvm1 = accounts["kvm1"]
    _denied(
        as_kvm1, testbed.settings_dn, [(ldap.MOD_REPLACE, "libvirtStaticIdsTargetUid", [b"109"])]
    )
    found = as_kvm1.search_s(testbed.settings_dn, ldap.SCOPE_BASE)
    assert found[0][1]["libvirtStaticIdsTargetUid"] == [b"64055"]


def test_only_admins_request_and_the_host_only_deletes(testbed, accounts):
    kvm1, as_kvm1 = accounts["kvm1"]
    _, as_alice = accounts["alice"]
    _, as_helpdesk = accounts["helpdesk"]
    request = [
        (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
        (ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"refresh"]),
    ]
    _denied(as_alice, kvm1, request)
    as_helpdesk.modify_s(kvm1, request)
    # The host may delete exactly that request, but not replace it with another.
    _denied(as_kvm1, kvm1, [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"convert"])])
    as_kvm1.modify_s(kvm1, [(ldap.MOD_DELETE, "libvirtStaticIdsRequest", [b"refresh"])])
    _denied(as_kvm1, kvm1, [(ldap.MOD_ADD, "libvirtStaticIdsRequest", [b"refresh"])])


def test_admins_write_settings_users_only_read(testbed, accounts):
    _, as_alice = accounts["alice"]
    _, as_helpdesk = accounts["helpdesk"]
    change = [(ldap.MOD_REPLACE, "libvirtStaticIdsTargetUid", [b"64056"])]
    _denied(as_alice, testbed.settings_dn, change)
    as_helpdesk.modify_s(testbed.settings_dn, change)
    assert as_alice.search_s(testbed.settings_dn, ldap.SCOPE_BASE)[0][1][
        "libvirtStaticIdsTargetUid"
    ] == [b"64056"]


def test_users_read_records_but_write_none(testbed, accounts):
    kvm1, as_kvm1 = accounts["kvm1"]
    alice, as_alice = accounts["alice"]
    as_kvm1.modify_s(kvm1, RECORD)
    found = as_alice.search_s(
        testbed.base,
        ldap.SCOPE_SUBTREE,
        "(objectClass=libvirtStaticIdsHost)",
        ["libvirtStaticIdsUid"],
    )
    assert found == [(kvm1, {"libvirtStaticIdsUid": [b"109"]})]
    _denied(as_alice, kvm1, [(ldap.MOD_REPLACE, "libvirtStaticIdsUid", [b"1"])])
    # Nor on her own object: a user cannot pose as a KVM host.
    _denied(as_alice, alice, RECORD)
    # Machine passwords stay unreadable.
    assert "userPassword" not in as_alice.search_s(kvm1, ldap.SCOPE_BASE, attrlist=["*"])[0][1]
