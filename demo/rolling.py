# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Rolling demo: convert a simulated domain host by host while its VMs keep running.

Four joined KVM hosts on a throwaway slapd (127.0.0.1), each a temporary root with a
libvirt test-driver node file of running VMs whose images live in ONE shared directory (the
stand-in for the NFS share), owned by the host's numbers, mode 0600:

    kvm1  static  64055:64055  app
    kvm2  dynamic 109:114      web, db
    kvm3  dynamic 110:115      mail, dns
    kvm4  dynamic 111:116      ci

Each host records itself, ``plan`` prints the ordered steps and the checker's verdict, and the
demo follows the plan step by step with the real tools (``bridge open``, ``probe-access``,
``bridge close --hand-over``, ``convert``, ``record``, ``survey --domain``, ``virsh``). Only
two things are simulated, and the output says so: the live migration itself (libvirt's test
driver cannot migrate, so the domain's definition is moved from the source's node file to the
destination's) and the hosts' free memory (the test driver reports none). Every process started
here is ended by its PID, every temporary directory removed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ldap

from libvirt_static_ids.directory import record
from libvirt_static_ids.evacuation.bridge import runs as bridge
from libvirt_static_ids.files import acl
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed import SimHost, Testbed, add_simulated_host
from libvirt_static_ids_testbed.simulated import SimulatedHost

TARGET = (64055, 64055)


@dataclass(frozen=True)
class Spec:
    """A simulated host: its libvirt-qemu numbers, memory, and the VMs running on it."""

    numbers: SimulatedHost
    memory_mib: int
    vms: tuple[tuple[str, int], ...]  # (name, MiB)


HOSTS = {
    "kvm1": Spec(SimulatedHost(uid=64055, gid=64055), 8192, (("app", 1024),)),
    "kvm2": Spec(SimulatedHost(uid=109, gid=114), 8192, (("web", 2048), ("db", 3072))),
    "kvm3": Spec(SimulatedHost(uid=110, gid=115), 6144, (("mail", 1024), ("dns", 512))),
    "kvm4": Spec(SimulatedHost(uid=111, gid=116), 4096, (("ci", 2048),)),
}

DOMAIN_XML = """<domain type='test'>
    <name>{name}</name>
    <uuid>{uuid}</uuid>
    <memory>{kib}</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='{image}'/><target dev='vda'/></disk>
    </devices>
  </domain>"""


class Rolling:
    """The simulated domain and the commands run against it, printed as they run."""

    def __init__(self, bed: Testbed, workdir: str) -> None:
        self.bed = bed
        self.workdir = workdir
        self.share = os.path.join(workdir, "nfs-share")
        self.nodes = os.path.join(workdir, "libvirt")
        self.admin_root = os.path.join(workdir, "admin")
        for path in (self.share, self.nodes, self.admin_root):
            os.makedirs(path)
        # QEMU (any numbers) and the probe's switched child must reach the images below it.
        os.chmod(self.share, 0o755)  # noqa: S103 - a directory, not world-writable
        self.step = 0
        self.hosts: dict[str, SimHost] = {}
        self.admin = bed.admin_options(workdir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LDAP", "UNIVENTION"))}
        # Trust the test server's certificate for StartTLS, read no system LDAP config.
        self.env = env | {
            "LDAPTLS_CACERT": bed.ca_file,
            "LDAPCONF": os.devnull,
            "LDAPRC": os.devnull,
        }

    # -- output --------------------------------------------------------------------------------

    def title(self, text: str) -> None:
        self.step += 1
        print(f"\n== {self.step}. {text}", flush=True)

    def short(self, text: str) -> str:
        """Paths below the work directory as $DEMO/..., so command lines stay readable."""
        return text.replace(self.workdir, "$DEMO")

    def show(self, argv: Sequence[str]) -> None:
        words = [self.short(shlex.quote(word)) for word in argv]
        if "--bindpwdfile" in argv:  # the admin's connection options, abbreviated
            start = argv.index("--ldap-uri")
            words[start : start + len(self.admin)] = ["$ADMIN_LDAP"]
        print(f"$ {' '.join(words)}", flush=True)

    def run(
        self, argv: Sequence[str], expect: Sequence[int] = (0,), capture: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """The real command line tool, in its own process (waited for)."""
        self.show(["libvirt-static-ids", *argv])
        result = subprocess.run(
            [sys.executable, "-m", "libvirt_static_ids", *argv],
            env=self.env,
            check=False,
            text=True,
            capture_output=capture,
        )
        if result.returncode not in expect:
            if capture:
                print(result.stdout, result.stderr, sep="\n")
            raise SystemExit(f"unexpected exit {result.returncode} of {argv[:4]}")
        return result

    def virsh_list(self, host: str) -> None:
        """``virsh list`` on the host's test-driver node: what runs there now."""
        argv = ["virsh", "-c", self.uri(host), "list", "--all"]
        self.show(argv)
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            if line.strip() and not line.startswith("-"):
                print(f"  {line}")

    def image_line(self, vm: str) -> str:
        path = self.image(vm)
        st = os.stat(path)
        text = f"nfs-share/{vm}.qcow2  {st.st_uid}:{st.st_gid} mode {st.st_mode & 0o7777:04o}"
        try:
            entries = acl.entries(os.getxattr(path, acl.ACCESS))
        except OSError:
            return text
        named = [
            f"{'user' if tag == acl.USER else 'group'}:{ident}:"
            + "".join(c if perm & bit else "-" for c, bit in (("r", 4), ("w", 2), ("x", 1)))
            for tag, perm, ident in entries
            if tag in (acl.USER, acl.GROUP)
        ]
        return f"{text}  ACL {' '.join(named)}"

    # -- the domain ----------------------------------------------------------------------------

    def uri(self, host: str) -> str:
        return f"test://{self.node_file(host)}"

    def node_file(self, host: str) -> str:
        return os.path.join(self.nodes, f"{host}.xml")

    def image(self, vm: str) -> str:
        return os.path.join(self.share, f"{vm}.qcow2")

    def build(self) -> None:
        """Join the hosts; write their node files and the images on the share."""
        for name, spec in HOSTS.items():
            host = add_simulated_host(
                self.bed, name, os.path.join(self.workdir, "hosts"), spec.numbers
            )
            self.hosts[name] = host
            domains = []
            for vm, mib in spec.vms:
                path = self.image(vm)
                with open(path, "wb") as handle:
                    handle.write(b"QFI\xfb disk image of " + vm.encode())
                os.chown(path, spec.numbers.uid, spec.numbers.gid)
                os.chmod(path, 0o600)
                domains.append(
                    DOMAIN_XML.format(
                        name=vm,
                        uuid=uuid.uuid5(uuid.NAMESPACE_DNS, f"{vm}.kvm.test"),
                        kib=mib * 1024,
                        image=path,
                    )
                )
            with open(self.node_file(name), "w", encoding="utf-8") as handle:
                handle.write(
                    f"<node>\n  <memory>{spec.memory_mib * 1024}</memory>\n  "
                    + "\n  ".join(domains)
                    + "\n</node>\n"
                )
            numbers = f"{spec.numbers.uid}:{spec.numbers.gid}"
            kind = "static " if (spec.numbers.uid, spec.numbers.gid) == TARGET else "dynamic"
            vms = ", ".join(f"{vm} ({mib} MiB)" for vm, mib in spec.vms)
            print(f"  {name}  {kind} {numbers:>11}  {spec.memory_mib} MiB  running: {vms}")
            print(f"        root $DEMO/hosts/{name}, libvirt {self.short(self.uri(name))}")

    def running(self, host: str) -> list[tuple[str, int]]:
        """(name, MiB) of the domains in the host's node file (the test driver runs them all)."""
        tree = ET.parse(self.node_file(host))  # noqa: S314 - the demo's own file
        return [
            (d.findtext("name", ""), int(d.findtext("memory", "0")) // 1024)
            for d in tree.getroot().iterfind("domain")
        ]

    def record(self, host: str) -> None:
        """The host records its numbers and VM inventory, as its machine account."""
        self.run(["--root", self.hosts[host].root, "record", "--connect", self.uri(host)])
        self.set_free(host)

    def set_free(self, host: str) -> None:
        """SIMULATED: the test driver reports 0 MiB free; write what this host would have."""
        free = HOSTS[host].memory_mib - sum(mib for _, mib in self.running(host))
        dn = self.hosts[host].dn
        entry = self.bed.admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", [record.INVENTORY])
        taken = json.loads(entry[0][1][record.INVENTORY][0])
        taken["free_mib"] = free
        value = json.dumps(taken, sort_keys=True, separators=(",", ":")).encode()
        self.bed.admin.modify_s(dn, [(ldap.MOD_REPLACE, record.INVENTORY, [value])])
        print(f"  (simulated: {host}'s recorded free memory set to {free} MiB)")

    def migrate(self, vm: str, source: str, destination: str) -> None:
        """SIMULATED live migration: the definition moves from source's node to destination's."""
        flags = hypervisor.migrate_flags()
        print(
            f"  on a real host: virsh migrate --live --persistent --undefinesource {vm} "
            f"qemu://{destination}/system   (libvirt flags {flags})"
        )
        print(
            "  SIMULATED: libvirt's test driver cannot migrate; the domain's definition is moved "
            f"from {source}'s node file to {destination}'s (the VM keeps running there)"
        )
        source_tree = ET.parse(self.node_file(source))  # noqa: S314 - the demo's own file
        element = next(d for d in source_tree.getroot() if d.findtext("name") == vm)
        source_tree.getroot().remove(element)
        target_tree = ET.parse(self.node_file(destination))  # noqa: S314 - the demo's own file
        target_tree.getroot().append(element)
        target_tree.write(self.node_file(destination), encoding="unicode")
        source_tree.write(self.node_file(source), encoding="unicode")

    # -- following the plan --------------------------------------------------------------------

    def plan(self) -> dict[str, Any]:
        self.run(["--root", self.admin_root, "plan", "--server-honours-acls", *self.admin])
        print("  (the same plan as JSON, which the demo follows step by step:)")
        done = self.run(
            ["--root", self.admin_root, "--json", "plan", "--server-honours-acls", *self.admin],
            capture=True,
        )
        return json.loads(done.stdout)

    def follow(self, made: dict[str, Any]) -> None:
        ids = {h["name"]: (h["uid"], h["gid"]) for h in made["hosts"]}
        bridges: dict[str, str] = {}
        for number, step in enumerate(made["steps"], 1):
            self.title(f"plan step {number}/{len(made['steps'])}: {step['text']}")
            host, vm, root = step["host"], step.get("name"), self.hosts[step["host"]].root
            if step["op"] == "bridge":
                uid, gid = ids[step["to"]]
                print(f"  before: {self.image_line(vm)}")
                if number == 1:
                    print(f"  without a bridge {step['to']}'s QEMU ({uid}:{gid}) cannot open it:")
                    self.run(
                        ["probe-access", "--uid", str(uid), "--gid", str(gid), self.image(vm)],
                        expect=(3,),
                    )
                self.run(
                    [
                        "--root",
                        root,
                        "bridge",
                        "open",
                        "--uid",
                        str(uid),
                        "--gid",
                        str(gid),
                        "--mode",
                        step["mode"],
                        "--domain",
                        vm,
                        "--connect",
                        self.uri(host),
                    ]
                )
                opened = [b for b in bridge.open_bridges(HostRoot(root)) if b["domain"] == vm]
                bridges[vm] = opened[-1]["run_id"]
                print(f"  after:  {self.image_line(vm)}")
            elif step["op"] == "migrate":
                uid, gid = ids[step["to"]]
                print(f"  can {step['to']}'s QEMU ({uid}:{gid}) open the image read-write?")
                self.run(["probe-access", "--uid", str(uid), "--gid", str(gid), self.image(vm)])
                self.migrate(vm, host, step["to"])
                self.virsh_list(step["to"])
            elif step["op"] == "close":
                self.run(["--root", root, "bridge", "close", bridges.pop(vm), "--hand-over"])
                print(f"  now:    {self.image_line(vm)}")
            elif step["op"] == "convert":
                if step["suspend"]:
                    raise SystemExit("this demo's domain has room: no VM should be suspended")
                print(f"  {host} runs no VM any more (libvirtd is not restarted on a test root):")
                self.virsh_list(host)
                self.run(["--root", root, "convert", "--no-restart"])
                ids[host] = TARGET
                self.record(host)


def main() -> int:
    if os.geteuid() != 0:
        print("the rolling demo needs root: the images belong to other numbers", file=sys.stderr)
        return 2
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="libvirt-static-ids-rolling-")
    os.chmod(workdir, 0o755)  # noqa: S103 - traversable, as the share's parent must be
    pid = None
    try:
        with Testbed() as bed:
            pid = bed.pid
            demo = Rolling(bed, workdir)
            print(f"DEMO={workdir}")
            print(f"Directory: slapd PID {pid} on {bed.uri}, base {bed.base}")
            print("$ADMIN_LDAP = --ldap-uri ... --binddn uid=Administrator,... --bindpwdfile ...")

            demo.title(
                "Four joined KVM hosts; VM images on one shared directory (the NFS share), "
                "each owned by its host's numbers, mode 0600"
            )
            demo.build()

            demo.title("Each host records its numbers and VM inventory (as its machine account)")
            for host in HOSTS:
                demo.record(host)

            demo.title("The domain survey before")
            demo.run(["--root", demo.admin_root, "survey", "--domain", *demo.admin])

            demo.title(
                "The rolling plan, from the directory alone (the share is a local file system "
                "here: the kernel honours POSIX ACLs, so bridges are ACL entries, not chmod 666)"
            )
            made = demo.plan()
            if made["status"] != "complete" or not made["check"]["ok"]:
                raise SystemExit(f"the plan is {made['status']}: not followed")

            demo.follow(made)

            demo.title("Every host records itself again; the domain survey after")
            for host in HOSTS:
                demo.record(host)
            demo.run(["--root", demo.admin_root, "survey", "--domain", *demo.admin])

            demo.title("Every VM still runs somewhere, its image owned by the target numbers")
            for host in HOSTS:
                demo.virsh_list(host)
            for host in HOSTS:
                for vm, _ in demo.running(host):
                    print(f"  {host}: {demo.image_line(vm)}")
            for host in HOSTS:
                demo.run(["--root", demo.hosts[host].root, "bridge", "status"])

            demo.title("Planning again: nothing left to move")
            demo.run(["--root", demo.admin_root, "plan", *demo.admin])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if pid is not None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"\nDirectory stopped: slapd PID {pid} ended; $DEMO removed.")
        else:
            print(f"slapd PID {pid} is still running", file=sys.stderr)
            return 1
    print(
        f"Rolling demo finished in {time.monotonic() - started:.1f} s. Simulated: the live "
        "migrations (test driver) and the hosts' free memory; everything else was the real tool."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
