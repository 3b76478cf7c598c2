# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Which directory changes would hand the target numbers to another object, and what to say.

UDM's allocator never picks 64055, but an admin or an import can set it by hand and UDM
only checks uniqueness; the UDM hook asks this module, so the rule lives in the core.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from libvirt_static_ids.directory.client import Settings

# UDM module (or module family) -> (LDAP attribute, which target number it must not take)
_RESERVED = {
    "users/user": ("uidNumber", "uid"),
    "groups/group": ("gidNumber", "gid"),
    "computers/": ("uidNumber", "uid"),
}


def reserved_attribute(module: str) -> tuple[str, str] | None:
    """(attribute, "uid"|"gid") this UDM module must keep off the target, or None."""
    if module in _RESERVED:
        return _RESERVED[module]
    if module.startswith("computers/"):
        return _RESERVED["computers/"]
    return None


def message(module: str, attribute: str, number: int, settings: Settings) -> str:
    which = "UID" if attribute == "uidNumber" else "GID"
    group = "" if which == "UID" else " group"
    return (
        f"{attribute} {number} is reserved: it is the static {which} of the libvirt-qemu"
        f"{group} on every KVM host of this domain (libvirt-static-ids), and a {module} object "
        f"holding it would own the virtual machines' disk images on shared storage. "
        f"Choose another number. The reserved numbers are set in {settings.dn}."
    )


def _numbers(values: Any) -> Iterable[int]:
    if values is None:
        return []
    if isinstance(values, (bytes, str, int)):
        values = [values]
    found = []
    for value in values:
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        if text.strip().isdigit():
            found.append(int(text))
    return found


def refusal(module: str, attribute: str, values: Any, settings: Settings) -> str | None:
    """The refusal message if ``attribute`` of a ``module`` object would take a target number."""
    reserved = reserved_attribute(module)
    if reserved is None or reserved[0].lower() != attribute.lower():
        return None
    target = settings.target.uid if reserved[1] == "uid" else settings.target.gid
    if target in _numbers(values):
        return message(module, reserved[0], target, settings)
    return None


def check_modlist(
    module: str, modlist: Sequence[Sequence[Any]], settings: Settings
) -> tuple[str, str] | None:
    """(attribute, refusal) for a UDM add/modify list of (attr, new) or (attr, old, new)."""
    for item in modlist:
        if len(item) < 2:
            continue
        found = refusal(module, str(item[0]), item[-1], settings)
        if found:
            return str(item[0]), found
    return None
