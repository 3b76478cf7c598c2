# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for the listener's own ``listener`` module (configRegistry, setuid).

Mirrors management/univention-directory-listener/python/listener.py of UCS 5.x:
``configRegistry``, ``setuid(uid)`` (seteuid, names resolved) and ``unsetuid()`` (back to
user ``listener``, or 0 where it does not exist). ``run`` and ``SetUID`` are left out.
"""

from __future__ import annotations

import os
from pwd import getpwnam

from univention.config_registry import ConfigRegistry

configRegistry = ConfigRegistry()
configRegistry.load()
baseConfig = configRegistry

__listener_uid = -1


def setuid(uid: int | str) -> None:
    if isinstance(uid, str):
        uid = getpwnam(uid)[2]
    os.seteuid(uid)


def unsetuid() -> None:
    global __listener_uid  # noqa: PLW0603 - mirrors the original
    if __listener_uid == -1:
        try:
            __listener_uid = getpwnam("listener")[2]
        except KeyError:
            __listener_uid = 0
    os.seteuid(__listener_uid)
