# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Where and as whom to reach the directory: command line options over UCS defaults.

On a UCS host nothing needs to be given: the Primary (UCR ``ldap/master``, StartTLS, as UCS's
own machine connection does), the base (``ldap/base``) and the machine account
(``ldap/hostdn`` with ``/etc/machine.secret``). Anywhere else, and in tests, the options say it.
"""

from __future__ import annotations

from dataclasses import dataclass

from libvirt_static_ids.directory import ucr
from libvirt_static_ids.directory.client import validate_dn, validate_uri
from libvirt_static_ids.errors import UsageError
from libvirt_static_ids.hostroot import HostRoot

MACHINE_SECRET_FILE = "etc/machine.secret"  # noqa: S105 - a path, not a password
DEFAULT_MASTER_PORT = "7389"


@dataclass(frozen=True)
class ConnectionParams:
    uri: str
    binddn: str
    password: str
    base: str
    starttls: bool
    host_dn: str | None  # UCR ldap/hostdn: this host's own object, if known


def _read_secret(path: str, option: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().rstrip("\n")
    except OSError as error:
        raise UsageError(
            f"{option} {path!r} cannot be read: {error.strerror}", option=option
        ) from error


def resolve(
    root: HostRoot,
    *,
    uri: str | None = None,
    binddn: str | None = None,
    bindpwdfile: str | None = None,
    base: str | None = None,
    starttls: bool = False,
) -> ConnectionParams:
    """Fill what the options leave open from UCR and the machine account; refuse what's missing."""
    values = ucr.load(root)
    if uri is not None:
        validate_uri(uri)
    else:
        master = values.get("ldap/master")
        if not master:
            raise UsageError("no LDAP server: give --ldap-uri (UCR ldap/master is not set)")
        port = values.get("ldap/master/port") or DEFAULT_MASTER_PORT
        if not port.isdigit():
            raise UsageError(f"UCR ldap/master/port {port!r} is not a port number")
        uri, starttls = f"ldap://{master}:{port}", True
    base = base if base is not None else values.get("ldap/base")
    if not base:
        raise UsageError("no LDAP base: give --base (UCR ldap/base is not set)", option="--base")
    validate_dn(base, "--base")
    host_dn = values.get("ldap/hostdn") or None
    if binddn is not None:
        validate_dn(binddn, "--binddn")
        if bindpwdfile is None:
            raise UsageError("--binddn needs --bindpwdfile FILE", option="--bindpwdfile")
        password = _read_secret(bindpwdfile, "--bindpwdfile")
    elif host_dn:
        binddn = host_dn
        password = _read_secret(bindpwdfile or root.join(MACHINE_SECRET_FILE), "--bindpwdfile")
    else:
        raise UsageError(
            "no account to bind as: give --binddn DN --bindpwdfile FILE "
            "(UCR ldap/hostdn is not set, so the machine account is unknown)",
            option="--binddn",
        )
    return ConnectionParams(uri, binddn, password, base, starttls, host_dn)
