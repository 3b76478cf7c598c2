# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.modules``: the modules' namespace.

As the original, it re-exports ``univention.management.console.base`` and extends its path
(``pkgutil.extend_path``), so installed module backends live under it as
``univention.management.console.modules.<id>``.
"""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)

from univention.management.console.base import *  # noqa: F403
