# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.listener.handler.ListenerModuleHandler``.

Mirrors management/univention-directory-listener/python/univention/listener/handler.py of
UCS 5.x: the metaclass configures a module only when its file lies under
/usr/lib/univention-directory-listener (in tests the harness calls ``_get_configuration``
itself, as the listener's loader would have); ``create``/``modify``/``remove``/
``initialize``/``clean``/``pre_run``/``post_run`` do nothing until overridden; ``as_root()``
seteuid(0)s through ``listener.setuid`` only when not root already; ``diff``; ``ucr`` is
``listener.configRegistry``; ``lo`` is a ``univention.admin.uldap.access`` built from the
credentials the listener passes with ``setdata``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import listener

from univention.admin.uldap import access, position

from .api_adapter import ListenerModuleAdapter
from .exceptions import ListenerModuleConfigurationError, ListenerModuleRuntimeError
from .handler_configuration import ListenerModuleConfiguration
from .handler_logging import get_logger

listener.configRegistry.load()


class HandlerMetaClass(type):
    def __new__(mcs, clsname: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        kls: Any = super().__new__(mcs, clsname, bases, attrs)
        is_listener_module = getattr(kls, "_is_listener_module", lambda: False)
        if is_listener_module():
            lm_module = inspect.getmodule(kls)
            assert lm_module is not None
            name = os.path.basename(lm_module.__name__).split(".")[0]
            kls.config = kls._get_configuration(name)
            for key, value in kls._adapter_class(kls.config).get_globals().items():
                setattr(lm_module, key, value)
        return kls


class ListenerModuleHandler(metaclass=HandlerMetaClass):
    _metadata_attributes = (
        "createTimestamp",
        "creatorsName",
        "entryCSN",
        "entryDN",
        "entryUUID",
        "hasSubordinates",
        "modifiersName",
        "modifyTimestamp",
        "structuralObjectClass",
        "subschemaSubentry",
    )
    _configuration_class = ListenerModuleConfiguration
    _adapter_class = ListenerModuleAdapter
    config: Any = None
    ucr = listener.configRegistry

    class Configuration(ListenerModuleConfiguration):
        pass

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not self.config:
            raise ListenerModuleConfigurationError(
                f"{self.__class__.__name__}.config was not set by meta class."
            )
        self.logger = get_logger(self.config.get_name())
        self.ucr.load()
        self._lo: Any = None
        self._po: Any = None
        self._ldap_credentials: dict[str, str] | None = None
        if not self.config.get_active():
            self.logger.warning("Listener module %r deactivated.", self.config.get_name())

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.config.name})"

    def create(self, dn: str, new: Mapping[str, Sequence[bytes]]) -> None:
        pass

    def modify(
        self,
        dn: str,
        old: Mapping[str, Sequence[bytes]],
        new: Mapping[str, Sequence[bytes]],
        old_dn: str | None,
    ) -> None:
        pass

    def remove(self, dn: str, old: Mapping[str, Sequence[bytes]]) -> None:
        pass

    def initialize(self) -> None:
        pass

    def clean(self) -> None:
        pass

    def pre_run(self) -> None:
        pass

    def post_run(self) -> None:
        pass

    @staticmethod
    @contextmanager
    def as_root() -> Iterator[None]:
        old_uid = os.geteuid()
        try:
            if old_uid != 0:
                listener.setuid(0)
            yield
        finally:
            if old_uid != 0:
                listener.unsetuid()

    @classmethod
    def diff(
        cls,
        old: Mapping[str, Sequence[bytes]],
        new: Mapping[str, Sequence[bytes]],
        keys: Iterable[str] | None = None,
        ignore_metadata: bool = True,
    ) -> dict[str, tuple[Any, Any]]:
        res = {}
        if keys:
            keys = set(keys)
        else:
            keys = set(old) | set(new)
            if ignore_metadata:
                keys.difference_update(cls._metadata_attributes)
        for key in keys:
            if set(old.get(key, [])) != set(new.get(key, [])):
                res[key] = old.get(key), new.get(key)
        return res

    def error_handler(  # noqa: PLR0917 - the original's signature
        self,
        dn: str,
        old: Any,
        new: Any,
        command: str,
        exc_type: Any,
        exc_value: Any,
        exc_traceback: Any,
    ) -> None:
        self.logger.exception("dn=%r command=%r\n    old=%r\n    new=%r", dn, command, old, new)
        raise exc_value.with_traceback(exc_traceback)

    @property
    def lo(self) -> access:
        if not self._lo:
            if not self._ldap_credentials:
                raise ListenerModuleRuntimeError(
                    f"LDAP connection of listener module {self.config.get_name()!r} has not "
                    "yet been initialized."
                )
            credentials = self._ldap_credentials
            self._lo = access(
                host=credentials["host"],
                base=credentials["base"],
                binddn=credentials["binddn"],
                bindpw=credentials["bindpw"],
            )
        return self._lo

    @property
    def po(self) -> position:
        if not self._po:
            self._po = position(self.lo.base)
        return self._po

    def _set_ldap_credentials(self, base: str, binddn: str, bindpw: str, host: str) -> None:
        old = self._ldap_credentials
        self._ldap_credentials = {"host": host, "base": base, "binddn": binddn, "bindpw": bindpw}
        if old != self._ldap_credentials:
            self._lo = self._po = None

    @classmethod
    def _get_configuration(cls, name: str) -> ListenerModuleConfiguration:
        try:
            conf_class = cls.Configuration
        except AttributeError as error:
            raise ListenerModuleConfigurationError(
                f'Class {cls.__name__!r} missing inner "Configuration" class.'
            ) from error
        if not inspect.isclass(conf_class):
            raise ListenerModuleConfigurationError(
                f"{cls.__name__!s}.Configuration must be a class."
            )
        if conf_class is ListenerModuleHandler.Configuration:
            raise ListenerModuleConfigurationError(f"Missing {cls.__name__!s}.Configuration class.")
        if issubclass(conf_class, cls._configuration_class):
            conf_class.listener_module_class = cls
            conf_class.name = name
            return conf_class()
        conf_class.name = name
        conf_obj = conf_class()
        kwargs: dict[str, Any] = {"listener_module_class": cls}
        for attr in cls._configuration_class.get_configuration_keys():
            getter = getattr(conf_obj, f"get_{attr}", None)
            if callable(getter):
                kwargs[attr] = getter()
            elif hasattr(conf_obj, attr):
                kwargs[attr] = getattr(conf_obj, attr)
        return cls._configuration_class(**kwargs)

    @classmethod
    def _is_listener_module(cls) -> bool:
        try:
            path = inspect.getfile(cls)
        except TypeError:
            return False
        return path.startswith("/usr/lib/univention-directory-listener")
