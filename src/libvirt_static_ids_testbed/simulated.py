# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Build a simulated KVM host in a directory: real account files, real images, ACLs, xattrs.

Used by ``make demo``, the tests and the benchmarks; the accounts are real shadow-format
files, so the real ``usermod --prefix`` works on them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from libvirt_static_ids.files import acl, libvirt_xattrs


@dataclass(frozen=True)
class SimulatedHost:
    """Numbers of one simulated host (``libvirt-qemu`` user, its group, ``kvm``)."""

    uid: int = 109
    gid: int = 114
    kvm_gid: int = 106
    extra_users: tuple[tuple[str, int], ...] = ()
    extra_groups: tuple[tuple[str, int], ...] = ()


def _write(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)


def write_accounts(root: str, host: SimulatedHost) -> None:
    users = [
        ("root", 0, 0, "/root", "/bin/bash"),
        ("daemon", 1, 1, "/usr/sbin", "/usr/sbin/nologin"),
        ("nobody", 65534, 65534, "/nonexistent", "/usr/sbin/nologin"),
        ("libvirt-qemu", host.uid, host.kvm_gid, "/var/lib/libvirt", "/usr/sbin/nologin"),
    ] + [(name, uid, uid, f"/home/{name}", "/bin/sh") for name, uid in host.extra_users]
    groups = [
        ("root", 0, ""),
        ("daemon", 1, ""),
        ("cdrom", 24, "libvirt-qemu"),
        ("kvm", host.kvm_gid, "libvirt-qemu"),
        ("libvirt-qemu", host.gid, "libvirt-qemu"),
        ("nogroup", 65534, ""),
    ] + [(name, gid, "") for name, gid in host.extra_groups]
    passwd = "".join(f"{n}:x:{u}:{g}:{n}:{h}:{s}\n" for n, u, g, h, s in users)
    shadow = "".join(f"{n}:*:20000:0:99999:7:::\n" for n, *_ in users)
    group = "".join(f"{n}:x:{g}:{m}\n" for n, g, m in groups)
    gshadow = "".join(f"{n}:*::{m}\n" for n, _, m in groups)
    _write(os.path.join(root, "etc/passwd"), passwd)
    _write(os.path.join(root, "etc/shadow"), shadow, 0o640)
    _write(os.path.join(root, "etc/group"), group)
    _write(os.path.join(root, "etc/gshadow"), gshadow, 0o640)


def build(root: str, host: SimulatedHost | None = None) -> list[str]:
    """A dynamic host under ``root``; returns the image paths it created."""
    host = host or SimulatedHost()
    write_accounts(root, host)
    _write(
        os.path.join(root, "etc/libvirt/qemu.conf"),
        '# user = "libvirt-qemu"\n# group = "libvirt-qemu"\ndynamic_ownership = 1\n',
    )
    libvirt = os.path.join(root, "var/lib/libvirt")
    for directory in ("images", "qemu/nvram", "qemu/save", "qemu/snapshot", "qemu/channel/target"):
        os.makedirs(os.path.join(libvirt, directory), exist_ok=True)
    for directory in ("var/cache/libvirt/qemu", "var/log/libvirt/qemu"):
        os.makedirs(os.path.join(root, directory), exist_ok=True)
    images = []
    for name in ("web", "db", "mail"):
        image = os.path.join(libvirt, "images", f"{name}.qcow2")
        with open(image, "wb") as handle:
            handle.truncate(1 << 20)
        os.chown(image, host.uid, host.gid)
        os.chmod(image, 0o600)
        images.append(image)
        nvram = os.path.join(libvirt, "qemu/nvram", f"{name}_VARS.fd")
        _write(nvram, "", 0o600)
        os.chown(nvram, host.uid, host.gid)
        log = os.path.join(root, "var/log/libvirt/qemu", f"{name}.log")
        _write(log, f"{name} started\n", 0o600)
    # An image shared with another host's numbers through an ACL (a past migration bridge).
    shared = acl.encode(
        [
            (0x01, 6, 0xFFFFFFFF),
            (acl.USER, 6, host.uid),
            (0x04, 0, 0xFFFFFFFF),
            (acl.GROUP, 6, host.gid),
            (0x10, 6, 0xFFFFFFFF),
            (0x20, 0, 0xFFFFFFFF),
        ]
    )
    os.chown(images[1], 0, 0)
    os.setxattr(images[1], acl.ACCESS, shared)
    # An image libvirt labelled while a VM ran: it remembers the old owner.
    os.setxattr(images[2], libvirt_xattrs.DAC, b"+%d:+%d" % (host.uid, host.gid))
    os.setxattr(images[2], libvirt_xattrs.REF_DAC, b"1")
    os.chown(os.path.join(libvirt, "qemu/channel/target"), host.uid, host.gid)
    return images
