# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""UDM hook: keep the domain's libvirt-qemu numbers (default 64055:64055) off other objects.

UDM's allocator never picks them, but an admin or an import can set them by hand, and an
account holding them would own every VM image on shared storage. Distributed with
``ucs_registerLDAPExtension --udm_hook``; UDM executes it inside univention.admin.hook and
runs ``LibvirtStaticIdsReserve`` for users/user, groups/group and computers/* through
extended attributes naming ``hook=LibvirtStaticIdsReserve``. The rule is in the core
(libvirt_static_ids.directory.reservation); this file only asks it.
"""

from __future__ import annotations

from typing import Any

import ldap
import univention.admin.uexceptions
from univention.admin.hook import simpleHook

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import reservation


class LibvirtStaticIdsReserve(simpleHook):
    """Refuses uidNumber/gidNumber equal to the target, on create and on modify."""

    type = "LibvirtStaticIdsReserve"
    # Read from LDAP once per process (UDM CLI call, UMC module process): no request per call.
    _settings: directory.Settings | None = None

    def _target(self, obj: Any) -> directory.Settings:
        cls = type(self)
        if cls._settings is None:
            dn = directory.settings_dn(obj.lo.base)
            try:
                entry = obj.lo.get(dn, attr=[directory.TARGET_UID, directory.TARGET_GID])
            except ldap.LDAPError:
                # Unreadable now: protect the default numbers, and ask again next time.
                return directory.settings_from_entry(dn, None)
            cls._settings = directory.settings_from_entry(dn, entry or None)
        return cls._settings

    def _refuse(self, refusal: str | None, attribute: str) -> None:
        if refusal:
            raise univention.admin.uexceptions.valueError(refusal, property=attribute)

    def _check_property(self, obj: Any, *, created: bool) -> None:
        reserved = reservation.reserved_attribute(obj.module)
        if reserved is None:
            return
        attribute = reserved[0]
        value = obj.info.get(attribute)
        if value is None or (not created and not obj.hasChanged(attribute)):
            return
        settings = self._target(obj)
        self._refuse(reservation.refusal(obj.module, attribute, value, settings), attribute)

    def _check_list(self, obj: Any, changes: list[Any]) -> None:
        if reservation.reserved_attribute(obj.module) is None:
            return
        found = reservation.check_modlist(obj.module, changes, self._target(obj))
        if found:
            self._refuse(found[1], found[0])

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
