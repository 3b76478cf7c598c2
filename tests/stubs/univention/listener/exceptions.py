# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.listener.exceptions`` (UCS 5.x, same names).

The real file (repository univention/univention-corporate-server):
management/univention-directory-listener/python/univention/listener/exceptions.py
"""

from __future__ import annotations


class ListenerModuleError(Exception):
    pass


class ListenerModuleConfigurationError(ListenerModuleError):
    pass


class ListenerModuleRuntimeError(ListenerModuleError):
    pass
