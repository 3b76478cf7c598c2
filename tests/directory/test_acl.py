# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The shipped ACL, loaded from ldap/ into a real slapd between stand-ins for UCS's own ACLs,
with UCS's default closing rule ``by * read`` (anonymous read) in place.

Proves, by binding as each account (and anonymously): a host writes its own record and adds
the auxiliary class to itself, and nothing else of its own (no other class, no request),
wherever its object lies under the base (a UCS@school OU too); it cannot touch another
host's record or class; it may delete (not set) its own request; only the admin group (by
nested membership, not just the built-in Administrator) sets requests and writes the
settings; the record and the request are readable only by the host itself, admins and
domain controllers — not by an ordinary user, another host or anonymously; every account
reads the settings, anonymous nobody. With Domain Admins renamed (UCR
groups/default/domainadmins), the renamed group is the admin group and a group that kept the
old name is nobody.
"""

from __future__ import annotations

import ldap
import pytest

from libvirt_static_ids_testbed import Testbed

RECORD = [
    (ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsUid", [b"109"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsGid", [b"114"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsState", [b"dynamic"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsChecked", [b"20261125120000Z"]),
    (ldap.MOD_REPLACE, "libvirtStaticIdsDetail", [b'{"blockers":[]}']),
    (ldap.MOD_REPLACE, "libvirtStaticIdsInventory", [b'{"version":1,"vms":[]}']),
]
PRIVATE = [
    "libvirtStaticIdsUid",
    "libvirtStaticIdsGid",
    "libvirtStaticIdsState",
    "libvirtStaticIdsChecked",
    "libvirtStaticIdsDetail",
    "libvirtStaticIdsInventory",
    "libvirtStaticIdsRequest",
]


def _denied(conn, dn, modlist):
    with pytest.raises(ldap.INSUFFICIENT_ACCESS):
        conn.modify_s(dn, modlist)


def _seen(conn, dn):
    """The record attributes ``conn`` can read of ``dn`` (the entry itself stays visible)."""
    found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", [*PRIVATE, "cn"])
    assert found, f"{dn} itself is not visible"
    return sorted(name for name in found[0][1] if name != "cn")


def _school_ou(testbed):
    """UCS@school keeps a school's computers in cn=computers,ou=SCHOOL,<base>."""
    ou = f"ou=school1,{testbed.base}"
    testbed.admin.add_s(ou, [("objectClass", [b"organizationalUnit"]), ("ou", [b"school1"])])
    computers = f"cn=computers,{ou}"
    testbed.admin.add_s(
        computers, [("objectClass", [b"organizationalRole"]), ("cn", [b"computers"])]
    )
    return computers


def _anonymous(testbed):
    conn = ldap.initialize(testbed.uri)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.simple_bind_s("", "")
    return conn


@pytest.fixture
def accounts(testbed):
    kvm1, kvm1_pw = testbed.add_host("kvm1")
    kvm2, kvm2_pw = testbed.add_host("kvm2")
    school, school_pw = testbed.add_host("kvm-school", parent=_school_ou(testbed))
    dc, dc_pw = testbed.add_host("backup1", container="dc")
    user = testbed.add_user("alice")
    # A second-level member of Domain Admins: the ACL must follow nested groups.
    helpdesk = testbed.add_user("helpdesk")
    group = testbed.add_group("KVM Operators", 5100)
    testbed.admin.modify_s(group, [(ldap.MOD_ADD, "uniqueMember", [helpdesk.dn.encode()])])
    testbed.admin.modify_s(testbed.admins_dn, [(ldap.MOD_ADD, "uniqueMember", [group.encode()])])
    testbed.set_target(64055, 64055)
    return {
        "kvm1": (kvm1, testbed.connect(kvm1, kvm1_pw)),
        "kvm2": (kvm2, testbed.connect(kvm2, kvm2_pw)),
        "school": (school, testbed.connect(school, school_pw)),
        "dc": (dc, testbed.connect(dc, dc_pw)),
        "alice": (user.dn, testbed.connect(user.dn, user.password)),
        "helpdesk": (helpdesk.dn, testbed.connect(helpdesk.dn, helpdesk.password)),
        "anonymous": ("", _anonymous(testbed)),
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


def test_a_host_outside_cn_computers_records_itself(testbed, accounts):
    school, as_school = accounts["school"]
    kvm1, _ = accounts["kvm1"]
    assert ",ou=school1," in school
    as_school.modify_s(school, RECORD)
    assert _seen(as_school, school) == sorted(PRIVATE[:-1])
    _denied(as_school, kvm1, RECORD)


def test_records_and_requests_are_readable_only_by_the_host_admins_and_dcs(testbed, accounts):
    kvm1, as_kvm1 = accounts["kvm1"]
    testbed.admin.modify_s(kvm1, [*RECORD, (ldap.MOD_ADD, "libvirtStaticIdsRequest", [b"refresh"])])
    everything = sorted(PRIVATE)
    assert _seen(as_kvm1, kvm1) == everything
    assert _seen(accounts["helpdesk"][1], kvm1) == everything
    assert _seen(accounts["dc"][1], kvm1) == everything
    # UCS's closing rule reads "by * read": none of it reaches an ordinary user, another
    # host or an anonymous client, while the object itself (its cn) stays visible to them.
    for who in ("alice", "kvm2", "anonymous"):
        assert _seen(accounts[who][1], kvm1) == [], who
    found = accounts["anonymous"][1].search_s(
        testbed.base, ldap.SCOPE_SUBTREE, "(libvirtStaticIdsInventory=*)", ["1.1"]
    )
    assert found == []


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
    _denied(accounts["dc"][1], kvm1, request[1:])
    as_helpdesk.modify_s(kvm1, request)
    # The host may delete exactly that request, but not replace it with another.
    _denied(as_kvm1, kvm1, [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"convert"])])
    as_kvm1.modify_s(kvm1, [(ldap.MOD_DELETE, "libvirtStaticIdsRequest", [b"refresh"])])
    _denied(as_kvm1, kvm1, [(ldap.MOD_ADD, "libvirtStaticIdsRequest", [b"refresh"])])


def test_admins_write_settings_users_only_read_anonymous_nothing(testbed, accounts):
    _, as_alice = accounts["alice"]
    _, as_helpdesk = accounts["helpdesk"]
    change = [(ldap.MOD_REPLACE, "libvirtStaticIdsTargetUid", [b"64056"])]
    _denied(as_alice, testbed.settings_dn, change)
    as_helpdesk.modify_s(testbed.settings_dn, change)
    assert as_alice.search_s(testbed.settings_dn, ldap.SCOPE_BASE)[0][1][
        "libvirtStaticIdsTargetUid"
    ] == [b"64056"]
    with pytest.raises(ldap.NO_SUCH_OBJECT):
        accounts["anonymous"][1].search_s(testbed.settings_dn, ldap.SCOPE_BASE)


def test_users_write_no_record(testbed, accounts):
    kvm1, as_kvm1 = accounts["kvm1"]
    alice, as_alice = accounts["alice"]
    as_kvm1.modify_s(kvm1, RECORD)
    _denied(as_alice, kvm1, [(ldap.MOD_REPLACE, "libvirtStaticIdsUid", [b"1"])])
    # Nor on her own object: a user cannot pose as a KVM host.
    _denied(as_alice, alice, RECORD)
    # Machine passwords stay unreadable.
    assert "userPassword" not in as_alice.search_s(kvm1, ldap.SCOPE_BASE, attrlist=["*"])[0][1]


@pytest.fixture
def renamed():
    """A domain whose Domain Admins were renamed (UCR groups/default/domainadmins)."""
    bed = Testbed(admins_group="Domänen-Admins")
    bed.start()
    try:
        yield bed
    finally:
        bed.stop()


def test_a_renamed_admin_group_is_the_admin_group(renamed):
    assert renamed.ucr["groups/default/domainadmins"] == "Domänen-Admins"
    kvm1, kvm1_pw = renamed.add_host("kvm1")
    renamed.connect(kvm1, kvm1_pw).modify_s(kvm1, RECORD)
    admin = renamed.add_user("ops", domain_admin=True)
    assert renamed.admins_dn.startswith("cn=Domänen-Admins,")
    # A group that merely carries the old name is nobody's admin group now.
    impostor = renamed.add_user("impostor")
    old_name = renamed.add_group("Domain Admins", 5200)
    renamed.admin.modify_s(old_name, [(ldap.MOD_ADD, "uniqueMember", [impostor.dn.encode()])])
    as_admin = renamed.connect(admin.dn, admin.password)
    as_impostor = renamed.connect(impostor.dn, impostor.password)
    request = [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"refresh"])]
    _denied(as_impostor, kvm1, request)
    assert _seen(as_impostor, kvm1) == []
    as_admin.modify_s(kvm1, request)
    assert _seen(as_admin, kvm1) == sorted(PRIVATE)
    renamed.set_target(64055, 64055)
    change = [(ldap.MOD_REPLACE, "libvirtStaticIdsTargetGid", [b"64057"])]
    _denied(as_impostor, renamed.settings_dn, change)
    as_admin.modify_s(renamed.settings_dn, change)


@pytest.mark.parametrize("name", ["KVM Admins, Ops + Co", "#Ops <KVM>; a=b \\ c"])
def test_an_admin_group_named_with_dn_specials_is_the_admin_group(name):
    """Its name is DN-escaped in the ACL (a raw ``,`` would name another DN, and slapd.conf
    would take a ``\\`` as its own escape). UCS's own rules (the stand-ins here) name it
    unescaped, so only what this ACL decides is asked of them."""
    with Testbed(admins_group=name) as bed:
        kvm1, kvm1_pw = bed.add_host("kvm1")
        bed.connect(kvm1, kvm1_pw).modify_s(kvm1, RECORD)
        admin = bed.add_user("ops", domain_admin=True)
        user = bed.add_user("alice")
        as_admin = bed.connect(admin.dn, admin.password)
        request = [(ldap.MOD_REPLACE, "libvirtStaticIdsRequest", [b"refresh"])]
        _denied(bed.connect(user.dn, user.password), kvm1, request)
        as_admin.modify_s(kvm1, request)
        assert _seen(as_admin, kvm1) == sorted(PRIVATE)
        bed.set_target(64055, 64055)
        as_admin.modify_s(
            bed.settings_dn, [(ldap.MOD_REPLACE, "libvirtStaticIdsTargetGid", [b"64057"])]
        )
