# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The reservation rule: which object may not take which target number, and why.

One rule for both sides: the core's survey and settings classify holders with it, and the
UDM hook refuses with it. The hook runs on every UCS system, also where this package is not
installed, so the shipped hook file carries this module's code verbatim (udm-hooks/assemble.py
inserts it): this module imports nothing but the standard library, and names nothing of the
package (a test checks both).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DEFAULT_TARGET = {"uid": 64055, "gid": 64055}
SETTINGS_NAME = "libvirt-static-ids"
TARGET_ATTRIBUTES = {"uid": "libvirtStaticIdsTargetUid", "gid": "libvirtStaticIdsTargetGid"}
MAX_ID = 4294967294
# UDM module (or module family, ending in "/") -> (LDAP attribute, which target number it must
# not take). "user", "group" and "computer" are objects without univentionObjectType, as the
# core's survey classifies them by object class.
RESERVED = {
    "users/user": ("uidNumber", "uid"),
    "groups/group": ("gidNumber", "gid"),
    "computers/": ("uidNumber", "uid"),
    "user": ("uidNumber", "uid"),
    "group": ("gidNumber", "gid"),
    "computer": ("uidNumber", "uid"),
}


def reserved_attribute(module: str) -> tuple[str, str] | None:
    """(attribute, "uid"|"gid") this kind of object must keep off the target, or None."""
    if module in RESERVED:
        return RESERVED[module]
    if module.startswith("computers/"):
        return RESERVED["computers/"]
    return None


def numbers(values: Any) -> list[int]:
    """The decimal numbers among UDM/LDAP values (str, bytes, int, or a list of them)."""
    if values is None:
        return []
    if isinstance(values, bytes | str | int):
        values = [values]
    found = []
    for value in values:
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        if text.strip().isdigit():
            found.append(int(text))
    return found


def target_from_entry(entry: Mapping[str, Sequence[bytes]] | None) -> dict[str, int]:
    """The target numbers the settings object holds; a missing or bad value keeps the default."""
    target = dict(DEFAULT_TARGET)
    for which, attribute in TARGET_ATTRIBUTES.items():
        values = next((v for k, v in (entry or {}).items() if k.lower() == attribute.lower()), [])
        found = numbers(list(values)[:1])
        if found and 0 <= found[0] <= MAX_ID:
            target[which] = found[0]
    return target


def blocked(
    module: str, uid_number: int | None, gid_number: int | None, target: Mapping[str, int]
) -> str | None:
    """ "uid" or "gid" if an object of this kind holding these numbers takes a target number."""
    reserved = reserved_attribute(module)
    if reserved is None:
        return None
    number = uid_number if reserved[0] == "uidNumber" else gid_number
    return reserved[1] if number == target[reserved[1]] else None


def message(module: str, attribute: str, number: int, settings_dn: str) -> str:
    which = "UID" if attribute == "uidNumber" else "GID"
    group = "" if which == "UID" else " group"
    return (
        f"{attribute} {number} is reserved: it is the static {which} of the libvirt-qemu"
        f"{group} on every KVM host of this domain (libvirt-static-ids), and a {module} object "
        f"holding it would own the virtual machines' disk images on shared storage. "
        f"Choose another number. The reserved numbers are set in {settings_dn}."
    )


def refusal(
    module: str, attribute: str, values: Any, target: Mapping[str, int], settings_dn: str
) -> str | None:
    """The refusal message if ``attribute`` of a ``module`` object would take a target number."""
    reserved = reserved_attribute(module)
    if reserved is None or reserved[0].lower() != attribute.lower():
        return None
    number = target[reserved[1]]
    if number in numbers(values):
        return message(module, reserved[0], number, settings_dn)
    return None


def first_refusal(
    module: str, changes: Iterable[Sequence[Any]], target: Mapping[str, int], settings_dn: str
) -> tuple[str, str] | None:
    """(attribute, message) of the first item of a UDM add/modify list that takes a target
    number; items are (attr, new) or (attr, old, new)."""
    for item in changes:
        if len(item) < 2:
            continue
        found = refusal(module, str(item[0]), item[-1], target, settings_dn)
        if found:
            return str(item[0]), found
    return None
