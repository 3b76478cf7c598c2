# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console`` (UMC's Python API for module backends).

Only what a module backend imports is here: ``base``, ``error``, ``ldap``,
``protocol.message``, ``protocol.definitions`` and ``modules.{decorators,sanitizers,mixins}``.
The UMC server and module server themselves are not stood in for: the dev server of the UMC
module (umc-module/dev/server.py) plays their part.
"""
