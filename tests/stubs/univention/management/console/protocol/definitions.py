# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.protocol.definitions`` (status codes).

The real file (repository univention/univention-corporate-server):
management/univention-management-console/src/univention/management/console/protocol/definitions.py

Mirrors the UCS 5.x module's ``STATUS`` table, of which the module base class uses three.
"""

from __future__ import annotations

SUCCESS = 200
MODULE_ERR = 590
MODULE_ERR_COMMAND_FAILED = 591
