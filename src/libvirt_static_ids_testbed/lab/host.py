# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""One lab host: a real libvirtd in its own net/mount/UTS/PID namespaces, reached from here.

The host's PID 1 is init.py. From the test's side, ``.run()`` enters the host's namespaces
(nsenter), ``.connect()`` opens libvirt through the host's UNIX socket (reached as
``/proc/PID/root/run/libvirt/libvirt-sock``, so no network is needed out here) and ``.uri``
is what the other hosts use over the veth link.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import guest
from .hostconfig import HostSpec

START_TIMEOUT = 45.0
# Kept across labs and runs (see init.build_root); safe to delete at any time. Not under
# /var, which each host overlays (a bind from there would land in the overlay).
CAPABILITIES_CACHE = Path("/tmp/libvirt-static-ids-lab/qemu-capabilities")


class LabError(RuntimeError):
    """The lab could not do what was asked (a host did not start, a command failed)."""


@dataclass(frozen=True)
class Export:
    """A shared export: its server-side directory and where every host mounts it."""

    name: str  # "root_squash" or "no_root_squash"
    root_squash: bool
    backing: Path
    path: str  # the mount point inside each host

    def host_path(self, name: str) -> str:
        return f"{self.path}/{name}"


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


class HostProcess:
    """A process started inside a host (``LabHost.spawn``): nsenter and, in the host's PID
    namespace, its child, which ``stop`` ends by PID (SIGTERM, SIGKILL if it lingers)."""

    def __init__(self, host: str, nsenter: subprocess.Popen[bytes]) -> None:
        self.host = host
        self.nsenter = nsenter

    def _child(self) -> int | None:
        deadline = time.monotonic() + 5
        while self.nsenter.poll() is None and time.monotonic() < deadline:
            children = _children(self.nsenter.pid)
            if children:
                return children[0]
            time.sleep(0.01)
        return None

    def stop(self, timeout: float = 30.0) -> int | None:
        """End the process; its exit status as nsenter passes it on (None if killed)."""
        child = self._child()
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
        try:
            self.nsenter.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in (child, self.nsenter.pid):
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            self.nsenter.wait()
            return None
        return self.nsenter.returncode


class LabHost:
    """A started host. ``uid``/``gid`` are its ``libvirt-qemu`` numbers at start."""

    def __init__(self, spec: HostSpec, directory: Path, exports: Sequence[Export], kvm_node: str):
        self.spec = spec
        self.dir = directory
        self.name = spec.name
        self.uid = spec.uid
        self.gid = spec.gid
        self.address = spec.address
        self.bin = directory / "bin"
        self._go_write = -1
        self._unshare: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self._prepare(exports, kvm_node)

    # -- start and stop ---------------------------------------------------------------------
    def _prepare(self, exports: Sequence[Export], kvm_node: str) -> None:
        CAPABILITIES_CACHE.mkdir(mode=0o755, parents=True, exist_ok=True)
        for directory in (CAPABILITIES_CACHE, CAPABILITIES_CACHE.parent):
            st = directory.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
                raise LabError(f"{directory} must be a directory of root's, writable by root only")
        for sub in ("etc-upper", "etc-work", "var-work", "bin",
                    "var-upper/lib/libvirt", "var-upper/cache/libvirt",
                    "var-upper/log/libvirt/qemu"):  # fmt: skip
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for program in ("systemctl", "systemd-run"):
            shim = self.bin / program
            module = f"libvirt_static_ids_testbed.lab.{program.replace('-', '_')}"
            shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m {module} "$@"\n')
            shim.chmod(0o755)
        config = {
            "name": self.name,
            "dir": str(self.dir),
            "kvm_node": kvm_node,
            "capabilities_cache": str(CAPABILITIES_CACHE),
            "exports": [
                {"backing": str(e.backing), "mountpoint": e.path, "root_squash": e.root_squash}
                for e in exports
            ],
        }
        (self.dir / "config.json").write_text(json.dumps(config))

    def launch(self) -> None:
        """Start the namespaces and PID 1 (libvirtd waits for ``go``)."""
        go_read, self._go_write = os.pipe()
        with open(self.dir / "init.log", "ab") as log:
            self._unshare = subprocess.Popen(
                [
                    "unshare",
                    "--net",
                    "--mount",
                    "--uts",
                    "--pid",
                    "--fork",
                    "--mount-proc",
                    "--propagation",
                    "private",
                    "--kill-child",
                    sys.executable,
                    "-m",
                    "libvirt_static_ids_testbed.lab.init",
                    str(self.dir / "config.json"),
                    str(go_read),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(go_read,),
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - nothing else runs then
            )
        os.close(go_read)
        deadline = time.monotonic() + 10
        while not self.pid:
            children = _children(self._unshare.pid)
            if children:
                self.pid = children[0]
            elif self._unshare.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"{self.name}: unshare failed: {self.log_tail('init.log')}")
            else:
                time.sleep(0.01)

    def go(self) -> None:
        os.write(self._go_write, b"g")

    def wait_ready(self, deadline: float) -> None:
        ready = Path(self.path("/run/lab/ready"))
        while not ready.exists():
            if self._unshare is None or self._unshare.poll() is not None:
                raise LabError(f"{self.name} ended while starting: {self.log_tail('init.log')}")
            if time.monotonic() > deadline:
                raise LabError(f"{self.name}: libvirtd not ready: {self.log_tail('libvirtd.out')}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to PID 1, SIGKILL if it lingers; the namespace ends with it."""
        if self._go_write >= 0:
            os.close(self._go_write)
            self._go_write = -1
        if self._unshare is None:
            return
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        try:
            self._unshare.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in (self.pid, self._unshare.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self._unshare.wait()
        self._unshare = None

    @property
    def running(self) -> bool:
        return self._unshare is not None and self._unshare.poll() is None

    # -- reaching it ------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The URI other lab hosts use (plain TCP over the veth link)."""
        return f"qemu+tcp://{self.address}/system"

    @property
    def tls_uri(self) -> str:
        """The URI UCS's hosts use for each other (TLS, host certificates; see pki.py): what
        the tool's own default destination ``qemu://TARGET.DOMAINNAME/system`` is here."""
        return f"qemu://{self.spec.fqdn}/system"

    @property
    def socket_uri(self) -> str:
        """The URI this process uses: the host's UNIX socket through /proc."""
        return f"qemu+unix:///system?socket=/proc/{self.pid}/root/run/libvirt/libvirt-sock"

    def path(self, path: str) -> str:
        """``path`` as the host sees it (its mount namespace, through /proc/PID/root)."""
        return f"/proc/{self.pid}/root{path}"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TERM", "HOME")}
        path = f"{self.bin}:{os.path.dirname(sys.executable)}:/usr/sbin:/usr/bin:/sbin:/bin"
        return {**base, "PATH": path, **(extra or {})}

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the host (its mounts, network, hostname, PIDs); text output."""
        done = subprocess.run(
            self._nsenter(argv),
            capture_output=True,
            text=True,
            env=self.env(env),
            timeout=timeout,
            input=input,
            check=False,
        )
        if check and done.returncode != 0:
            raise LabError(
                f"{self.name}: {' '.join(argv)} exited {done.returncode}: "
                f"{done.stderr.strip() or done.stdout.strip()}"
            )
        return done

    def _nsenter(self, argv: Sequence[str]) -> list[str]:
        return ["nsenter", f"--target={self.pid}", "--mount", "--uts", "--net", "--pid",
                "--wd=/", "--", *argv]  # fmt: skip

    def spawn(
        self, argv: Sequence[str], log: str, env: Mapping[str, str] | None = None
    ) -> HostProcess:
        """Start ``argv`` inside the host in the background (output appended to ``log`` in
        the host's directory); end it with ``.stop()``."""
        with open(self.dir / log, "ab") as out:
            nsenter = subprocess.Popen(
                self._nsenter(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=self.env(env),
            )
        return HostProcess(self.name, nsenter)

    def virsh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(["virsh", "-q", "-c", "qemu:///system", *args], check=check)

    def connect(self) -> Any:
        """A libvirt-python connection to this host's libvirtd (close it, or let it go)."""
        import libvirt

        return libvirt.open(self.socket_uri)

    def restart_libvirtd(self) -> None:
        self.run(["systemctl", "restart", "libvirtd.service"])

    def passwd_numbers(self) -> tuple[int, int]:
        """``libvirt-qemu``'s UID and its group's GID as the host's files say now."""
        uid = gid = -1
        with open(self.path("/etc/passwd"), encoding="utf-8") as handle:
            for line in handle:
                fields = line.split(":")
                if fields[0] == "libvirt-qemu":
                    uid = int(fields[2])
        with open(self.path("/etc/group"), encoding="utf-8") as handle:
            for line in handle:
                fields = line.split(":")
                if fields[0] == "libvirt-qemu":
                    gid = int(fields[2])
        return uid, gid

    # -- guests -----------------------------------------------------------------------------
    def define_guest(self, name: str, image: str, *, kvm: bool) -> None:
        conn = self.connect()
        try:
            conn.defineXML(guest.domain_xml(name, image, kvm=kvm))
        finally:
            conn.close()

    def start_guest(self, name: str, *, boot_timeout: float = 60.0) -> None:
        """Start ``name`` and return once its boot sector counts. Until then SeaBIOS is
        still reading the disk; a migration attempt in that window (a refused one too)
        loses that read, and the guest hangs in the BIOS for good, running but not
        counting."""
        conn = self.connect()
        try:
            conn.lookupByName(name).create()
        finally:
            conn.close()
        deadline = time.monotonic() + boot_timeout
        while self.counter(name) == 0:
            if time.monotonic() > deadline:
                raise LabError(f"{self.name}: guest {name} did not boot in {boot_timeout:.0f} s")
            time.sleep(0.05)

    def is_running(self, name: str) -> bool:
        conn = self.connect()
        try:
            return any(d.name() == name for d in conn.listAllDomains(1))  # ACTIVE
        finally:
            conn.close()

    def counter(self, name: str) -> int:
        """The guest's tick counter, read from its memory through QEMU's monitor."""
        import libvirt_qemu

        conn = self.connect()
        try:
            answer = libvirt_qemu.qemuMonitorCommand(
                conn.lookupByName(name),
                guest.COUNTER_COMMAND,
                libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP,
            )
        finally:
            conn.close()
        return guest.parse_counter(answer)

    def log_tail(self, name: str = "libvirtd.out", lines: int = 15) -> str:
        """The end of one of the host's logs (init.log, libvirtd.out, nfsfs.log) or, with a
        path starting with '/', of a file inside the host (e.g. a QEMU log)."""
        path = Path(self.path(name)) if name.startswith("/") else self.dir / name
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"({path}: {error.strerror})"
