# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A throwaway slapd on 127.0.0.1 with a UCS-like tree, our schema and our ACL.

The real OpenLDAP server, started through python-ldap's slapdtest, configured from the
shipped ``ldap/`` files: the schema LDIF, and the ACL template between stand-ins for UCS's
own ACLs. UCS object classes (univentionHost, univentionGroup, ...) do not exist here, so
standard classes stand in for them; each stand-in says which UCS class it replaces.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

import ldap
import ldap.dn
import ldap.modlist
import slapdtest

from . import ldapfiles, ucs_acl, ucs_schema

DEFAULT_BASE = "dc=kvm,dc=test"
DOMAIN_ADMINS_GID = 5000
DOMAIN_USERS_GID = 5001
COMPUTERS_GID = 5007
FIRST_USER_UID = 2000
FIRST_HOST_UID = 3000
# UCS's slapd answers up to ldap/sizelimit (400000) entries; slapd's own default is 500.
SIZE_LIMIT = 400000


def ssha(password: str) -> str:
    """An {SSHA} userPassword value, as slapd verifies it on a simple bind."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - the LDAP scheme
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


@dataclass(frozen=True)
class Account:
    dn: str
    password: str


def _ldif(dn: str, attributes: dict[str, list[str]]) -> str:
    lines = [f"dn: {dn}"]
    for name, values in attributes.items():
        for value in values:
            if value.isascii() and value.isprintable() and not value.startswith((" ", ":", "<")):
                lines.append(f"{name}: {value}")
            else:
                lines.append(f"{name}:: {base64.b64encode(value.encode()).decode()}")
    return "\n".join(lines) + "\n\n"


class _Slapd(slapdtest.SlapdObject):
    """slapdtest's server with UCS's sizes and indexes and our ACL in the database entry."""

    database = "mdb"
    slapd_loglevel = "0"
    root_cn = "admin"

    def __init__(
        self,
        workdir: str,
        suffix: str,
        *,
        root_pw: str,
        schemas: tuple[str, ...],
        access: list[str],
        preload: str,
    ) -> None:
        self.TMPDIR = workdir
        self.suffix = suffix
        self.root_pw = root_pw
        self.openldap_schema_files = schemas
        self._access = access
        self._preload = preload
        super().__init__()

    def _database_extra(self) -> str:
        extra = [
            "olcDbMaxSize: 4294967296",
            "olcDbIndex: objectClass,uidNumber,gidNumber,cn,uid eq",
            f"olcSizeLimit: {SIZE_LIMIT}",
        ]
        extra += [f"olcAccess: {{{number}}}{rule}" for number, rule in enumerate(self._access)]
        return "\n".join(extra) + "\n"

    def _write_config(self) -> None:
        """slapdtest's configuration, but the database entry after the schemas.

        Its ACL names attributes (uniqueMember, ours) that exist only once they are loaded.
        """
        config = self.gen_config()
        split = config.index("dn: olcDatabase=")
        self.slapadd(config[:split], ["-n0"])
        for schema in self.openldap_schema_files:
            path = schema if os.path.exists(schema) else os.path.join(self.SCHEMADIR, schema)
            self.slapadd(None, ["-n0", "-l", path])
        self.slapadd(config[split:].rstrip("\n") + "\n" + self._database_extra(), ["-n0"])
        # Data goes in before slapd starts: one slapadd instead of thousands of adds.
        path = os.path.join(self.testrundir, "preload.ldif")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self._preload)
        self.slapadd(None, ["-n1", "-q", "-l", path])


class Testbed:
    """A throwaway directory for tests, the demo and benchmarks.

    ``with Testbed() as tb:`` starts slapd on 127.0.0.1 and ends it (by its PID) on exit,
    removing every file. ``add_host(name, root)`` creates a computer object with a machine
    password and, given a fake root, writes the host's UCR and /etc/machine.secret there.
    """

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(
        self,
        base: str = DEFAULT_BASE,
        *,
        workdir: str | None = None,
        ldap_dir: str | None = None,
        preload_ldif: str = "",
        admins_group: str = "Domain Admins",
        anonymous_read: bool = True,
    ) -> None:
        """``admins_group`` renames Domain Admins (UCR groups/default/domainadmins, as an AD
        Takeover does); ``anonymous_read`` is UCS's default closing rule ``by * read``
        (UCR ldap/acl/read/anonymous not false), else ``by users read``."""
        ldap.dn.str2dn(base)  # a bad base fails here, not inside slapd
        self.base = base
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="libvirt-static-ids-testbed-")
        self.ldap_dir = ldap_dir or ldapfiles.ldap_dir()
        self.admin_password = secrets.token_urlsafe(16)
        self.domain_admin = Account(f"uid=Administrator,cn=users,{base}", secrets.token_urlsafe(12))
        self._next_user = FIRST_USER_UID + 1
        self._next_host = FIRST_HOST_UID
        self.admins_group = admins_group
        # The UCR the ACL is rendered with: the group variable is set only when renamed.
        self.ucr = {"ldap/base": base}
        if admins_group != "Domain Admins":
            self.ucr["groups/default/domainadmins"] = admins_group
        standins = {
            "ldap/base": base,
            "groups/default/domainadmins": admins_group,
            "ldap/acl/read/anonymous": "yes" if anonymous_read else "no",
        }
        access = (
            ldapfiles.access_rules(ldapfiles.render_template(ucs_acl.BEFORE, standins))
            + ldapfiles.shipped_access_rules(base, self.ldap_dir, self.ucr)
            + ldapfiles.access_rules(ldapfiles.render_template(ucs_acl.AFTER, standins))
        )
        schemas = (
            "core.ldif",
            "cosine.ldif",
            "nis.ldif",
            "inetorgperson.ldif",
            ucs_schema.write(self.workdir),
            ldapfiles.schema_ldif(self.ldap_dir),
        )
        self._slapd = _Slapd(
            self.workdir,
            base,
            root_pw=self.admin_password,
            schemas=schemas,
            access=access,
            preload=self.base_tree_ldif() + preload_ldif,
        )
        self._conn: Any = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Testbed:
        """Configure and start slapd; on failure nothing is left running or on disk."""
        try:
            self._slapd.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End slapd (terminate its PID, wait) and remove its files; safe to call twice."""
        if self._conn is not None:
            with contextlib.suppress(ldap.LDAPError):
                self._conn.unbind_s()
            self._conn = None
        self._slapd.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Testbed:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        proc = self._slapd._proc
        return proc.pid if proc is not None else None

    @property
    def uri(self) -> str:
        return self._slapd.ldap_uri.rstrip("/")

    @property
    def port(self) -> int:
        return self._slapd.port

    @property
    def admin_dn(self) -> str:
        """The root DN (UCS: cn=admin), which no ACL restricts."""
        return self._slapd.root_dn

    @property
    def ca_file(self) -> str:
        """CA of the server certificate, for StartTLS (set it as LDAPTLS_CACERT)."""
        return self._slapd.cafile

    # -- connections -------------------------------------------------------------------------

    def connect(self, dn: str | None = None, password: str | None = None) -> Any:
        """A new connection bound as ``dn`` (default: the root DN)."""
        conn = ldap.initialize(self.uri)
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        conn.simple_bind_s(dn or self.admin_dn, password if dn else self.admin_password)
        return conn

    @property
    def admin(self) -> Any:
        """A shared root DN connection for setting up data."""
        if self._conn is None:
            self._conn = self.connect()
        return self._conn

    # -- the tree ----------------------------------------------------------------------------

    def base_tree_ldif(self) -> str:
        base = self.base
        rdn_value = ldap.dn.str2dn(base)[0][0][1]
        admins = self.domain_admin
        entries = [
            # UCS: domain + univentionBase + ...; domain alone stands in.
            (base, {"objectClass": ["top", "domain"], "dc": [rdn_value]}),
        ]
        # UCS: organizationalRole + univentionContainer; organizationalRole stands in.
        for container in (
            "cn=users",
            "cn=groups",
            "cn=computers",
            "cn=memberserver,cn=computers",
            "cn=dc,cn=computers",
            "cn=univention",
            "cn=temporary,cn=univention",
            # UDM's allocator keeps its locks (and univentionLastUsedValue) under these.
            "cn=uidNumber,cn=temporary,cn=univention",
            "cn=gidNumber,cn=temporary,cn=univention",
        ):
            value = ldap.dn.str2dn(container)[0][0][1]
            entries.append(
                (
                    f"{container},{base}",
                    {"objectClass": ["top", "organizationalRole"], "cn": [value]},
                )
            )
        entries.append(
            self._user_entry("Administrator", FIRST_USER_UID, DOMAIN_ADMINS_GID, admins.password)
        )
        entries.append(self._group_entry(self.admins_group, DOMAIN_ADMINS_GID, [admins.dn]))
        entries.append(self._group_entry("Domain Users", DOMAIN_USERS_GID, []))
        entries.append(self._group_entry("Computers", COMPUTERS_GID, []))
        return "".join(_ldif(dn, attrs) for dn, attrs in entries)

    def _user_entry(
        self, name: str, uid_number: int, gid_number: int, password: str
    ) -> tuple[str, dict[str, list[str]]]:
        # UCS users/user: + univentionPerson, sambaSamAccount, krb5Principal, ...
        dn = f"uid={ldap.dn.escape_dn_chars(name)},cn=users,{self.base}"
        return dn, {
            "objectClass": ["top", "inetOrgPerson", "posixAccount", "shadowAccount"],
            "uid": [name],
            "cn": [name],
            "sn": [name],
            "uidNumber": [str(uid_number)],
            "gidNumber": [str(gid_number)],
            "homeDirectory": [f"/home/{name}"],
            "loginShell": ["/bin/bash"],
            "userPassword": [ssha(password)],
        }

    def _group_entry(
        self, name: str, gid_number: int, members: list[str]
    ) -> tuple[str, dict[str, list[str]]]:
        # UCS groups/group: posixGroup + univentionGroup (which carries uniqueMember) + ...;
        # extensibleObject stands in for univentionGroup.
        dn = f"cn={ldap.dn.escape_dn_chars(name)},cn=groups,{self.base}"
        attrs = {
            "objectClass": ["top", "posixGroup", "extensibleObject"],
            "cn": [name],
            "gidNumber": [str(gid_number)],
        }
        if members:
            attrs["uniqueMember"] = members
        return dn, attrs

    def host_entry(
        self,
        name: str,
        uid_number: int,
        password: str,
        *,
        container: str = "memberserver",
        parent: str | None = None,
    ) -> tuple[str, dict[str, list[str]]]:
        """A computer object as LDIF attributes (UCS computers/memberserver and kin), under
        cn=CONTAINER,cn=computers or, given, ``parent`` (UDM allows any position)."""
        # UCS: person + univentionHost + univentionMemberServer + posixAccount + shadowAccount
        # + sambaSamAccount + krb5Principal ...; person + univentionHost (ucs_schema's stand-in)
        # + posixAccount + shadowAccount stand in.
        parent = parent or f"cn={container},cn=computers,{self.base}"
        dn = f"cn={ldap.dn.escape_dn_chars(name)},{parent}"
        return dn, {
            "objectClass": ["top", "person", "univentionHost", "posixAccount", "shadowAccount"],
            "cn": [name],
            "sn": [name],
            "uid": [f"{name}$"],
            "uidNumber": [str(uid_number)],
            "gidNumber": [str(COMPUTERS_GID)],
            "homeDirectory": ["/dev/null"],
            "userPassword": [ssha(password)],
        }

    def _add(self, dn: str, attrs: dict[str, list[str]]) -> None:
        encoded = {name: [v.encode() for v in values] for name, values in attrs.items()}
        self.admin.add_s(dn, ldap.modlist.addModlist(encoded))

    def add_user(
        self,
        name: str,
        uid_number: int | None = None,
        *,
        gid_number: int = DOMAIN_USERS_GID,
        domain_admin: bool = False,
    ) -> Account:
        """A users/user stand-in; ``domain_admin`` makes it a member of the admin group."""
        if uid_number is None:
            uid_number, self._next_user = self._next_user, self._next_user + 1
        password = secrets.token_urlsafe(12)
        dn, attrs = self._user_entry(name, uid_number, gid_number, password)
        self._add(dn, attrs)
        if domain_admin:
            group = self.admins_dn
            self.admin.modify_s(group, [(ldap.MOD_ADD, "uniqueMember", [dn.encode()])])
        return Account(dn, password)

    def add_group(self, name: str, gid_number: int) -> str:
        dn, attrs = self._group_entry(name, gid_number, [])
        self._add(dn, attrs)
        return dn

    def add_host(
        self,
        name: str,
        root: str | None = None,
        *,
        container: str = "memberserver",
        parent: str | None = None,
    ) -> tuple[str, str]:
        """A computer object with a machine password: (dn, password).

        Given ``root`` (a fake host root), its UCR (etc/univention/base.conf) and
        etc/machine.secret are written there, as a UCS join leaves them.
        """
        uid_number, self._next_host = self._next_host, self._next_host + 1
        password = secrets.token_urlsafe(16)
        dn, attrs = self.host_entry(name, uid_number, password, container=container, parent=parent)
        self._add(dn, attrs)
        if root is not None:
            self.write_host_identity(root, name, dn, password)
        return dn, password

    def host_ucr(self, name: str, dn: str) -> dict[str, str]:
        """The UCR variables a joined host has that this project reads."""
        return {
            "hostname": name,
            "domainname": "kvm.test",
            "ldap/base": self.base,
            "ldap/hostdn": dn,
            "ldap/master": "127.0.0.1",
            "ldap/master/port": str(self.port),
            "ldap/server/name": "127.0.0.1",
            "ldap/server/port": str(self.port),
            # A host under cn=dc,cn=computers is a Directory Node (here: a Backup).
            "server/role": "domaincontroller_backup"
            if ",cn=dc,cn=computers," in dn
            else "memberserver",
        }

    def write_host_identity(self, root: str, name: str, dn: str, password: str) -> None:
        etc = os.path.join(root, "etc")
        os.makedirs(os.path.join(etc, "univention"), exist_ok=True)
        values = self.host_ucr(name, dn)
        with open(os.path.join(etc, "univention", "base.conf"), "w", encoding="utf-8") as f:
            f.write("# univention_ base.conf\n\n")
            f.write("".join(f"{key}: {value}\n" for key, value in sorted(values.items())))
        secret = os.path.join(etc, "machine.secret")
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(password)

    # -- settings ----------------------------------------------------------------------------

    @property
    def admins_dn(self) -> str:
        """The group UCS names Domain Admins (renamed or not)."""
        return f"cn={ldap.dn.escape_dn_chars(self.admins_group)},cn=groups,{self.base}"

    @property
    def settings_dn(self) -> str:
        return f"cn=libvirt-static-ids,cn=univention,{self.base}"

    def admin_options(self, directory: str) -> list[str]:
        """The CLI's connection options binding as the Domain Admin (password in a 0600 file)."""
        secret = os.path.join(directory, "administrator.secret")
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.domain_admin.password)
        return [
            "--ldap-uri",
            self.uri,
            "--base",
            self.base,
            "--binddn",
            self.domain_admin.dn,
            "--bindpwdfile",
            secret,
        ]

    def lock_number(self, kind: str, number: int, lock_time: int = 0) -> str:
        """A UDM allocator lock (``kind`` uidNumber or gidNumber); lockTime 0 is permanent,
        as the join script writes it."""
        dn = f"cn={number},cn={kind},cn=temporary,cn=univention,{self.base}"
        self._add(
            dn, {"objectClass": ["top", "lock"], "cn": [str(number)], "lockTime": [str(lock_time)]}
        )
        return dn

    def set_target(self, uid: int, gid: int) -> None:
        """Create or change the settings object (as the join script / an admin would)."""
        values = {
            "libvirtStaticIdsTargetUid": [str(uid).encode()],
            "libvirtStaticIdsTargetGid": [str(gid).encode()],
        }
        try:
            self.admin.modify_s(
                self.settings_dn, [(ldap.MOD_REPLACE, k, v) for k, v in values.items()]
            )
        except ldap.NO_SUCH_OBJECT:
            attrs = {
                "objectClass": [b"top", b"libvirtStaticIdsSettings"],
                "cn": [b"libvirt-static-ids"],
                **values,
            }
            self.admin.add_s(self.settings_dn, ldap.modlist.addModlist(attrs))
