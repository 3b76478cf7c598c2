# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Can this machine run the lab, and with KVM or only TCG? (Tests skip with the reason.)"""

from __future__ import annotations

import os
import shutil

_COMMANDS = ("libvirtd", "qemu-system-x86_64", "virsh", "unshare", "nsenter", "ip", "mount")


def missing() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (namespaces, mounts, FUSE)"
    absent = [c for c in _COMMANDS if not shutil.which(c, path="/usr/sbin:/usr/bin:/sbin:/bin")]
    if absent:
        return f"not installed: {', '.join(absent)} (scripts/install-deps)"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    try:
        import libvirt  # noqa: F401
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as error:
        return f"python binding missing: {error}"
    return None


def kvm_usable() -> bool:
    """/dev/kvm opens and the CPU shows hardware virtualization; otherwise guests run under TCG.

    The CPU flag matters: some virtual machines offer a /dev/kvm without VMX/SVM, where a
    guest's firmware crawls (SeaBIOS needed minutes here) while TCG boots it in a second.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            flags = next((line.split() for line in handle if line.startswith("flags")), [])
    except OSError:
        flags = []
    if "vmx" not in flags and "svm" not in flags:
        return False
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True
