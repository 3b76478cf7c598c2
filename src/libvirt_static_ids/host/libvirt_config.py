# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What libvirt's configuration says about the identity QEMU runs as."""

from __future__ import annotations

import glob
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from libvirt_static_ids.hostroot import HostRoot

_SETTING = re.compile(r'^\s*(user|group)\s*=\s*"([^"]*)"', re.MULTILINE)
_UCR_FILES = ("etc/univention/base.conf", "etc/univention/base-forced.conf")
_UCR_QEMU = re.compile(r"^uvmm/kvm/qemu/(user|group):\s*(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class QemuIdentity:
    """``user``/``group`` QEMU runs as, and where that was configured."""

    user: str | None
    group: str | None
    source: str


def configured_identities(root: HostRoot) -> list[QemuIdentity]:
    """qemu.conf's user/group, and old UVMM's UCR overrides, where set."""
    found = []
    sources = [("etc/libvirt/qemu.conf", _SETTING)] + [(path, _UCR_QEMU) for path in _UCR_FILES]
    for relative, pattern in sources:
        try:
            with open(root.join(relative), encoding="utf-8", errors="replace") as f:
                settings = dict(pattern.findall(f.read()))
        except FileNotFoundError:
            continue
        if settings:
            found.append(QemuIdentity(settings.get("user"), settings.get("group"), "/" + relative))
    return found


def names_other_user(identity: QemuIdentity, account: str, uid: int) -> bool:
    """True when the configured user is not ``account`` (by name or as ``+UID``)."""
    user = identity.user
    return user is not None and user not in (account, f"+{uid}")


@dataclass(frozen=True)
class PinnedLabel:
    domain: str
    label: str


def pinned_dac_labels(root: HostRoot) -> list[PinnedLabel]:
    """Domains that pin QEMU's numbers with a static DAC seclabel."""
    found = []
    for path in sorted(glob.glob(os.path.join(root.join("etc/libvirt/qemu"), "*.xml"))):
        try:
            # Root-owned libvirt config; expat (>= 2.4) refuses entity expansion bombs.
            tree = ET.parse(path)  # noqa: S314
        except (ET.ParseError, OSError):
            continue
        name = tree.findtext("name") or os.path.basename(path)[:-4]
        for seclabel in tree.iter("seclabel"):
            if seclabel.get("model") == "dac" and seclabel.get("type") == "static":
                found.append(PinnedLabel(name, (seclabel.findtext("label") or "").strip()))
    return found


def label_numbers(label: str) -> tuple[int | None, int | None]:
    """The numbers of a ``+UID:+GID`` label (names give None)."""
    user, _, group = label.partition(":")
    return (
        int(user[1:]) if user[1:].isdigit() and user.startswith("+") else None,
        int(group[1:]) if group[1:].isdigit() and group.startswith("+") else None,
    )
