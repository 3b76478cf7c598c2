# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Domain demo: four simulated KVM hosts, a real slapd, the survey before and after converting.

A throwaway directory (slapd on 127.0.0.1 with the shipped schema and ACL) holds four joined
KVM hosts, each a temporary root with its own UCR and machine account:

    kvm1  static (64055:64055)
    kvm2  dynamic 109:114
    kvm3  dynamic 110:115
    kvm4  dynamic 111:116, and a local account "backup" holds 64055

and an LDAP user "legacy-app" holding uidNumber 64055. Every step is the real command line
tool, or the core call the host's listener module makes; every process started here is
ended by its PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence

import ldap

from libvirt_static_ids.directory import agent
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.host.transient_unit import TransientUnit
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed import SimHost, Testbed, build_domain
from libvirt_static_ids_testbed.simulated import SimulatedHost

HOSTS = {
    "kvm1": SimulatedHost(uid=64055, gid=64055),
    "kvm2": SimulatedHost(uid=109, gid=114),
    "kvm3": SimulatedHost(uid=110, gid=115),
    "kvm4": SimulatedHost(uid=111, gid=116, extra_users=(("backup", 64055),)),
}


class Demo:
    def __init__(self, bed: Testbed, workdir: str) -> None:
        self.bed = bed
        self.workdir = workdir
        self.step = 0
        self.admin = bed.admin_options(workdir)
        env = {
            k: v for k, v in os.environ.items() if k not in ("LDAPNOINIT", "UNIVENTION_BASECONF")
        }
        # Trust the test server's certificate for StartTLS, read no system LDAP config.
        self.env = env | {
            "LDAPTLS_CACERT": bed.ca_file,
            "LDAPCONF": os.devnull,
            "LDAPRC": os.devnull,
        }

    def title(self, text: str) -> None:
        self.step += 1
        print(f"\n== {self.step}. {text}", flush=True)

    def run(
        self, argv: Sequence[str], shown: Sequence[str] | None = None, expect: Sequence[int] = (0,)
    ) -> int:
        print(f"$ libvirt-static-ids {' '.join(shown if shown is not None else argv)}", flush=True)
        result = subprocess.run(
            [sys.executable, "-m", "libvirt_static_ids", *argv], env=self.env, check=False
        )
        if result.returncode not in expect:
            raise SystemExit(f"unexpected exit {result.returncode}")
        return result.returncode

    def survey(self) -> None:
        self.run(
            ["survey", "--domain", *self.admin],
            ["survey", "--domain", "--binddn", "uid=Administrator,..."],
        )

    def listener(self, host: SimHost) -> None:
        """What the host's listener module does when it sees a request on its object."""
        conn = self.bed.connect(host.dn, host.password)
        entry = directory.read_entry(conn, host.dn, ["libvirtStaticIdsRequest"]) or {}
        value = (entry.get("libvirtStaticIdsRequest") or [b""])[0].decode()
        if not value:
            return
        settings = directory.read_settings(conn, self.bed.base)

        def start_unit(unit: TransientUnit) -> None:
            print(f"  {host.name}: would start  systemd-run --unit={unit.name} -- ...")
            # Here the unit's command runs at once, as the host (its UCR, its account).
            self.run([*unit.argv[1:], "--no-restart"], [*unit.argv[1:]], expect=(0, 3))

        print(f"-- {host.name}'s listener sees request {value!r}")
        outcome = agent.handle_request(
            conn, host.dn, HostRoot(host.root), settings, value, launch=start_unit
        )
        print(f"  {host.name}: request {value!r} {outcome.action}, cleared: {outcome.cleared}")
        conn.unbind_s()


def main() -> int:
    if os.geteuid() != 0:
        print(
            "the domain demo needs root: the hosts' files belong to other numbers", file=sys.stderr
        )
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="libvirt-static-ids-domain-") as workdir,
        Testbed() as bed,
    ):
        demo = Demo(bed, workdir)
        print(f"Directory: slapd PID {bed.pid} on {bed.uri}, base {bed.base}")
        demo.title("Join four KVM hosts and create an LDAP user holding 64055")
        hosts = build_domain(bed, workdir, HOSTS)
        for host in hosts:
            spec = HOSTS[host.name]
            print(f"  {host.name}: {host.dn}, libvirt-qemu {spec.uid}:{spec.gid}, root {host.root}")
        legacy = bed.add_user("legacy-app", 64055)
        print(f"  {legacy.dn}: uidNumber 64055")

        demo.title(
            "Each host records itself (what its listener does at start; as its "
            "machine account, from its UCR)"
        )
        for host in hosts:
            demo.run(["record", "--root", host.root])

        demo.title("The domain survey (one LDAP search for records, one for holders)")
        demo.survey()

        demo.title(
            "The admin moves legacy-app off 64055 (on UCS: udm users/user modify; "
            "the UDM hook keeps it from coming back)"
        )
        bed.admin.modify_s(legacy.dn, [(ldap.MOD_REPLACE, "uidNumber", [b"2345"])])
        print(f"  {legacy.dn}: uidNumber 2345")
        demo.run(
            ["request", "refresh", *(h.name for h in hosts), *demo.admin],
            ["request", "refresh", *(h.name for h in hosts)],
        )
        for host in hosts:
            demo.listener(host)

        demo.title("Convert what can be converted: request it, each listener starts its unit")
        dynamic = [h for h in hosts if h.name != "kvm1"]
        demo.run(
            ["request", "convert", *(h.name for h in dynamic), *demo.admin],
            ["request", "convert", *(h.name for h in dynamic)],
        )
        for host in dynamic:
            demo.listener(host)

        demo.title("The domain survey after converting")
        demo.survey()
        pid = bed.pid
    print(
        f"\nDirectory stopped (slapd PID {pid} ended). kvm4 stays blocked until its local "
        "account 'backup' leaves 64055."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
