# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""UDM hook: keep the domain's libvirt-qemu numbers (default 64055:64055) off other objects.

UDM's allocator never picks them, but an admin or an import can set them by hand, and an
account holding them would own every VM image on shared storage. Distributed with
``ucs_registerLDAPExtension --udm_hook``; UDM executes it inside univention.admin.hook and
runs ``LibvirtStaticIdsReserve`` for users/user, groups/group and computers/* through
extended attributes naming ``hook=LibvirtStaticIdsReserve``.

UDM loads hooks on every UCS system, also where the app is not installed: this file imports
nothing but the standard library, ``ldap`` and ``univention.admin`` (a test checks it). The
LDAP names are the ones fixed in DESIGN.md, which the core uses too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import ldap
import ldap.dn
import univention.admin.uexceptions
from univention.admin.hook import simpleHook

DEFAULT_TARGET = {"uid": 64055, "gid": 64055}
SETTINGS_NAME = "libvirt-static-ids"
TARGET_ATTRIBUTES = {"uid": "libvirtStaticIdsTargetUid", "gid": "libvirtStaticIdsTargetGid"}
_MAX_ID = 4294967294
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


def target_from_entry(entry: dict[str, list[bytes]] | None) -> dict[str, int]:
    """The target numbers the settings object holds; a missing or bad value keeps the default."""
    target = dict(DEFAULT_TARGET)
    for which, attribute in TARGET_ATTRIBUTES.items():
        values = next((v for k, v in (entry or {}).items() if k.lower() == attribute.lower()), [])
        numbers = list(_numbers(values[:1]))
        if numbers and 0 <= numbers[0] <= _MAX_ID:
            target[which] = numbers[0]
    return target


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
    module: str, attribute: str, values: Any, target: dict[str, int], settings_dn: str
) -> str | None:
    """The refusal message if ``attribute`` of a ``module`` object would take a target number."""
    reserved = reserved_attribute(module)
    if reserved is None or reserved[0].lower() != attribute.lower():
        return None
    number = target[reserved[1]]
    if number in _numbers(values):
        return message(module, reserved[0], number, settings_dn)
    return None


class LibvirtStaticIdsReserve(simpleHook):
    """Refuses uidNumber/gidNumber equal to the target, on create and on modify."""

    type = "LibvirtStaticIdsReserve"
    # Read from LDAP once per process (UDM CLI call, UMC module process): no request per call.
    _target_read: dict[str, int] | None = None

    def _settings_dn(self, obj: Any) -> str:
        return f"cn={ldap.dn.escape_dn_chars(SETTINGS_NAME)},cn=univention,{obj.lo.base}"

    def _target(self, obj: Any) -> dict[str, int]:
        cls = type(self)
        if cls._target_read is None:
            try:
                entry = obj.lo.get(self._settings_dn(obj), attr=list(TARGET_ATTRIBUTES.values()))
            except ldap.LDAPError:
                return dict(DEFAULT_TARGET)  # unreadable now: protect the defaults, ask again
            cls._target_read = target_from_entry(entry or None)
        return cls._target_read

    def _refuse(self, found: str | None, attribute: str) -> None:
        if found:
            raise univention.admin.uexceptions.valueError(found, property=attribute)

    def _check_property(self, obj: Any, *, created: bool) -> None:
        reserved = reserved_attribute(obj.module)
        if reserved is None:
            return
        attribute = reserved[0]
        value = obj.info.get(attribute)
        if value is None or (not created and not obj.hasChanged(attribute)):
            return
        found = refusal(obj.module, attribute, value, self._target(obj), self._settings_dn(obj))
        self._refuse(found, attribute)

    def _check_list(self, obj: Any, changes: Sequence[Sequence[Any]]) -> None:
        """A UDM add/modify list of (attr, new) or (attr, old, new)."""
        if reserved_attribute(obj.module) is None:
            return
        target, dn = self._target(obj), self._settings_dn(obj)
        for item in changes:
            if len(item) < 2:
                continue
            found = refusal(obj.module, str(item[0]), item[-1], target, dn)
            if found:
                self._refuse(found, str(item[0]))
                return

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
