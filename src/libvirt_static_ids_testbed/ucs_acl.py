# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Stand-ins for the parts of UCS's own slapd ACLs that surround an app's ACL fragment.

UCS orders slapd.conf.d by file name: 60univention-ldap-server_acl-master, then the apps'
fragments, then 70univention-ldap-server_acl-master-end. Only the rules that decide access
to host records, requests, settings and passwords are reproduced, in the same order and with
the same "break"s, so the shipped fragment is tested in the position it has on UCS. UCS
writes the Domain Admins rule of 60 as group/univentionGroup/uniqueMember; this slapd has no
univentionGroup class, so the set form that 70 uses (nested groups) stands in for it. Both name
the admin group as UCS does, through ``groups/default/domainadmins`` (custom_groupname); 70's
closing rule gives everyone else read, anonymously too unless ``ldap/acl/read/anonymous`` is
false (the default is ``by * read``).
"""

from __future__ import annotations

_ADMIN_ATTRIBUTES = ",".join(
    (
        "entry",
        "objectClass",
        "uniqueMember",
        "ou",
        "uid",
        "loginShell",
        "homeDirectory",
        "uidNumber",
        "gidNumber",
        "sn",
        "cn",
        "gecos",
        "description",
        "memberUid",
    )
)

_ADMINS = (
    'by set="user & [cn=@%@groups/default/domainadmins@%@,cn=groups,@%@ldap/base@%@]/uniqueMember*"'
)

# From 60univention-ldap-server_acl-master: before the apps' fragments.
BEFORE = f"""
access to attrs=userPassword
    by anonymous auth
    by * none break

access to *
    by dn.base="uid=Administrator,cn=users,@%@ldap/base@%@" write
    by * none break

access to attrs={_ADMIN_ATTRIBUTES}
    {_ADMINS} write
    by * +0 break
"""

# From 70univention-ldap-server_acl-master-end: after them.
AFTER = f"""
access to attrs=userPassword
    {_ADMINS} write
    by * none

access to *
    {_ADMINS} write
@!@
if configRegistry.is_false('ldap/acl/read/anonymous'):
    print('    by users read')
else:
    print('    by * read')
@!@
"""
