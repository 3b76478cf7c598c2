# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A simulated domain: KVM hosts, each a fake root with real account files and a machine account.

Each host's root holds what a joined UCS host has for this project: etc/passwd and friends
(libvirt_static_ids_testbed.simulated.build), etc/univention/base.conf and etc/machine.secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from libvirt_static_ids_testbed.simulated import SimulatedHost, build

from .slapd import Testbed


@dataclass(frozen=True)
class SimHost:
    name: str
    dn: str
    password: str
    root: str

    @property
    def ucr_file(self) -> str:
        return os.path.join(self.root, "etc", "univention", "base.conf")

    @property
    def secret_file(self) -> str:
        return os.path.join(self.root, "etc", "machine.secret")


def add_simulated_host(
    testbed: Testbed,
    name: str,
    directory: str,
    host: SimulatedHost | None = None,
    *,
    container: str = "memberserver",
) -> SimHost:
    """Build ``directory/name`` as a KVM host with ``host``'s numbers and join it (as a
    Directory Node with ``container="dc"``)."""
    root = os.path.join(directory, name)
    os.makedirs(root, exist_ok=True)
    build(root, host or SimulatedHost())
    dn, password = testbed.add_host(name, root=root, container=container)
    return SimHost(name, dn, password, root)


def build_domain(
    testbed: Testbed,
    directory: str,
    hosts: Mapping[str, SimulatedHost | None] | int,
) -> list[SimHost]:
    """Several simulated hosts: a name -> numbers mapping, or N hosts kvm01.. (109/114)."""
    if isinstance(hosts, int):
        hosts = {f"kvm{number:02d}": None for number in range(1, hosts + 1)}
    return [add_simulated_host(testbed, name, directory, host) for name, host in hosts.items()]
