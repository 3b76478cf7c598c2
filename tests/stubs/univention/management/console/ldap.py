# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.ldap`` (the user's LDAP connection).

Real file (univention/univention-corporate-server):
management/univention-management-console/src/univention/management/console/ldap.py

Mirrors the UCS 5.x module's ``get_user_connection(bind=None, write=True, ...)``: it reads
UCR once at import (``ldap/master`` and ``ldap/master/port`` when writing, else
``ldap/server/name`` and ``ldap/server/port``, default port 7389, ``ldap/base``), opens a
``univention.admin.uldap.access`` without credentials, lets ``bind`` bind it, and returns
it with a ``position`` at the base. Left out: the connection cache (every call opens a new
connection), and the machine, admin and backup connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from univention.admin.uldap import access, position
from univention.config_registry import ConfigRegistry

_ucr = ConfigRegistry()
_ucr.load()

__all__ = ("get_user_connection",)


def get_user_connection(
    bind: Callable[[access], None] | None = None,
    write: bool = True,
    no_cache: bool = False,
    **kwargs: Any,
) -> tuple[access, position]:
    host = _ucr.get("ldap/master" if write else "ldap/server/name")
    port = int(_ucr.get("ldap/master/port" if write else "ldap/server/port", "7389"))
    base = _ucr.get("ldap/base")
    lo = access(host=host, port=port, base=base, **kwargs)
    if bind is not None:
        bind(lo)
    return lo, position(lo.base)
