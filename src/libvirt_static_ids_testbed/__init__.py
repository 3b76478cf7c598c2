# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A throwaway UCS-like directory (real slapd) and simulated KVM hosts, for tests and demos.

    with Testbed() as tb:                       # slapd on 127.0.0.1, ended by PID on exit
        hosts = build_domain(tb, workdir, {"kvm1": SimulatedHost(109, 114)})
        dn, password = tb.add_host("kvm9", root="/tmp/kvm9")

Not part of the product: it needs slapd and python-ldap's slapdtest, and never touches /etc.
"""

from __future__ import annotations

from .domain import SimHost, add_simulated_host, build_domain
from .slapd import DEFAULT_BASE, Account, Testbed

__all__ = [
    "DEFAULT_BASE",
    "Account",
    "SimHost",
    "Testbed",
    "add_simulated_host",
    "build_domain",
]
