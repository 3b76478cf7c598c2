# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The KB's ``find -nouser -o -nogroup``: nameless owners, fixed where the journal knows them.

An entry whose UID or GID has no name in the root's passwd/group is an orphan. Where that
number is one ``libvirt-qemu`` had on this host before (a conversion's journal says so), it
is remapped to the current numbers in a journaled run; every other orphan is only listed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from libvirt_static_ids.files import repair, repair_run, walk
from libvirt_static_ids.files.idmap import IdMap
from libvirt_static_ids.host import accounts
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import ACCOUNT_NAME
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Store


@dataclass
class OrphanReport:
    dry_run: bool
    idmap: IdMap
    run_id: str | None = None
    untouched: list[tuple[bytes, int, int]] = field(default_factory=list)
    changes: list[repair.EntryChange] = field(default_factory=list)
    stats: repair.RepairStats = field(default_factory=repair.RepairStats)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "repair",
            "mode": "orphans",
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "known_old_uids": {str(k): v for k, v in self.idmap.uids.items()},
            "known_old_gids": {str(k): v for k, v in self.idmap.gids.items()},
            "changes": [change.as_dict() for change in self.changes],
            "untouched": [
                {"path": os.fsdecode(path), "uid": uid, "gid": gid}
                for path, uid, gid in self.untouched
            ],
            "repair": self.stats.as_dict(),
        }


def previous_numbers(root: HostRoot, store: Store) -> IdMap:
    """Old libvirt-qemu numbers from this host's conversions, mapped to today's numbers."""
    user = accounts.find_user(root, ACCOUNT_NAME)
    group = accounts.find_group(root, ACCOUNT_NAME)
    uids: dict[int, int] = {}
    gids: dict[int, int] = {}
    for run in store.runs():
        if run.kind != RunKind.CONVERT or run.state == RunState.ROLLED_BACK:
            continue
        if user is not None and run.params.get("from_uid") not in (None, user.uid):
            uids[int(run.params["from_uid"])] = user.uid
        if group is not None and run.params.get("from_gid") not in (None, group.gid):
            gids[int(run.params["from_gid"])] = group.gid
    return IdMap(uids, gids)


def repair_orphans(
    root: HostRoot,
    tops: Sequence[bytes],
    *,
    dry_run: bool = False,
    cross_filesystems: bool = False,
    progress: repair.ProgressCallback | None = None,
) -> OrphanReport:
    store = Store(root)
    known_uids = {user.uid for user in accounts.users(root)}
    known_gids = {group.gid for group in accounts.groups(root)}
    known = previous_numbers(root, store)
    # A number that has a name again belongs to that account now: never taken from it.
    idmap = IdMap(
        {old: new for old, new in known.uids.items() if old not in known_uids},
        {old: new for old, new in known.gids.items() if old not in known_gids},
    )
    report = OrphanReport(dry_run, idmap)

    def select(entry: walk.Entry) -> bool:
        """Orphans whose numbers the journal knows are remapped; the rest are listed."""
        nameless_uid = entry.uid not in known_uids
        nameless_gid = entry.gid not in known_gids
        if not (nameless_uid or nameless_gid):
            return False
        if (nameless_uid and entry.uid not in idmap.uids) or (
            nameless_gid and entry.gid not in idmap.gids
        ):
            report.untouched.append((entry.path, entry.uid, entry.gid))
        return entry.uid in idmap.uids or entry.gid in idmap.gids

    if dry_run or not idmap:
        report.changes = list(
            repair.plan(
                tops,
                idmap,
                report.stats,
                cross_filesystems=cross_filesystems,
                select=select,
                progress=progress,
            )
        )
        return report
    params = {
        "uids": {str(k): v for k, v in idmap.uids.items()},
        "gids": {str(k): v for k, v in idmap.gids.items()},
        "paths": [os.fsdecode(top) for top in tops],
    }
    with store.locked(), store.run(RunKind.ORPHANS, params) as journal:
        report.run_id = journal.run_id
        report.stats = repair_run.remap_paths(
            journal,
            tops,
            idmap,
            resumed=journal.resumed,
            cross_filesystems=cross_filesystems,
            select=select,
            progress=progress,
        )
        repair_run.finish(journal, report.stats)
    return report
