# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``make demo``: convert a simulated dynamic KVM host and roll it back, step by step.

The host lives in a temporary root: libvirt-qemu 109, group libvirt-qemu 114, primary group
kvm 106, images owned by the old numbers, one shared through an ACL, one carrying libvirt's
remembered-owner xattrs. Every step is the real command line tool.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from libvirt_static_ids_testbed import simulated

STEPS = [
    ("What does this host look like?", ["survey"]),
    ("What would a conversion do? (nothing is changed)", ["convert", "--dry-run"]),
    ("Convert it (journaled; libvirtd is not restarted on a test root)", ["convert"]),
    ("Is it static now?", ["survey"]),
    ("Undo the conversion from its journal", ["rollback"]),
    ("Back where we started?", ["survey"]),
]


def show_image_owners(root: str) -> None:
    images = os.path.join(root, "var/lib/libvirt/images")
    for name in sorted(os.listdir(images)):
        st = os.lstat(os.path.join(images, name))
        print(f"    images/{name}: {st.st_uid}:{st.st_gid}")


def main() -> int:
    if os.geteuid() != 0:
        print("make demo needs root: it creates files owned by other numbers", file=sys.stderr)
        return 2
    root = tempfile.mkdtemp(prefix="libvirt-static-ids-demo-")
    try:
        simulated.build(root)
        print(f"Simulated dynamic KVM host in {root}\n")
        for number, (title, argv) in enumerate(STEPS, 1):
            command = ["libvirt-static-ids", "--root", root, *argv]
            print(f"== {number}. {title}\n$ {' '.join(command)}", flush=True)
            result = subprocess.run(
                [sys.executable, "-m", "libvirt_static_ids", "--root", root, *argv], check=False
            )
            if result.returncode != 0:
                print(f"step failed with exit {result.returncode}", file=sys.stderr)
                return result.returncode
            if argv[0] in ("convert", "rollback"):
                show_image_owners(root)
            print()
        print("Demo finished: converted, verified and rolled back.")
        return 0
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    sys.exit(main())
