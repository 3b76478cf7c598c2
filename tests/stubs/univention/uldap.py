# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.uldap`` (machine connection and the access class).

Mirrors base/univention-python/modules/uldap.py of UCS 5.x: ``getMachineConnection(start_tls=2,
decode_ignorelist=[], ldap_master=True, secret_file="/etc/machine.secret", reconnect=True)``
reads UCR (``ldap/master``, ``ldap/master/port`` default 7389, ``ldap/base``, ``ldap/hostdn``,
or ``ldap/server/name`` and ``ldap/server/port``) and the secret file, and returns an
``access`` bound as the host; ``access`` opens ``ldap://host:port``, negotiates StartTLS
(1 try, 2 require) and binds. Its ``lo`` is the python-ldap object. Only ``bind``, ``get``,
``getAttr``, ``whoami`` and ``unbind`` of the original's methods are carried over.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import ldap
import ldap.ldapobject

from univention.config_registry import ConfigRegistry


def getMachineConnection(
    start_tls: int = 2,
    decode_ignorelist: list[str] = [],  # noqa: B006 - mirrors the original
    ldap_master: bool = True,
    secret_file: str = "/etc/machine.secret",  # noqa: S107 - a path
    reconnect: bool = True,
) -> access:
    ucr = ConfigRegistry()
    ucr.load()
    with open(secret_file, encoding="utf-8") as handle:
        bindpw = handle.read().rstrip("\n")
    if ldap_master:
        port = int(ucr.get("ldap/master/port", "7389"))
        host = ucr.get("ldap/master")
    else:
        port = int(ucr.get("ldap/server/port", "7389"))
        host = ucr.get("ldap/server/name")
    return access(
        host=host,
        port=port,
        base=ucr.get("ldap/base"),
        binddn=ucr.get("ldap/hostdn"),
        bindpw=bindpw,
        start_tls=start_tls,
        decode_ignorelist=decode_ignorelist,
        reconnect=reconnect,
    )


class access:
    def __init__(  # noqa: PLR0917 - the original's signature
        self,
        host: str = "localhost",
        port: int | None = None,
        base: str = "",
        binddn: str = "",
        bindpw: str = "",
        start_tls: int = 2,
        ca_certfile: str | None = None,
        decode_ignorelist: list[str] = [],  # noqa: B006 - mirrors the original
        use_ldaps: bool = False,
        uri: str | None = None,
        follow_referral: bool = False,
        reconnect: bool = True,
    ) -> None:
        self.host = host
        self.base = base
        self.binddn = binddn
        self.bindpw = bindpw
        self.start_tls = start_tls
        self.ca_certfile = ca_certfile
        self.reconnect = reconnect
        self.port = int(port) if port else None
        ucr = ConfigRegistry()
        ucr.load()
        if not self.port:
            self.port = int(ucr.get("ldap/server/port", 7389))
            if use_ldaps and self.port == 7389:
                self.port = 7636
        self.protocol = "ldaps" if use_ldaps else "ldap"
        if use_ldaps:
            self.uri = f"ldaps://{self.host}:{self.port}"
        elif uri:
            self.uri = uri
        else:
            self.uri = f"ldap://{self.host}:{self.port}"
        self.follow_referral = follow_referral
        if self.reconnect:
            self.lo: Any = ldap.ldapobject.ReconnectLDAPObject(
                self.uri, trace_stack_limit=None, retry_max=11, retry_delay=1
            )
        else:
            self.lo = ldap.initialize(self.uri, trace_stack_limit=None)
        if ca_certfile:
            self.lo.set_option(ldap.OPT_X_TLS_CACERTFILE, ca_certfile)
        if self.protocol.lower() != "ldaps":
            if self.start_tls == 1:
                with contextlib.suppress(ldap.LDAPError):
                    self.lo.start_tls_s()
            elif self.start_tls == 2:
                self.lo.start_tls_s()
        if self.binddn and not self.uri.startswith("ldapi://"):
            self.lo.simple_bind_s(self.binddn, self.bindpw)
        if self.follow_referral:
            self.lo.set_option(ldap.OPT_REFERRALS, 0)

    def bind(self, binddn: str, bindpw: str) -> None:
        """Bind (again) as ``binddn``: how UMC binds a connection as the logged-in user."""
        self.binddn = binddn
        self.bindpw = bindpw
        self.lo.simple_bind_s(self.binddn, self.bindpw)

    def get(self, dn: str, attr: list[str] = [], required: bool = False) -> dict[str, list[bytes]]:  # noqa: B006
        if dn:
            try:
                result = self.lo.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", attr)
            except ldap.NO_SUCH_OBJECT:
                result = []
            if result:
                return result[0][1]
        if required:
            raise ldap.NO_SUCH_OBJECT({"desc": "no object"})
        return {}

    def getAttr(self, dn: str, attr: str, required: bool = False) -> list[bytes]:
        if dn:
            try:
                result = self.lo.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", [attr])
            except ldap.NO_SUCH_OBJECT:
                result = []
            if result and attr in result[0][1]:
                return result[0][1][attr]
        if required:
            raise ldap.NO_SUCH_OBJECT({"desc": "no object"})
        return []

    def whoami(self) -> str:
        return re.sub("^dn:", "", self.lo.whoami_s())

    def unbind(self) -> None:
        self.lo.unbind_s()
