# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Ask the lab's NFS-rules file system (nfsfs) the questions a test asks nfs-ganesha.

Run as ``unshare -m --propagation private python fuse_matrix.py BACKING ROOT_SQUASH CASES``:
mounts nfsfs over BACKING in that private mount namespace, tries each case (file, uid, gid,
read or read-write) as that identity through the mount, prints a JSON list of booleans.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time


def opens(path: str, uid: int, gid: int, write: bool) -> bool:
    shell = 'exec 3<>"$1"' if write else 'exec 3<"$1"'
    done = subprocess.run(
        [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            "sh",
            "-c",
            shell,
            "sh",
            path,
        ],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def main(backing: str, root_squash: bool, cases: list[tuple[str, int, int, bool]]) -> list[bool]:
    mountpoint = tempfile.mkdtemp(prefix="nfsfs-", dir="/tmp")
    os.chmod(mountpoint, 0o755)  # noqa: S103 - every identity must reach the mount
    argv = [sys.executable, "-m", "libvirt_static_ids_testbed.lab.nfsfs"]
    if root_squash:
        argv.append("--root-squash")
    daemon = subprocess.Popen([*argv, backing, mountpoint], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not os.path.ismount(mountpoint):
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("nfsfs did not mount")
            time.sleep(0.05)
        return [
            opens(os.path.join(mountpoint, name), uid, gid, write)
            for name, uid, gid, write in cases
        ]
    finally:
        subprocess.run(["umount", mountpoint], check=False)
        daemon.wait(10)
        os.rmdir(mountpoint)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2] == "1", json.loads(sys.argv[3]))))
