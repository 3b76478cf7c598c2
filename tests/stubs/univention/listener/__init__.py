# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.listener`` (the high-level listener module API, UCS 5.x)."""

from __future__ import annotations

from univention.listener.api_adapter import ListenerModuleAdapter
from univention.listener.exceptions import (
    ListenerModuleConfigurationError,
    ListenerModuleRuntimeError,
)
from univention.listener.handler import ListenerModuleHandler
from univention.listener.handler_configuration import ListenerModuleConfiguration

__all__ = [
    "ListenerModuleAdapter",
    "ListenerModuleConfiguration",
    "ListenerModuleConfigurationError",
    "ListenerModuleHandler",
    "ListenerModuleRuntimeError",
]
