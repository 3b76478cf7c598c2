# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Fixtures of the live-evacuation tests: the CLI (validated against its own JSON Schema),
world-traversable temp directories, images with chosen owners, and a real userspace NFS server.

- ``evac``       ``evac(*args, root=DIR, json=True, wrapper=())`` runs the installed command;
                 ``--json`` output is validated against ``evacuation-output.schema.json``.
- ``shared_dir`` a 0755 temp directory (pytest's own are 0700: a switched child could not
                 reach files below them); removed afterwards.
- ``image``      ``image(directory, name, uid, gid, mode, data=b"disk")`` creates a file.
- ``nfs``        a session-wide nfs-ganesha (VFS FSAL, NFSv3, sec=sys) in a private network
                 namespace (loopback only), with a root_squash and a no_root_squash export;
                 ``nfs.url(path)`` names a file below an export, ``nfs.cat(url, uid, gid)``
                 asks the server with libnfs's own ``nfs-cat`` as that identity,
                 ``nfs.wrapper`` runs a command inside the namespace.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

import cli_support
from cli_support import CliResult


@pytest.fixture
def evac() -> Callable[..., CliResult]:
    return functools.partial(cli_support.run, json=True, schema="evacuation-output.schema.json")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="evac-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_image(
    directory: Path, name: str, uid: int, gid: int, mode: int, *, data: bytes = b"disk"
) -> Path:
    path = directory / name
    path.write_bytes(data)
    os.chown(path, uid, gid)
    path.chmod(mode)
    return path


@pytest.fixture
def image() -> Callable[..., Path]:
    return make_image


def opens_as(path: Path | str, uid: int, gid: int, groups: Sequence[int] = ()) -> bool:
    """The kernel's own answer, through util-linux setpriv (not our probe)."""
    group_option = f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups"
    done = subprocess.run(
        [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={gid}",
            group_option,
            "sh",
            "-c",
            'exec 3<>"$1"',
            "sh",
            os.fspath(path),
        ],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


# --- the NFS server ---------------------------------------------------------------------------

NFS_PORT = 20490
MNT_PORT = 20491
_NEEDED = ("ganesha.nfsd", "rpcbind", "nfs-cat", "nsenter", "unshare")


@dataclass
class NfsServer:
    base: Path
    squash: Path  # exported with Squash = root_squash
    nosquash: Path  # exported with Squash = no_root_squash
    netns_pid: int
    log: Path

    @property
    def wrapper(self) -> list[str]:
        return ["nsenter", "-t", str(self.netns_pid), "-n", "-m"]

    def url(self, path: Path | str) -> str:
        return f"nfs://127.0.0.1{os.fspath(path)}?version=3"

    def cat(self, url: str, uid: int, gid: int) -> bool:
        """Does the server let uid:gid read the file? Asked with libnfs's nfs-cat."""
        done = subprocess.run(
            [*self.wrapper, "nfs-cat", f"{url}&uid={uid}&gid={gid}"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        return done.returncode == 0

    def rw(self, url: str, uid: int, gid: int) -> bool:
        """Does the server let uid:gid open the file read-write? Asked through our nfsclient
        in a child with those numbers (the probe's own code path is tested against this)."""
        script = (
            "import os,sys\n"
            "from libvirt_static_ids.evacuation import nfsclient\n"
            f"os.setgroups([{gid}]); os.setresgid({gid}, {gid}, {gid})\n"
            f"os.setresuid({uid}, {uid}, {uid})\n"
            "try:\n"
            f"    with nfsclient.session({url!r}) as s: s.open_rw()\n"
            "except OSError: sys.exit(3)\n"
        )
        done = subprocess.run(
            [*self.wrapper, sys.executable, "-c", script],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode in (0, 3), done.stderr
        return done.returncode == 0


def _config(server: NfsServer) -> str:
    exports = []
    for number, (path, squash) in enumerate(
        ((server.squash, "root_squash"), (server.nosquash, "no_root_squash")), 1
    ):
        exports.append(
            f"EXPORT {{ Export_Id = {number}; Path = {path}; Pseudo = /e{number}; "
            f"Access_Type = RW; Squash = {squash}; Attr_Expiration_Time = 0; "
            "FSAL { Name = VFS; } }"
        )
    return (
        # No Bind_addr: glibc will not resolve 127.0.0.1 (AI_ADDRCONFIG) in a namespace whose
        # only interface is lo, and lo is all this private namespace has anyway.
        "NFS_CORE_PARAM { "
        f"NFS_Port = {NFS_PORT}; MNT_Port = {MNT_PORT}; "
        "Enable_NLM = false; Enable_RQUOTA = false; Protocols = 3; }\n"
        f"NFSV4 {{ Graceless = true; RecoveryBackend = fs; RecoveryRoot = {server.base}/rec; }}\n"
        "EXPORT_DEFAULTS { SecType = sys; Protocols = 3; Transports = TCP; }\n"
        + "\n".join(exports)
        + "\n"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def nfs() -> Iterator[NfsServer]:
    missing = [tool for tool in _NEEDED if shutil.which(tool) is None]
    if missing:
        packages = "nfs-ganesha nfs-ganesha-vfs libnfs-utils rpcbind"
        pytest.skip(reason=f"needs {', '.join(missing)} (Debian: {packages})")
    if os.geteuid() != 0:
        pytest.skip(reason="the NFS server tests run as root")
    base = Path(tempfile.mkdtemp(prefix="evac-nfs-", dir="/tmp"))
    base.chmod(0o755)
    server = NfsServer(base, base / "squash", base / "nosquash", 0, base / "ganesha.log")
    for directory in (server.squash, server.nosquash, base / "rec"):
        directory.mkdir()
        directory.chmod(0o700 if directory == base / "rec" else 0o755)
    (base / "ganesha.conf").write_text(_config(server))
    started: list[subprocess.Popen[bytes]] = []
    try:
        # Own network and mount namespaces: loopback only, and a private /run, so rpcbind's
        # and ganesha's lock, socket and state files never meet the machine's or another run's.
        holder = subprocess.Popen(
            [
                "unshare",
                "-n",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mount -t tmpfs tmpfs /run && touch /run/.ready && exec sleep 86400",
            ]
        )
        started.append(holder)
        server.netns_pid = holder.pid
        deadline = time.monotonic() + 30
        ready = [*server.wrapper, "test", "-e", "/run/.ready"]
        while subprocess.run(ready, check=False).returncode != 0:
            if time.monotonic() > deadline:
                pytest.fail("the network namespace did not come up")
            time.sleep(0.05)
        subprocess.run([*server.wrapper, "ip", "link", "set", "lo", "up"], check=True)
        started.append(subprocess.Popen([*server.wrapper, "rpcbind", "-f"]))
        time.sleep(0.2)
        ganesha = subprocess.Popen(
            [
                *server.wrapper,
                "ganesha.nfsd",
                "-F",
                "-f",
                str(base / "ganesha.conf"),
                "-L",
                str(server.log),
                "-p",
                str(base / "ganesha.pid"),
                "-N",
                "NIV_EVENT",
            ]
        )
        started.append(ganesha)
        probe = make_image(server.nosquash, ".ready", 0, 0, 0o644)
        deadline = time.monotonic() + 60
        while not server.cat(server.url(probe), 0, 0):
            if ganesha.poll() is not None or time.monotonic() > deadline:
                log = server.log.read_text(errors="replace")[-3000:] if server.log.exists() else ""
                pytest.fail(f"nfs-ganesha did not come up (exit {ganesha.poll()}):\n{log}")
            time.sleep(0.1)
        yield server
    finally:
        for process in reversed(started):
            _stop(process)
        shutil.rmtree(base, ignore_errors=True)
