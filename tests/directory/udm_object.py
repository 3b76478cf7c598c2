# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A test double of a UDM object, as far as a simpleHook sees one.

UDM passes its handler object (univention.admin.handlers.simpleLdap) to every hook method:
``module`` (e.g. "users/user"), ``lo`` (a univention.admin.uldap.access), ``dn``,
``info``/``oldinfo`` (property values), ``obj[key]`` and ``hasChanged(key)``. Nothing else of
it is used by our hook, so nothing else is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class UdmObject:
    def __init__(
        self,
        module: str,
        lo: Any,
        dn: str = "",
        *,
        info: Mapping[str, Any] | None = None,
        oldinfo: Mapping[str, Any] | None = None,
    ) -> None:
        self.module = module
        self.lo = lo
        self.dn = dn
        self.info = dict(info or {})
        self.oldinfo = dict(oldinfo or {})

    def __getitem__(self, key: str) -> Any:
        return self.info.get(key)

    def hasChanged(self, key: str | list[str]) -> bool:
        keys = [key] if isinstance(key, str) else key
        return any(self.info.get(k) != self.oldinfo.get(k) for k in keys)
