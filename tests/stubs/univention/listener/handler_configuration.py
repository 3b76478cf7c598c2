# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.listener.handler_configuration``.

Mirrors management/univention-directory-listener/python/univention/listener/
handler_configuration.py of UCS 5.x: class attributes (name, description, ldap_filter,
listener_module_class, attributes), ``get_<attribute>()`` accessors, the mandatory-attribute
and name checks, ``get_listener_module_instance()`` and ``get_active()`` (UCR
``listener/module/<name>/deactivate``).
"""

from __future__ import annotations

import inspect
import string
from typing import Any

import listener

from .exceptions import ListenerModuleConfigurationError
from .handler_logging import get_logger

listener.configRegistry.load()


class ListenerModuleConfiguration:
    name = ""
    description = ""
    ldap_filter = ""
    listener_module_class: Any = None
    attributes: list[str] = []  # noqa: RUF012 - mirrors the original

    _mandatory_attributes = ("description", "ldap_filter", "listener_module_class")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        keys = self.get_configuration_keys()
        for key in list(kwargs):
            if key in keys:
                setattr(self, key, kwargs.pop(key))
        self.logger = get_logger(self.get_name())
        self._run_checks()

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(name={self.get_name()!r})"

    def _run_checks(self) -> None:
        allowed_name_chars = string.ascii_letters + string.digits + ",.-_"
        for attr in self._mandatory_attributes:
            if not getattr(self, f"get_{attr}", lambda: "")() and not getattr(self, attr, ""):
                raise ListenerModuleConfigurationError(
                    f"Missing or empty {attr!r} attribute in configuration."
                )
        if set(self.get_name()) - set(allowed_name_chars):
            raise ListenerModuleConfigurationError(
                f'The "name" of a listener module may only contain: {allowed_name_chars!r}'
            )
        if not inspect.isclass(self.get_listener_module_class()):
            raise ListenerModuleConfigurationError(
                'Attribute "listener_module_class" must be a class.'
            )

    @classmethod
    def get_configuration_keys(cls) -> list[str]:
        return ["attributes", "description", "ldap_filter", "listener_module_class", "name"]

    def get_name(self) -> str:
        return self.name

    def get_description(self) -> str:
        return self.description

    def get_ldap_filter(self) -> str:
        return self.ldap_filter

    def get_attributes(self) -> list[str]:
        assert isinstance(self.attributes, list)
        return self.attributes

    def get_priority(self) -> float:
        return float(getattr(self, "priority", 50.0))

    def get_listener_module_instance(self, *args: Any, **kwargs: Any) -> Any:
        cls = self.get_listener_module_class()
        return cls(*args, **kwargs)

    def get_listener_module_class(self) -> Any:
        return self.listener_module_class

    def get_active(self) -> bool:
        return not listener.configRegistry.is_true(
            f"listener/module/{self.get_name()}/deactivate", False
        )
