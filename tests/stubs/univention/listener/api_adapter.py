# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.listener.api_adapter.ListenerModuleAdapter``.

The real file (repository univention/univention-corporate-server):
management/univention-directory-listener/python/univention/listener/api_adapter.py

Mirrors the UCS 5.x original: the legacy module globals (name, description, filter,
attributes, handler, initialize, ...) and ``_handler(dn, new, old, command)``, which turns
the listener's calls into ``create``/``modify``/``remove`` of the handler (a rename, command
"r", is remembered and becomes the ``old_dn`` of the following modify). The asynchronous
variant is left out.
"""

from __future__ import annotations

import sys
from typing import Any


class ListenerModuleAdapter:
    def __init__(self, module_configuration: Any, *args: Any, **kwargs: Any) -> None:
        self.config = module_configuration
        self._ldap_cred: dict[str, str] = {}
        self._module_handler_obj: Any = None
        self._saved_old: Any = {}
        self._saved_old_dn: str | None = None
        self._rename = False
        self._renamed = False

    def get_globals(self) -> dict[str, Any]:
        active = self.config.get_active()
        return {
            "name": self.config.get_name(),
            "description": self.config.get_description(),
            "filter": self.config.get_ldap_filter() if active else "(listenerModule=deactivated)",
            "attributes": self.config.get_attributes(),
            "modrdn": 1,
            "handler": self._handler,
            "initialize": self._lazy_initialize,
            "clean": self._lazy_clean,
            "prerun": self._lazy_pre_run,
            "postrun": self._lazy_post_run,
            "setdata": self._setdata,
        }

    def _setdata(self, key: str, value: str) -> None:
        self._ldap_cred[key] = value
        if all(a in self._ldap_cred for a in ("basedn", "binddn", "bindpw", "ldapserver")):
            self._module_handler._set_ldap_credentials(
                self._ldap_cred["basedn"],
                self._ldap_cred["binddn"],
                self._ldap_cred["bindpw"],
                self._ldap_cred["ldapserver"],
            )

    @property
    def _module_handler(self) -> Any:
        if not self._module_handler_obj:
            self._module_handler_obj = self.config.get_listener_module_instance()
        return self._module_handler_obj

    def _handler(self, dn: str, new: Any, old: Any, command: str) -> None:
        if command == "r":
            self._saved_old = old
            self._saved_old_dn = dn
            self._rename = True
            self._renamed = False
            return
        if command == "a" and self._rename:
            old = self._saved_old
        try:
            if old and not new:
                self._module_handler.remove(dn, old)
            elif old and new:
                if self._renamed and not self._module_handler.diff(old, new):
                    self._rename = self._renamed = False
                    return
                self._module_handler.modify(
                    dn, old, new, self._saved_old_dn if self._rename else None
                )
                self._renamed = self._rename
                self._rename = False
                self._saved_old_dn = None
            elif not old and new:
                self._module_handler.create(dn, new)
        except Exception:
            exc_type, exc_value, exc_traceback = sys.exc_info()
            self._module_handler.error_handler(
                dn, old, new, command, exc_type, exc_value, exc_traceback
            )

    def _lazy_initialize(self) -> None:
        return self._module_handler.initialize()

    def _lazy_clean(self) -> None:
        return self._module_handler.clean()

    def _lazy_pre_run(self) -> None:
        return self._module_handler.pre_run()

    def _lazy_post_run(self) -> None:
        return self._module_handler.post_run()
