# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A real KVM guest, run as another host's numbers, reaches a disk image only through a bridge.

That is what a live migration needs on the destination: its QEMU, running as the destination
host's libvirt-qemu numbers, opens the source host's image read-write. Without a bridge the
kernel refuses and QEMU cannot start; with one, QEMU starts the guest (paused) under KVM with
the image open — QMP says so; after ``bridge close`` it is refused again.

Skipped where /dev/kvm or qemu-system-x86_64 (Debian qemu-system-x86) is missing. /dev/kvm is
often root-only: the guest runs in a private mount namespace where a private device node for
the same device, mode 0666, is bind-mounted over /dev/kvm; the machine's own node is untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

QEMU = shutil.which("qemu-system-x86_64")
pytestmark = pytest.mark.skipif(
    QEMU is None or not os.path.exists("/dev/kvm") or os.geteuid() != 0,
    reason="needs /dev/kvm, qemu-system-x86_64 (Debian qemu-system-x86) and root",
)

SOURCE = (1109, 1114)  # the source host's libvirt-qemu numbers: the image's owner
DESTINATION = (64055, 64055)  # the destination's, foreign to the image

# Runs as root in a fresh mount namespace, then becomes the destination's numbers.
_GUEST = r"""
set -e
devices=$1 major=$2 minor=$3 uid=$4 gid=$5
shift 5
mount -t tmpfs -o mode=0755 tmpfs "$devices"
mknod -m 0666 "$devices/kvm" c "$major" "$minor"
mount --bind "$devices/kvm" /dev/kvm
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
"""


@pytest.fixture
def workdir(shared_dir: Path) -> Path:
    (shared_dir / "devices").mkdir()
    sockets = shared_dir / "qmp"
    sockets.mkdir()
    sockets.chmod(0o777)  # the guest, as the destination's numbers, creates its QMP socket here
    return shared_dir


@pytest.fixture
def start_guest(workdir: Path) -> Iterator:
    started: list[subprocess.Popen[str]] = []

    def start(image: Path) -> tuple[subprocess.Popen[str], Path]:
        qmp = workdir / "qmp" / f"guest{len(started)}.sock"
        rdev = os.stat("/dev/kvm").st_rdev
        argv = [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            _GUEST,
            "sh",
            str(workdir / "devices"),
            str(os.major(rdev)),
            str(os.minor(rdev)),
            *map(str, DESTINATION),
            str(QEMU),
            "-accel",
            "kvm",
            "-nodefaults",
            "-display",
            "none",
            "-S",
            "-m",
            "64",
            "-drive",
            f"file={image},format=raw,if=virtio,cache=none,aio=threads",
            "-qmp",
            f"unix:{qmp},server=on,wait=off",
        ]
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process, qmp

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()  # by PID: QEMU is exec'ed in place of the shell
        process.communicate(timeout=30)


def _qmp(path: Path, process: subprocess.Popen[str], *commands: str) -> list[dict]:
    """Connect once QEMU listens (or it exited), run commands, return their replies."""
    deadline = time.monotonic() + 60
    with socket.socket(socket.AF_UNIX) as client:
        # The socket file appears at bind(), a moment before QEMU listen()s on it.
        while True:
            try:
                client.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if process.poll() is not None or time.monotonic() > deadline:
                    _, err = process.communicate(timeout=30)
                    pytest.fail(f"QEMU did not come up (exit {process.returncode}): {err}")
                time.sleep(0.05)
        stream = client.makefile("rw")
        json.loads(stream.readline())  # the greeting
        replies = []
        for command in ("qmp_capabilities", *commands):
            stream.write(json.dumps({"execute": command}) + "\n")
            stream.flush()
            reply = json.loads(stream.readline())
            while "event" in reply:
                reply = json.loads(stream.readline())
            replies.append(reply)
        return replies[1:]


def _refused(process: subprocess.Popen[str]) -> str:
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0, "QEMU started without access to the image"
    return err


def test_a_kvm_guest_as_the_destination_opens_the_image_only_while_bridged(
    evac, image, shared_dir: Path, start_guest, tmp_path: Path
) -> None:
    disk = image(shared_dir, "vm.raw", *SOURCE, 0o600, data=bytes(1 << 20))

    refused, _ = start_guest(disk)
    assert "Permission denied" in _refused(refused)

    opened = evac(
        "bridge", "open", "--uid", DESTINATION[0], "--gid", DESTINATION[1], disk, root=tmp_path
    )
    assert opened.code == 0, opened.out
    guest, qmp = start_guest(disk)
    kvm, block, _ = _qmp(qmp, guest, "query-kvm", "query-block", "quit")
    assert kvm["return"] == {"enabled": True, "present": True}
    files = [device["inserted"]["file"] for device in block["return"] if "inserted" in device]
    assert files == [str(disk)]
    guest.communicate(timeout=60)

    closed = evac("bridge", "close", opened.data["run_id"], root=tmp_path)
    assert closed.code == 0, closed.out
    after, _ = start_guest(disk)
    assert "Permission denied" in _refused(after)
    assert (disk.stat().st_uid, disk.stat().st_gid, disk.stat().st_mode & 0o7777) == (
        *SOURCE,
        0o600,
    )
