# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.listener.exceptions`` (UCS 5.x, same names)."""

from __future__ import annotations


class ListenerModuleError(Exception):
    pass


class ListenerModuleConfigurationError(ListenerModuleError):
    pass


class ListenerModuleRuntimeError(ListenerModuleError):
    pass
