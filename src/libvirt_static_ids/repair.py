# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Remap ownership under paths: plan, journal, apply; and bring journaled entries forward or back.

Changes are journaled in batches (one fsync per batch) before any entry of the batch is
touched, so the journal always knows more than the disk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import metadata, scan
from .journal import Journal
from .metadata import Metadata
from .remap import IdMap

BATCH = 2048
ProgressCallback = Callable[["RepairStats"], None]
Selector = Callable[[bytes, os.stat_result], bool]


@dataclass(frozen=True)
class Change:
    path: bytes
    device: int
    inode: int
    before: Metadata
    after: Metadata

    def record(self) -> dict[str, Any]:
        return {
            "op": "entry",
            "path": os.fsdecode(self.path),
            "dev": self.device,
            "ino": self.inode,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": os.fsdecode(self.path),
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Change:
        return cls(
            os.fsencode(record["path"]),
            int(record["dev"]),
            int(record["ino"]),
            Metadata.from_json(record["before"]),
            Metadata.from_json(record["after"]),
        )


@dataclass(frozen=True)
class Problem:
    """An entry that could not be changed (or restored), and why."""

    path: bytes
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"path": os.fsdecode(self.path), "reason": self.reason}


@dataclass
class RepairStats:
    scanned: int = 0
    changed: int = 0
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "changed": self.changed,
            "problems": [problem.as_dict() for problem in self.problems],
        }


def independent_tops(paths: Iterable[bytes]) -> list[bytes]:
    """The paths with duplicates and paths inside another one removed, order kept."""
    resolved = [(path, os.path.realpath(path)) for path in paths]
    kept: list[bytes] = []
    for path, real in resolved:
        inside = any(
            other_real != real and real.startswith(other_real.rstrip(b"/") + b"/")
            for _, other_real in resolved
        )
        duplicate = any(os.path.realpath(k) == real for k in kept)
        if not inside and not duplicate:
            kept.append(path)
    return kept


def plan(
    tops: Iterable[bytes],
    idmap: IdMap,
    stats: RepairStats,
    *,
    cross_filesystems: bool = False,
    select: Selector | None = None,
) -> Iterator[Change]:
    """Every change ``idmap`` makes under ``tops``, streamed, each inode once.

    ``select`` narrows the entries considered (``repair --orphans`` uses it).
    """
    uids, gids = idmap.uids, idmap.gids
    hard_links: set[tuple[int, int]] = set()

    def on_error(path: bytes, error: OSError) -> None:
        stats.problems.append(Problem(path, error.strerror or str(error)))

    for top in independent_tops(tops):
        for path, st in scan.walk(top, cross_filesystems=cross_filesystems, on_error=on_error):
            stats.scanned += 1
            if select is not None and not select(path, st):
                continue
            try:
                names = metadata.relevant_xattr_names(path, st)
                if st.st_uid not in uids and st.st_gid not in gids and not names:
                    continue
                before = metadata.read(path, st, names)
            except OSError as error:
                on_error(path, error)
                continue
            after = idmap.apply(before)
            if after is None:
                continue
            if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) in hard_links:
                    continue
                hard_links.add((st.st_dev, st.st_ino))
            yield Change(path, st.st_dev, st.st_ino, before, after)


def apply(
    changes: Iterable[Change],
    journal: Journal,
    stats: RepairStats,
    progress: ProgressCallback | None = None,
) -> None:
    """Journal each batch of changes (fsync), then make them."""
    batch: list[Change] = []
    for change in changes:
        batch.append(change)
        if len(batch) >= BATCH:
            _apply_batch(batch, journal, stats, progress)
            batch = []
    _apply_batch(batch, journal, stats, progress)


def _apply_batch(
    batch: list[Change], journal: Journal, stats: RepairStats, progress: ProgressCallback | None
) -> None:
    if not batch:
        return
    journal.record_many(change.record() for change in batch)
    for change in batch:
        try:
            metadata.write(change.path, change.before, change.after)
            stats.changed += 1
        except OSError as error:
            stats.problems.append(Problem(change.path, error.strerror or str(error)))
    if progress:
        progress(stats)


def _components(meta: Metadata) -> dict[str, Any]:
    parts: dict[str, Any] = {"uid": meta.uid, "gid": meta.gid, "mode": meta.mode}
    parts.update({f"xattr:{name}": value for name, value in meta.xattrs})
    return parts


def _between(current: Metadata, before: Metadata, after: Metadata) -> bool:
    """True when every part of ``current`` equals its ``before`` or its ``after`` value.

    That is the footprint of our own interrupted write (chown may also have cleared the
    setuid/setgid bits); anything else means someone changed the entry since.
    """
    now, old, new = _components(current), _components(before), _components(after)
    cleared = before.mode & ~(stat.S_ISUID | stat.S_ISGID)
    for key in now.keys() | old.keys() | new.keys():
        value = now.get(key)
        if value in (old.get(key), new.get(key)):
            continue
        if key == "mode" and value == cleared:
            continue
        return False
    return True


def _current(change: Change) -> Metadata | str:
    """The entry's metadata now, or why it is no longer the entry we journaled."""
    try:
        st = os.lstat(change.path)
    except FileNotFoundError:
        return "removed since"
    if (st.st_dev, st.st_ino) != (change.device, change.inode):
        return "replaced by another file since"
    return metadata.read(change.path, st)


def _move(change: Change, source: Metadata, target: Metadata, stats: RepairStats) -> None:
    current = _current(change)
    if isinstance(current, str):
        stats.problems.append(Problem(change.path, current))
        return
    if current == target:
        return
    if not _between(current, source, target):
        stats.problems.append(
            Problem(
                change.path,
                "changed by someone else since (now "
                f"{current.uid}:{current.gid} mode {current.mode:o}); left as it is",
            )
        )
        return
    try:
        metadata.write(change.path, current, target)
        stats.changed += 1
    except OSError as error:
        stats.problems.append(Problem(change.path, error.strerror or str(error)))


def replay(journal: Journal, stats: RepairStats) -> None:
    """Finish every journaled change of an interrupted run (idempotent)."""
    for record in journal.records("entry"):
        change = Change.from_record(record)
        _move(change, change.before, change.after, stats)


def undo(journal: Journal, stats: RepairStats) -> None:
    """Restore every journaled entry exactly; entries changed by others since are listed."""
    for record in journal.records("entry"):
        change = Change.from_record(record)
        _move(change, change.after, change.before, stats)
