# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""PID 1 of one lab host: makes the host's private file system, starts its NFS clients and
libvirtd, reaps every orphan (QEMU daemonizes and lands here), restarts libvirtd on SIGHUP
(what ``systemctl restart libvirtd`` does on a real host; see systemctl.py) and ends on SIGTERM
(the kernel then kills the rest of the PID namespace, and the mounts go with the namespace).

    unshare --net --mount --uts --pid --fork --mount-proc --propagation private \\
        python -m libvirt_static_ids_testbed.lab.init CONFIG.json GO_FD

It starts libvirtd only once the lab writes a byte to GO_FD (the network is up by then);
end of file there (the lab died) ends the host. Readiness: /run/lab/ready holds libvirtd's PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

SOCKET = "/run/libvirt/libvirt-sock"
READY = "/run/lab/ready"
_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGINT}


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def _unblocked() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def _start(argv: Sequence[str], log: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            preexec_fn=_unblocked,  # noqa: PLW1509 - PID 1 has one thread
        )


def _wait_for(predicate: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"lab host: {what} not ready after {timeout:.0f} s")
        _reap()
        time.sleep(0.05)


def _mounted(path: str) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        return any(line.split()[4] == path for line in handle)


def _answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.connect(path)
        except OSError:
            return False
    return True


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def build_root(config: dict[str, Any]) -> None:
    """Overlays on /etc and /var, tmpfs where libvirt keeps state, the private /dev/kvm.

    QEMU's capabilities cache is the one piece kept across labs (a bind mount of the lab's
    cache directory): probing QEMU takes libvirt 10-20 s here, and libvirt checks the cache's
    validity itself (binaries' ctimes, kernel, KVM access), so a stale entry is re-probed.
    """
    d = config["dir"]
    socket.sethostname(config["name"])
    for tree in ("etc", "var"):
        layers = f"lowerdir=/{tree},upperdir={d}/{tree}-upper,workdir={d}/{tree}-work"
        _mount("-t", "overlay", "overlay", "-o", layers, f"/{tree}")
    for path in ("/run", "/var/lib/libvirt", "/var/cache/libvirt"):
        _mount("-t", "tmpfs", "-o", "mode=755", "tmpfs", path)
    caps = "/var/cache/libvirt/qemu/capabilities"
    os.makedirs(caps, mode=0o755)
    _mount("--bind", config["capabilities_cache"], caps)
    if config.get("kvm_node"):
        _mount("--bind", config["kvm_node"], "/dev/kvm")
    os.makedirs("/run/lab", exist_ok=True)


def start_storage(config: dict[str, Any]) -> None:
    """One NFS client per export, as a host mounts its shares."""
    for export in config["exports"]:
        os.makedirs(export["mountpoint"], mode=0o755, exist_ok=True)
        argv = [sys.executable, "-m", "libvirt_static_ids_testbed.lab.nfsfs"]
        if export["root_squash"]:
            argv.append("--root-squash")
        _start([*argv, export["backing"], export["mountpoint"]], f"{config['dir']}/nfsfs.log")
    for export in config["exports"]:
        _wait_for(lambda e=export: _mounted(e["mountpoint"]), f"NFS mount {export['mountpoint']}")


def start_libvirtd(config: dict[str, Any]) -> subprocess.Popen[bytes]:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(READY)
    daemon = _start(
        ["libvirtd", "--listen", "-f", "/etc/libvirt/libvirtd.conf"],
        f"{config['dir']}/libvirtd.out",
    )
    _wait_for(lambda: _answers(SOCKET) or daemon.poll() is not None, "libvirtd")
    if daemon.poll() is not None:
        raise RuntimeError(f"libvirtd exited with {daemon.returncode}")
    with open(READY + ".new", "w", encoding="ascii") as handle:
        handle.write(f"{daemon.pid}\n")
    os.rename(READY + ".new", READY)
    return daemon


def stop(daemon: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL; reaping orphans meanwhile."""
    daemon.terminate()
    deadline = time.monotonic() + timeout
    while daemon.poll() is None:
        if time.monotonic() > deadline:
            daemon.kill()
        _reap()
        time.sleep(0.05)


def serve(config: dict[str, Any], go_fd: int) -> int:
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    build_root(config)
    start_storage(config)
    if not os.read(go_fd, 1):
        return 1  # the lab is gone
    os.close(go_fd)
    daemon = start_libvirtd(config)
    while True:
        info = signal.sigtimedwait(_SIGNALS, 1.0)
        _reap()
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        if info.si_signo == signal.SIGHUP:
            stop(daemon)
            daemon = start_libvirtd(config)
            continue
        stop(daemon)
        return 0


def main(argv: Sequence[str]) -> int:
    with open(argv[0], encoding="utf-8") as handle:
        config = json.load(handle)
    try:
        return serve(config, int(argv[1]))
    except Exception as error:
        print(f"lab host {config['name']}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
