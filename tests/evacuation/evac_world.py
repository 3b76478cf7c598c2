# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A source host for evacuate on libvirt's test driver: domains with file, cdrom and network
disks over real images with real ACLs, and the one migrate call replaced through the
documented seam (``evacuate(..., migrate=...)``).

The test driver cannot migrate, and every ``test://FILE`` connection reads FILE afresh; so
``Migration`` does what a migration does by moving the domain from the source's node file to
the destination's (so a later connection finds it there, running), and to the images what the
destination's libvirt does (chown, the relabel), or fails, or is interrupted, at the phase a
test names. The storage counts as shared through a
mountinfo file naming the images' directory an NFS mount (libvirt's own test for it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evacuation.conftest import make_image, opens_as
from libvirt_static_ids.evacuation import evacuate
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity

SOURCE_UID, SOURCE_GID = 1101, 1102
TARGET = Identity(64055, 64055)
RESIDENT = """  <domain type='test'>
    <name>resident</name>
    <memory>524288</memory>
    <os><type>hvm</type></os>
  </domain>"""

NODE = """<node>
{domains}
</node>"""
DOMAIN = """  <domain type='test'>
    <name>{name}</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='{disk}'/><target dev='vda'/></disk>
      <disk type='file' device='cdrom'><source file='{iso}'/><target dev='hdc'/><readonly/></disk>
      <disk type='network' device='disk'>
        <source protocol='nbd' name='x'><host name='127.0.0.1' port='10809'/></source>
        <target dev='vdb'/>
      </disk>{extra}
    </devices>
  </domain>"""


@dataclass
class World:
    root: HostRoot
    node: Path
    dest_node: Path
    disks: dict[str, Path]
    iso: Path
    mountinfo: Path

    @property
    def uri(self) -> str:
        return f"test://{self.node}"

    @property
    def dest_uri(self) -> str:
        """Connectable; the test driver reports no DAC numbers, so --uid/--gid are used."""
        return f"test://{self.dest_node}"

    def depart(self, name: str) -> None:
        """The domain left this host for the destination (--persistent --undefinesource)."""
        text = self.node.read_text()
        pattern = rf"  <domain type='test'>\s*<name>{re.escape(name)}</name>.*?</domain>\n?"
        block = re.search(pattern, text, flags=re.S)
        assert block is not None, name
        self.node.write_text(text.replace(block.group(0), ""))
        there = self.dest_node.read_text()
        self.dest_node.write_text(there.replace("</node>", block.group(0) + "</node>"))

    def run(self, migration: Callable[..., None], **options: object) -> evacuate.EvacuateReport:
        return evacuate.evacuate(
            self.root,
            "kvm1",
            "kvm2",
            options.pop("identity", TARGET),  # type: ignore[arg-type]
            connect_uri=self.uri,
            dest_uri=self.dest_uri,
            migrate=migration,
            mountinfo=str(self.mountinfo),
            **options,  # type: ignore[arg-type]
        )


def make_world(
    shared_dir: Path, tmp_path: Path, names=("alpha", "beta", "gamma"), extra: str = ""
) -> World:
    iso = make_image(shared_dir, "install.iso", 0, 0, 0o644)
    disks = {
        name: make_image(shared_dir, f"{name}.qcow2", SOURCE_UID, SOURCE_GID, 0o600)
        for name in names
    }
    node = shared_dir / "node.xml"
    node.write_text(
        NODE.format(
            domains="\n".join(
                DOMAIN.format(name=name, disk=disk, iso=iso, extra=extra)
                for name, disk in disks.items()
            )
        )
    )
    dest_node = shared_dir / "dest.xml"
    dest_node.write_text(NODE.format(domains=RESIDENT))
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        f"36 25 0:50 / {shared_dir} rw,relatime shared:1 - nfs nas:/vms rw,vers=3\n"
    )
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    return World(HostRoot.open(str(root)), node, dest_node, disks, iso, mountinfo)


class Interrupt(BaseException):
    """Stands for Ctrl-C or SIGTERM arriving at an exact phase (a BaseException, as
    KeyboardInterrupt is: nothing in evacuate may take it for a failure)."""


@dataclass
class Migration:
    """Stands in for the single libvirt migrate call (see hypervisor.Migrate).

    ``relabel``: the destination's libvirt chowns the images (no_root_squash) before
    ``fail_for``'s migration fails or ``interrupt`` strikes ("before" the switch-over or
    "after" the source undefined it). ``pause``: the failure comes after the switch-over
    began, so the source is left paused, as libvirt can leave it; ``domains`` keeps each
    migrated domain object for the test to ask its state afterwards.
    """

    world: World
    fail_for: str | None = None
    relabel: bool = True
    interrupt: dict[str, str] = field(default_factory=dict)
    pause: bool = False
    calls: list[tuple[str, str, int, float | None]] = field(default_factory=list)
    domains: dict[str, Any] = field(default_factory=dict)

    def __call__(self, domain, dest_uri: str, flags: int, timeout: float | None) -> None:
        name = domain.name()
        self.calls.append((name, dest_uri, flags, timeout))
        self.domains[name] = domain
        images = hypervisor.images_of_xml(domain.XMLDesc(0))
        # While "migrating", the destination's QEMU (target numbers) must reach every image.
        assert all(opens_as(path, TARGET.uid, TARGET.gid) for path in images)
        if self.relabel:
            for path in images:
                os.chown(path, TARGET.uid, TARGET.gid)
        # The source's QEMU must still reach them: it re-opens them at the switch-over.
        assert all(opens_as(path, SOURCE_UID, SOURCE_GID) for path in images)
        if self.interrupt.get(name) == "before":
            raise Interrupt
        if name == self.fail_for:
            if self.pause:
                domain.suspend()
            raise hypervisor.libvirt_error()("Unable to migrate: connection refused")
        self.world.depart(name)
        if self.interrupt.get(name) == "after":
            raise Interrupt
