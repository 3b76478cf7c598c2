# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.admin.uldap`` (UDM's connection, what a UDM object's ``lo`` is).

Mirrors management/univention-directory-manager-modules/modules/univention/admin/uldap.py of
UCS 5.x: ``access(host, port, base, binddn, bindpw, start_tls=None, lo=None,
follow_referral=False, uri=None)`` wraps a ``univention.uldap.access`` (``self.lo``) and
delegates ``get(dn, attr=[], required=False, exceptions=False)``; ``base`` and ``binddn``
are properties of the wrapped connection. ``position`` keeps base and DN. Licence checks,
searches and writes are left out.
"""

from __future__ import annotations

import univention.uldap


class access:
    def __init__(  # noqa: PLR0917 - the original's signature
        self,
        host: str = "localhost",
        port: int | None = None,
        base: str = "",
        binddn: str = "",
        bindpw: str = "",
        start_tls: int | None = None,
        lo: univention.uldap.access | None = None,
        follow_referral: bool = False,
        uri: str | None = None,
    ) -> None:
        if lo:
            self.lo = lo
        else:
            self.lo = univention.uldap.access(
                host,
                port,
                base,
                binddn,
                bindpw,
                2 if start_tls is None else start_tls,
                uri=uri,
                follow_referral=follow_referral,
            )

    @property
    def binddn(self) -> str:
        return self.lo.binddn

    @property
    def base(self) -> str:
        return self.lo.base

    def get(
        self,
        dn: str,
        attr: list[str] = [],  # noqa: B006 - mirrors the original
        required: bool = False,
        exceptions: bool = False,
    ) -> dict[str, list[bytes]]:
        return self.lo.get(dn, attr, required)

    def getAttr(
        self,
        dn: str,
        attr: str,
        required: bool = False,
        exceptions: bool = False,
    ) -> list[bytes]:
        return self.lo.getAttr(dn, attr, required)


class position:
    def __init__(self, base: str, loginDomain: str = "") -> None:
        self.__base = base
        self.__dn = base
        self.__loginDomain = loginDomain or base

    def getBase(self) -> str:
        return self.__base

    def getDn(self) -> str:
        return self.__dn

    def setDn(self, dn: str) -> None:
        self.__dn = dn

    def getLoginDomain(self) -> str:
        return self.__loginDomain
