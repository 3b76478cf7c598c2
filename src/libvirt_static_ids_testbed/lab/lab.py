# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The lab as a whole: hosts, their link, the shared exports; started together, torn down
completely (every process by PID, even when starting failed half-way)."""

from __future__ import annotations

import grp
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from . import availability, guest, network, pki
from .host import START_TIMEOUT, Export, LabError, LabHost
from .hostconfig import HostSpec, write_etc

DYNAMIC = (109, 114)
STATIC = (64055, 64055)
EXPORTS = ("root_squash", "no_root_squash")
MOUNT_BASE = "/var/lib/libvirt/images"


def _kvm_gid(numbers: set[int]) -> int:
    try:
        return grp.getgrnam("kvm").gr_gid
    except KeyError:
        taken = {g.gr_gid for g in grp.getgrall()} | numbers
        return next(g for g in range(106, 1000) if g not in taken)


class Lab:
    """``with Lab() as lab:`` two real libvirt hosts, ``hosta`` (109:114) and ``hostb``
    (64055:64055); see the package docstring."""

    def __init__(
        self,
        hosts: Sequence[tuple[str, int, int]] = (("hosta", *DYNAMIC), ("hostb", *STATIC)),
        *,
        kvm: bool | None = None,
    ) -> None:
        if len(hosts) != 2:
            raise ValueError("the lab links exactly two hosts")
        reason = availability.missing()
        if reason:
            raise LabError(reason)
        self.kvm = availability.kvm_usable() if kvm is None else kvm
        self.dir = Path(tempfile.mkdtemp(prefix="lab-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.hosts: list[LabHost] = []
        self.exports: dict[str, Export] = {}
        try:
            self._prepare(hosts)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.timings: dict[str, float] = {}
        self._relays: list[subprocess.Popen[str]] = []

    def _prepare(self, hosts: Sequence[tuple[str, int, int]]) -> None:
        """Exports, the private /dev/kvm node, each host's directory and private /etc."""
        self.exports |= {
            name: Export(
                name, name == "root_squash", self.dir / "exports" / name, f"{MOUNT_BASE}/{name}"
            )
            for name in EXPORTS
        }
        for export in self.exports.values():
            export.backing.mkdir(parents=True)
            export.backing.chmod(0o755)
        numbers = {n for _, uid, gid in hosts for n in (uid, gid)} | set(STATIC)
        kvm_gid = _kvm_gid(numbers)
        specs = [
            HostSpec(name, uid, gid, kvm_gid, network.address(i), str(uuid.uuid4()))
            for i, (name, uid, gid) in enumerate(hosts)
        ]
        # The private node even under TCG: libvirt's capabilities cache is valid only while
        # QEMU's own KVM probe and libvirt's access check of /dev/kvm agree.
        kvm_node = ""
        if os.path.exists("/dev/kvm"):
            kvm_node = str(self.dir / "kvm")
            os.mknod(kvm_node, stat.S_IFCHR | 0o660, os.makedev(10, 232))
            os.chown(kvm_node, 0, kvm_gid)
            os.chmod(kvm_node, 0o660)
        ca = pki.make_ca(self.dir)
        for spec in specs:
            hostdir = self.dir / spec.name
            host_pki = pki.host_files(ca, spec.name, spec.fqdn, spec.address, self.dir)
            write_etc(str(hostdir / "etc-upper"), spec, specs, numbers, host_pki)
            self.hosts.append(LabHost(spec, hostdir, list(self.exports.values()), kvm_node))

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Lab:
        began = time.monotonic()
        try:
            for host in self.hosts:
                host.launch()
            network.connect(self.hosts[0].pid, self.hosts[1].pid)
            for host in self.hosts:
                host.go()
            deadline = time.monotonic() + START_TIMEOUT
            for host in self.hosts:
                host.wait_ready(deadline)
        except BaseException:
            self.close()
            raise
        self.timings["start"] = time.monotonic() - began
        return self

    def close(self) -> None:
        """End every host by PID; then remove the lab's directory."""
        began = time.monotonic()
        for relay in self._relays:
            if relay.poll() is None:
                os.kill(relay.pid, signal.SIGTERM)
            relay.wait()
        self._relays.clear()
        for host in self.hosts:
            host.stop()
        self.timings["teardown"] = time.monotonic() - began
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def forward(self, port: int) -> None:
        """This machine's ``127.0.0.1:port`` reachable as ``127.0.0.1:port`` inside every host
        (relay.py: the hosts' route to the Primary's LDAP); ended by ``close``."""
        log = self.dir / f"relay-{port}.log"
        with open(log, "ab") as errors:
            relay = subprocess.Popen(
                [sys.executable, "-m", "libvirt_static_ids_testbed.lab.relay", str(port),
                 *(str(host.pid) for host in self.hosts)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )  # fmt: skip
        self._relays.append(relay)
        assert relay.stdout is not None
        if relay.stdout.readline().strip() != "ready":
            relay.wait()
            raise LabError(f"relay of port {port} failed: {log.read_text(errors='replace')}")

    # -- helpers ----------------------------------------------------------------------------
    def host(self, name: str) -> LabHost:
        return next(h for h in self.hosts if h.name == name)

    def image(self, export: str, name: str, uid: int, gid: int, mode: int = 0o600) -> str:
        """A guest image written on the server side; returns its path inside the hosts."""
        target = self.exports[export]
        backing = target.backing / name
        backing.write_bytes(guest.image_bytes())
        os.chown(backing, uid, gid)
        backing.chmod(mode)
        return target.host_path(name)

    def backing(self, host_path: str) -> Path:
        """The server-side file behind a path inside the hosts (to read owner, mode, ACL)."""
        for export in self.exports.values():
            if host_path.startswith(export.path + "/"):
                return export.backing / host_path[len(export.path) + 1 :]
        raise ValueError(f"{host_path} is on no lab export")

    def guest(self, host: LabHost, export: str, name: str) -> str:
        """Image with ``host``'s numbers (0600) on ``export``, defined and started there."""
        image = self.image(export, f"{name}.img", host.uid, host.gid)
        host.define_guest(name, image, kvm=self.kvm)
        host.start_guest(name)
        return image

    def migrate(
        self,
        source: LabHost,
        destination: LabHost,
        name: str,
        *,
        flags: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The KB's ``virsh migrate --live --persistent --undefinesource`` (client-driven,
        libvirt-python migrate3; other ``flags``/``params`` if given); returns the completed
        job's stats from the destination (``downtime`` in ms). Raises libvirt.libvirtError as
        libvirt refuses."""
        import libvirt

        if flags is None:
            flags = (
                libvirt.VIR_MIGRATE_LIVE
                | libvirt.VIR_MIGRATE_PERSIST_DEST
                | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
            )
        src, dst = source.connect(), destination.connect()
        try:
            src.lookupByName(name).migrate3(dst, params or {}, flags)
            stats: dict[str, Any] = dst.lookupByName(name).jobStats(
                libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED
            )
            return stats
        finally:
            src.close()
            dst.close()
