# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Local accounts under a root: look them up, renumber them with the real shadow tools.

The files are read directly (never through NSS): a UCS host sees thousands of LDAP users
through NSS, and under a fake root NSS would answer for the wrong system. The reading itself,
strict and with every defect kept, is account_database.py's.
"""

from __future__ import annotations

import shutil
import subprocess

from libvirt_static_ids.errors import OperationFailed
from libvirt_static_ids.host import account_database
from libvirt_static_ids.host.account_database import Group, User
from libvirt_static_ids.hostroot import HostRoot


def users(root: HostRoot) -> list[User]:
    return list(account_database.read(root).users)


def groups(root: HostRoot) -> list[Group]:
    return list(account_database.read(root).groups)


def find_user(root: HostRoot, name: str) -> User | None:
    return account_database.read(root).find_user(name)


def find_group(root: HostRoot, name: str) -> Group | None:
    return account_database.read(root).find_group(name)


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise OperationFailed(
            f"{' '.join(argv)} failed with exit {result.returncode}: {result.stderr.strip()}",
            command=argv,
            exit=result.returncode,
        )


def _prefix(root: HostRoot) -> list[str]:
    # --prefix makes shadow edit ROOT/etc/* (and skips its own busy check: ours runs first).
    return [] if root.is_live else ["--prefix", root.path]


def renumber_user_command(root: HostRoot, name: str, uid: int) -> list[str]:
    return ["usermod", *_prefix(root), "-u", str(uid), name]


def renumber_group_command(root: HostRoot, name: str, gid: int) -> list[str]:
    return ["groupmod", *_prefix(root), "-g", str(gid), name]


def renumber_user(root: HostRoot, name: str, uid: int) -> None:
    _run(renumber_user_command(root, name, uid))


def renumber_group(root: HostRoot, name: str, gid: int) -> None:
    _run(renumber_group_command(root, name, gid))


def flush_name_caches(root: HostRoot) -> list[str]:
    """Invalidate nscd's passwd and group caches on a live host; return what ran."""
    nscd = shutil.which("nscd")
    if not root.is_live or nscd is None:
        return []
    ran = []
    for table in ("passwd", "group"):
        subprocess.run([nscd, "-i", table], capture_output=True, check=False)
        ran.append(f"nscd -i {table}")
    return ran


def installed_version(root: HostRoot, package: str) -> str | None:
    """The version dpkg records for ``package`` under the root, if any."""
    try:
        with open(root.join("var/lib/dpkg/status"), encoding="utf-8", errors="replace") as f:
            stanzas = f.read().split("\n\n")
    except FileNotFoundError:
        return None
    for stanza in stanzas:
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Package") == package and "installed" in fields.get("Status", ""):
            return fields.get("Version")
    return None
