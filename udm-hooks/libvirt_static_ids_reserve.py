# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""UDM hook: keep the domain's libvirt-qemu numbers (default 64055:64055) off other objects.

UDM's allocator never picks them, but an admin or an import can set them by hand, and an
account holding them would own every VM image on shared storage. Distributed with
``ucs_registerLDAPExtension --udm_hook``; UDM runs ``LibvirtStaticIdsReserve`` for users/user,
groups/group and computers/* through extended attributes naming ``hook=LibvirtStaticIdsReserve``.

UDM loads hooks on every UCS system, also where the app is not installed. So this file
imports nothing but the standard library, ``ldap`` and ``univention.admin``: between the two
markers below it carries a verbatim copy of the rule, libvirt_static_ids/directory/reservation.py,
refreshed by udm-hooks/assemble.py (a test fails while the copy differs, and one loads this
file where the core cannot be imported, the way UDM 5.2 loads hooks).
"""

from __future__ import annotations

import time

import ldap
import ldap.dn
import univention.admin.uexceptions
from univention.admin.hook import simpleHook

# >>> the rule: a copy of libvirt_static_ids/directory/reservation.py (udm-hooks/assemble.py)
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


# <<< the rule


class LibvirtStaticIdsReserve(simpleHook):
    """Refuses uidNumber/gidNumber equal to the target, on create and on modify."""

    type = "LibvirtStaticIdsReserve"
    # A UDM process (a UMC module's lives long) reads the settings object at most once per
    # ``ttl`` seconds: a changed target is guarded within that time, and the permanent
    # allocator locks `settings set` moves guard the new pair from the first moment.
    ttl = 10.0
    _read: tuple[float, dict[str, int]] | None = None

    def _settings_dn(self, obj: Any) -> str:
        return f"cn={ldap.dn.escape_dn_chars(SETTINGS_NAME)},cn=univention,{obj.lo.base}"

    def _target(self, obj: Any) -> dict[str, int]:
        cls = type(self)
        now = time.monotonic()
        if cls._read is not None and now - cls._read[0] < cls.ttl:
            return cls._read[1]
        try:
            entry = obj.lo.get(self._settings_dn(obj), attr=list(TARGET_ATTRIBUTES.values()))
        except ldap.LDAPError:
            # Unreadable now: keep guarding what was read last (or the defaults), ask again.
            return cls._read[1] if cls._read is not None else dict(DEFAULT_TARGET)
        cls._read = (now, target_from_entry(entry or None))
        return cls._read[1]

    def _check_property(self, obj: Any, *, created: bool) -> None:
        reserved = reserved_attribute(obj.module)
        if reserved is None:
            return
        attribute = reserved[0]
        value = obj.info.get(attribute)
        if value is None or (not created and not obj.hasChanged(attribute)):
            return
        found = refusal(obj.module, attribute, value, self._target(obj), self._settings_dn(obj))
        if found:
            raise univention.admin.uexceptions.valueError(found, property=attribute)

    def _check_list(self, obj: Any, changes: Sequence[Sequence[Any]]) -> None:
        if reserved_attribute(obj.module) is None:
            return
        found = first_refusal(obj.module, changes, self._target(obj), self._settings_dn(obj))
        if found:
            raise univention.admin.uexceptions.valueError(found[1], property=found[0])

    def hook_ldap_pre_create(self, obj: Any) -> None:
        self._check_property(obj, created=True)

    def hook_ldap_pre_modify(self, obj: Any) -> None:
        self._check_property(obj, created=False)

    # The LDAP-level lists catch numbers that are no UDM property (computers) or are set late.
    def hook_ldap_addlist(self, obj: Any, al: list[Any] = []) -> list[Any]:  # noqa: B006
        self._check_list(obj, al)
        return al

    def hook_ldap_modlist(self, obj: Any, ml: list[Any] = []) -> list[Any]:  # noqa: B006
        self._check_list(obj, ml)
        return ml
