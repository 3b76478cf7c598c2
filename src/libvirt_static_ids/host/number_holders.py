# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Who else holds a UID or GID: local entries, NIS ``+`` lines, and NSS on a live root.

A number libvirt-qemu shares with another account cannot be remapped (that account's files
would move to libvirt-qemu) nor handed back by a rollback. On a live root NSS is asked service
by service (``getent -s``), past ``files``: through the whole chain the local libvirt-qemu
entry answers first and hides a directory user with the same number.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from libvirt_static_ids.host.account_database import AccountDatabase
from libvirt_static_ids.hostroot import HostRoot


class Database(StrEnum):
    """The NSS database (and ``getent`` argument) a number is looked up in."""

    USERS = "passwd"
    GROUPS = "group"


@dataclass(frozen=True)
class Holder:
    name: str
    where: str  # "local account", "NIS line etc/passwd line 4", "NSS service ldap"


def holders(
    root: HostRoot, db: AccountDatabase, database: Database, number: int, *, besides: str
) -> list[Holder]:
    """Every entry but ``besides`` holding ``number``; NSS only on the live root."""
    if database == Database.USERS:
        local = [(u.name, u.uid) for u in db.users]
        nis = db.nis_users
        kind = "local account"
    else:
        local = [(g.name, g.gid) for g in db.groups]
        nis = db.nis_groups
        kind = "local group"
    found = [Holder(name, kind) for name, held in local if held == number and name != besides]
    found += [Holder(e.name, f"NIS {e.where}") for e in nis if e.number == number]
    if root.is_live:
        found += [
            holder
            for holder in nss_holders(nss_services(root, database), database, number)
            if holder.name != besides
        ]
    return found


def nss_services(root: HostRoot, database: Database) -> list[str]:
    """The services of ``database`` in nsswitch.conf other than files (compat's own too)."""
    lines: dict[str, list[str]] = {}
    try:
        with open(root.join("etc/nsswitch.conf"), encoding="utf-8", errors="replace") as handle:
            for raw in handle:
                key, colon, value = raw.split("#", 1)[0].partition(":")
                if colon:
                    lines[key.strip()] = [w for w in value.split() if not w.startswith("[")]
    except FileNotFoundError:
        return []  # glibc's default is files alone
    services = []
    for service in lines.get(database, []):
        if service == "compat":  # +/- lines are answered by passwd_compat's service, nis by default
            services += lines.get(f"{database}_compat", ["nis"])
        elif service != "files":
            services.append(service)
    return list(dict.fromkeys(services))


def nss_holders(services: Sequence[str], database: Database, number: int) -> list[Holder]:
    """Who each NSS service says holds ``number`` (a service that cannot answer says none)."""
    found = []
    for service in services:
        done = subprocess.run(
            ["getent", "-s", service, str(database), str(number)],
            capture_output=True,
            text=True,
            errors="surrogateescape",
            check=False,
        )
        found += [
            Holder(line.split(":", 1)[0], f"NSS service {service}")
            for line in done.stdout.splitlines()
            if line
        ]
    return found
