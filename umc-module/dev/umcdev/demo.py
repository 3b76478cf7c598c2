# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The embedded demo domain: a real slapd and simulated KVM hosts that recorded themselves.

Four hosts, as their listeners would have recorded them: one static, two dynamic with
different numbers, and one whose target UID a local account holds; plus a directory user
whose primary GID is the target GID: a holder the survey warns about, which blocks no
``groupmod`` (only a group holding the GID would, and a user holding the UID would block
every host). One host is "the host the module runs on": its fake root is what
the backend surveys and converts. Nothing touches the real /etc; ``stop()`` ends slapd by
its PID and removes every file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field

import ldap

from libvirt_static_ids.directory import agent
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import DEFAULT_TARGET
from libvirt_static_ids_testbed import Account, SimHost, Testbed, build_domain
from libvirt_static_ids_testbed.simulated import SimulatedHost

HOSTS: dict[str, SimulatedHost] = {
    "kvm-static": SimulatedHost(uid=64055, gid=64055),
    "kvm-dyn1": SimulatedHost(uid=109, gid=114),
    "kvm-dyn2": SimulatedHost(uid=110, gid=115),
    "kvm-blocked": SimulatedHost(uid=111, gid=116, extra_users=(("backup", 64055),)),
}
HOLDER = "legacy-app"  # a directory user whose gidNumber is the target GID
DEFAULT_LOCAL = "kvm-dyn1"


@dataclass
class DemoDomain:
    testbed: Testbed
    hosts: dict[str, SimHost]
    local: SimHost
    workdir: str
    holder: Account
    _own_workdir: bool = field(default=True, repr=False)

    @property
    def admin(self) -> Account:
        """The Domain Admin the UMC session is logged in as."""
        return self.testbed.domain_admin

    @classmethod
    def start(
        cls, local: str = DEFAULT_LOCAL, *, extra_files: int = 0, workdir: str | None = None
    ) -> DemoDomain:
        """Start slapd, build and record the hosts; ``extra_files`` more images on ``local``."""
        if local not in HOSTS:
            raise ValueError(f"no demo host {local!r}; choose one of {', '.join(HOSTS)}")
        own = workdir is None
        workdir = workdir or tempfile.mkdtemp(prefix="libvirt-static-ids-umc-demo-")
        testbed = Testbed()
        try:
            testbed.start()
            # StartTLS to the testbed (machine and user connections) trusts its CA.
            ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, testbed.ca_file)
            testbed.set_target(DEFAULT_TARGET.uid, DEFAULT_TARGET.gid)
            hosts_dir = os.path.join(workdir, "hosts")
            os.makedirs(hosts_dir, exist_ok=True)
            made = {h.name: h for h in build_domain(testbed, hosts_dir, HOSTS)}
            if extra_files:
                add_images(made[local].root, HOSTS[local], extra_files)
            holder = testbed.add_user(HOLDER, gid_number=DEFAULT_TARGET.gid)
            for sim in made.values():
                record(testbed, sim)
        except BaseException:
            testbed.stop()
            if own:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        return cls(testbed, made, made[local], workdir, holder, own)

    def stop(self) -> None:
        self.testbed.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def record(testbed: Testbed, sim: SimHost) -> agent.RecordResult:
    """What the host's listener does: survey itself and write its record, as itself."""
    conn = testbed.connect(sim.dn, sim.password)
    try:
        settings = directory.read_settings(conn, testbed.base)
        return agent.record_host(conn, sim.dn, HostRoot(sim.root), settings)
    finally:
        conn.unbind_s()


def add_images(root: str, host: SimulatedHost, count: int) -> None:
    """``count`` small image snapshots owned by the old numbers: a conversion with progress."""
    directory_path = os.path.join(root, "var/lib/libvirt/images/snapshots")
    os.makedirs(directory_path, exist_ok=True)
    for number in range(count):
        path = os.path.join(directory_path, f"snap-{number:05d}.qcow2")
        with open(path, "wb"):
            pass
        os.chown(path, host.uid, host.gid)
        os.chmod(path, 0o600)
