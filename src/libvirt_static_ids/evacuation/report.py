# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What ``evacuate`` reports: per VM where it is and what was left to do, and the run's end."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.ids import Identity


class VmStatus(StrEnum):
    """Where one VM of the evacuation is."""

    MIGRATED = "migrated"
    WOULD_MIGRATE = "would-migrate"
    FAILED = "failed"  # still running here, its images as they were (or its bridge kept)
    REFUSED = "refused"  # cannot move (a local disk, a block disk...): nothing was changed
    PENDING = "pending"  # not reached: the run stopped at an earlier VM


class EvacuateStatus(StrEnum):
    """The run's outcome; ``failed`` and ``refused`` leave every VM running somewhere."""

    EVACUATED = "evacuated"
    # Every VM moved, but some images still carry the source's numbers (root_squash): their
    # bridges stay open until the NFS server's root ran the printed chown.
    AWAITING_SERVER = "awaiting-server"
    WOULD_EVACUATE = "would-evacuate"
    FAILED = "failed"
    REFUSED = "refused"
    NOTHING_TO_DO = "nothing-to-do"


class IdentitySource(StrEnum):
    """Where the destination's numbers came from."""

    DESTINATION = "destination"  # its libvirt's DAC security model (capabilities)
    COMMAND_LINE = "command-line"  # --uid/--gid, which the destination could not confirm


@dataclass
class VmResult:
    name: str
    status: VmStatus
    images: list[str] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)
    readable: list[str] = field(default_factory=list)
    bridge: str | None = None
    message: str | None = None
    advice: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    awaiting: list[dict[str, Any]] = field(default_factory=list)
    snapshots: int = 0
    autostart: bool = False
    downtime_ms: int | None = None  # as libvirt measured it on the destination

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "images": self.images,
            "readonly": self.readonly,
            "readable": self.readable,
            "bridge": self.bridge,
            "message": self.message,
            "advice": self.advice,
            "warnings": self.warnings,
            "refusals": self.refusals,
            "awaiting": self.awaiting,
            "snapshots": self.snapshots,
            "autostart": self.autostart,
            "downtime_ms": self.downtime_ms,
        }


@dataclass
class EvacuateReport:
    host: str
    target: str
    dest_uri: str
    identity: Identity
    identity_source: IdentitySource
    dry_run: bool
    flags: int
    timeout: float | None = None
    status: EvacuateStatus = EvacuateStatus.EVACUATED
    run_id: str | None = None
    resumed: bool = False
    root_squash: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    domains: list[VmResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "evacuate",
            "host": self.host,
            "target": self.target,
            "dest_uri": self.dest_uri,
            "identity": self.identity.as_dict(),
            "identity_source": self.identity_source,
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "resumed": self.resumed,
            "status": self.status,
            "flags": self.flags,
            "timeout": self.timeout,
            "root_squash": self.root_squash,
            "warnings": self.warnings,
            "domains": [d.as_dict() for d in self.domains],
        }
