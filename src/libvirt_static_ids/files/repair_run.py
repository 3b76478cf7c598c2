# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Remap paths within a journaled run, and ``repair``, the command that does only that."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from libvirt_static_ids.files import repair
from libvirt_static_ids.files.idmap import IdMap
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Journal, Store


def remap_paths(
    journal: Journal,
    tops: Iterable[bytes],
    idmap: IdMap,
    *,
    resumed: bool,
    cross_filesystems: bool = False,
    select: repair.Selector | None = None,
    progress: repair.ProgressCallback | None = None,
) -> repair.RepairStats:
    """Finish what an interrupted run had journaled, then remap everything still old."""
    stats = repair.RepairStats()
    if resumed:
        repair.replay(journal, stats)
    changes = repair.plan(
        tops, idmap, stats, cross_filesystems=cross_filesystems, select=select, progress=progress
    )
    repair.apply(changes, journal, stats, progress)
    return stats


def finish(journal: Journal, stats: repair.RepairStats, **summary: Any) -> RunState:
    """End a run that remapped files: complete, or failed when an entry had a problem."""
    state = RunState.FAILED if stats.problems else RunState.COMPLETE
    journal.set_state(
        state,
        scanned=stats.scanned,
        changed=stats.changed,
        problems=len(stats.problems),
        **summary,
    )
    return state


@dataclass
class RepairReport:
    dry_run: bool
    idmap: IdMap
    run_id: str | None = None
    resumed: bool = False
    changes: list[repair.EntryChange] = field(default_factory=list)
    stats: repair.RepairStats = field(default_factory=repair.RepairStats)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "repair",
            "mode": "remap",
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "resumed": self.resumed,
            "uids": {str(k): v for k, v in self.idmap.uids.items()},
            "gids": {str(k): v for k, v in self.idmap.gids.items()},
            "changes": [change.as_dict() for change in self.changes],
            "repair": self.stats.as_dict(),
        }


def run_repair(
    root: HostRoot,
    tops: Sequence[bytes],
    idmap: IdMap,
    *,
    dry_run: bool = False,
    cross_filesystems: bool = False,
    progress: repair.ProgressCallback | None = None,
) -> RepairReport:
    """``repair``: remap ``idmap`` under ``tops`` in a journaled run (or only list it)."""
    report = RepairReport(dry_run, idmap)
    if dry_run:
        report.changes = list(
            repair.plan(
                tops, idmap, report.stats, cross_filesystems=cross_filesystems, progress=progress
            )
        )
        return report
    store = Store(root)
    params = {
        "uids": {str(k): v for k, v in idmap.uids.items()},
        "gids": {str(k): v for k, v in idmap.gids.items()},
        "paths": [os.fsdecode(os.path.abspath(top)) for top in tops],
        "cross_filesystems": cross_filesystems,
    }
    with store.locked(), store.run(RunKind.REPAIR, params) as journal:
        report.run_id, report.resumed = journal.run_id, journal.resumed
        report.stats = remap_paths(
            journal,
            tops,
            idmap,
            resumed=report.resumed,
            cross_filesystems=cross_filesystems,
            progress=progress,
        )
        finish(journal, report.stats)
    return report
