# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Rolling demo: one ``rollout`` converts a simulated domain while its VMs keep running.

Four joined KVM hosts on a throwaway slapd (127.0.0.1), each a temporary root with a
libvirt test-driver node file of running VMs whose images live in ONE shared directory (the
stand-in for the NFS share), owned by the host's numbers, mode 0600:

    kvm1  static  64055:64055  app
    kvm2  dynamic 109:114      web, db
    kvm3  dynamic 110:115      mail, dns
    kvm4  dynamic 111:116      ci

Each host runs the real listener module (tests/hostd.py, with UCS's
listener daemon and replication stood in by tests/stubs), which records the host and carries
out requests as its "transient units". The administrator runs ``survey --domain``,
``rollout --dry-run`` (the waves and each host's exact command), ``rollout`` and
``rollout status``; the hosts bridge, probe, migrate, close and convert themselves. Simulated,
and said so: replication, systemd-run, the live migration itself (libvirt's test driver
cannot migrate: the domain's definition moves from the source's node file to the
destination's) and the hosts' free memory (the test driver reports none). Every process
started here is ended by its PID, every temporary directory removed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import ldap

from libvirt_static_ids.directory import record
from libvirt_static_ids.files import acl
from libvirt_static_ids_testbed import SimHost, Testbed, add_simulated_host
from libvirt_static_ids_testbed.simulated import SimulatedHost

TARGET = (64055, 64055)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
        # SIMULATED: the share is "an NFS mount" for evacuate's shared-storage check.
        with open(os.path.join(self.nodes, "mountinfo"), "w", encoding="utf-8") as info:
            info.write(f"36 25 0:50 / {self.share} rw - nfs nas:/vms rw,vers=3\n")
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

    # -- the hosts' listeners ------------------------------------------------------------------

    def start_hosts(self) -> subprocess.Popen[bytes]:
        """Every host's listener (one process, a child per host); waits for their records."""
        argv = [
            sys.executable,
            os.path.join(REPO, "tests", "hostd.py"),
            os.path.join(REPO, "listener", "libvirt-static-ids.py"),
            self.nodes,
            *(f"{name}={host.root}" for name, host in self.hosts.items()),
        ]
        path = os.pathsep.join([os.path.join(REPO, "tests", "stubs"), os.path.join(REPO, "src")])
        daemon = subprocess.Popen(argv, env=self.env | {"PYTHONPATH": path})
        deadline = time.monotonic() + 60
        for name, host in self.hosts.items():
            while True:
                entry = self.bed.admin.search_s(
                    host.dn, ldap.SCOPE_BASE, "(objectClass=*)", [record.STATE, record.INVENTORY]
                )[0][1]
                if record.STATE in entry and record.INVENTORY in entry:
                    break
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not record itself")
                time.sleep(0.1)
            print(f"  {name}: listener running, recorded {entry[record.STATE][0].decode()}")
        return daemon


def main() -> int:
    if os.geteuid() != 0:
        print("the rolling demo needs root: the images belong to other numbers", file=sys.stderr)
        return 2
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="libvirt-static-ids-rolling-")
    os.chmod(workdir, 0o755)  # noqa: S103 - traversable, as the share's parent must be
    pid = None
    daemon: subprocess.Popen[bytes] | None = None
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

            demo.title(
                "Each host's listener starts and records its numbers and VMs (as its machine "
                "account); SIMULATED: replication and systemd-run, the listener module is real"
            )
            daemon = demo.start_hosts()

            demo.title("The domain survey before")
            demo.run(["--root", demo.admin_root, "survey", "--domain", *demo.admin])

            acls = ["--mode", "acl"]  # the default; a local file system: the kernel honours ACLs
            demo.title(
                "The rollout, first as a dry run: the waves and the exact command each host's "
                "listener will start (bridges are ACL entries here: nothing becomes world-writable)"
            )
            demo.run(["--root", demo.admin_root, "rollout", "--dry-run", *acls, *demo.admin])

            demo.title(
                "The rollout: requests on the hosts' objects, each host carries its own out "
                "(SIMULATED: the live migration moves the VM's definition between node files)"
            )
            demo.run(["--root", demo.admin_root, "--progress", "rollout", *acls, *demo.admin])

            demo.title("rollout status, and the domain survey after")
            demo.run(["--root", demo.admin_root, "rollout", "status", *demo.admin])
            demo.run(["--root", demo.admin_root, "survey", "--domain", *demo.admin])

            demo.title("Every VM still runs somewhere, its image owned by the target numbers")
            for host in HOSTS:
                demo.virsh_list(host)
            for host in HOSTS:
                for vm, _ in demo.running(host):
                    print(f"  {host}: {demo.image_line(vm)}")
            for host in HOSTS:
                demo.run(["--root", demo.hosts[host].root, "bridge", "status"])
            os.kill(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
            print(f"  the hosts' listeners (PID {daemon.pid}) ended")
            daemon = None
    finally:
        if daemon is not None and daemon.poll() is None:
            os.kill(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
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
        "migrations (test driver), replication, systemd-run and the hosts' free memory; "
        "everything else was the real tool."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
