# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""UDM hook: keep the domain's libvirt-qemu numbers (default 64055:64055) off other objects.

UDM's allocator never picks them, but an admin or an import can set them by hand, and an
account holding them would own every VM image on shared storage. Distributed with
``ucs_registerLDAPExtension --udm_hook``; UDM runs ``LibvirtStaticIdsReserve`` for users/user,
groups/group and computers/* through extended attributes naming ``hook=LibvirtStaticIdsReserve``.

UDM loads hooks on every UCS system, also where the app is not installed. So the file UDM
gets is assembled (udm-hooks/assemble.py): the rule, libvirt_static_ids/directory/reservation.py,
replaces the import between the two markers below, and the result imports nothing but the
standard library, ``ldap`` and ``univention.admin`` (a test loads it where the core cannot be
imported, the way UDM 5.2 loads hooks).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import ldap
import ldap.dn
import univention.admin.uexceptions
from univention.admin.hook import simpleHook

# >>> the rule: udm-hooks/assemble.py puts libvirt_static_ids/directory/reservation.py here
from libvirt_static_ids.directory.reservation import (
    DEFAULT_TARGET,
    SETTINGS_NAME,
    TARGET_ATTRIBUTES,
    first_refusal,
    refusal,
    reserved_attribute,
    target_from_entry,
)

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
