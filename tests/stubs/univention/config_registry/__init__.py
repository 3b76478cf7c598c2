# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.config_registry`` (read-only subset).

Mirrors base/univention-config-registry/python/univention/config_registry/backend.py of UCS
5.x: ``ConfigRegistry(filename="", write_registry=NORMAL)``, layers in the priority order
custom > forced > schedule > ldap > normal > defaults, ``UNIVENTION_BASECONF`` (or
``filename``) naming a custom file that replaces every other layer, ``key: value`` lines,
``ucr[key]`` returning None for unset keys. Left out: writing, locking, and the creation of
missing layer files the original does in ``__init__``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["ConfigRegistry"]


class _ConfigRegistry(dict):
    """One layer: a text file of ``key: value`` lines."""

    RE_COMMENT = re.compile(r"^[^:]*#.*$")

    def __init__(self, filename: str) -> None:
        dict.__init__(self)
        self.file = filename

    def load(self) -> None:
        new: dict[str, str] = {}
        for fn in (self.file, self.file + ".bak"):
            try:
                with open(fn, encoding="utf-8") as reg_file:
                    lines = reg_file.read().splitlines(keepends=True)
            except OSError:
                continue
            if len(lines) < 2:
                continue
            for line in lines:
                stripped = self.RE_COMMENT.sub("", line)
                if ": " not in stripped:
                    continue
                key, value = stripped.split(": ", 1)
                new[key] = value.strip()
            break
        self.clear()
        self.update(new)


class ConfigRegistry(Mapping):
    DEFAULTS, NORMAL, LDAP, SCHEDULE, FORCED, CUSTOM = range(6)
    LAYER_PRIORITIES = (CUSTOM, FORCED, SCHEDULE, LDAP, NORMAL, DEFAULTS)
    PREFIX = "/etc/univention"
    BASES = {  # noqa: RUF012 - mirrors the original
        NORMAL: "base.conf",
        LDAP: "base-ldap.conf",
        SCHEDULE: "base-schedule.conf",
        FORCED: "base-forced.conf",
        DEFAULTS: "base-defaults.conf",
    }

    def __init__(self, filename: str = "", write_registry: int = NORMAL) -> None:
        custom = os.getenv("UNIVENTION_BASECONF") or filename
        self.scope = self.CUSTOM if custom else write_registry
        self._registry: dict[int, _ConfigRegistry] = {}
        for reg in self.LAYER_PRIORITIES:
            if reg == self.CUSTOM:
                self._registry[reg] = _ConfigRegistry(custom if custom else os.devnull)
            else:
                path = os.devnull if custom else os.path.join(self.PREFIX, self.BASES[reg])
                self._registry[reg] = _ConfigRegistry(path)

    def load(self, autoload: Any = None) -> ConfigRegistry:
        for registry in self._registry.values():
            registry.load()
        return self

    def _merge(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for reg in self.LAYER_PRIORITIES:
            for key, value in self._registry[reg].items():
                merged.setdefault(key, value)
        return merged

    def __getitem__(self, key: str) -> str | None:
        return self.get(key)

    def get(self, key: str, default: Any = None, getscope: bool = False) -> Any:
        for reg in self.LAYER_PRIORITIES:
            if key in self._registry[reg]:
                value = self._registry[reg][key]
                return (reg, value) if getscope else value
        return default

    def __contains__(self, key: object) -> bool:
        return any(key in registry for registry in self._registry.values())

    def __iter__(self) -> Iterator[str]:
        return iter(self._merge())

    def __len__(self) -> int:
        return len(self._merge())

    def is_true(
        self, key: str | None = None, default: bool = False, value: str | None = None
    ) -> bool:
        if value is None:
            value = self.get(key) if key is not None else None
            if value is None:
                return default
        return value.lower() in {"yes", "true", "1", "enable", "enabled", "on"}

    def is_false(
        self, key: str | None = None, default: bool = False, value: str | None = None
    ) -> bool:
        if value is None:
            value = self.get(key) if key is not None else None
            if value is None:
                return default
        return value.lower() in {"no", "false", "0", "disable", "disabled", "off"}
