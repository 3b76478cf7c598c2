# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Remap ownership under paths: plan, journal, apply; and bring journaled entries forward or back.

Changes are journaled in batches (one fsync per batch) before any entry of the batch is
touched, so the journal always knows more than the disk. Every read and write of an entry
goes through a descriptor opened without following a symlink and checked to be the device,
inode and type the walk saw or the journal holds (``resolve``); an entry that is not is
reported and left alone.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from libvirt_static_ids.files import metadata, resolve, walk
from libvirt_static_ids.files.idmap import IdMap
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.journal.records import EntryRecord
from libvirt_static_ids.journal.store import Journal

BATCH = 2048
ProgressCallback = Callable[["RepairStats"], None]
Selector = Callable[[walk.Entry], bool]


@dataclass(frozen=True)
class EntryChange:
    path: bytes
    device: int
    inode: int
    before: Metadata
    after: Metadata

    def record(self, bridge_mode: str | None = None) -> EntryRecord:
        return EntryRecord(
            os.fsdecode(self.path),
            self.device,
            self.inode,
            self.before.to_json(),
            self.after.to_json(),
            bridge_mode,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": os.fsdecode(self.path),
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }

    @classmethod
    def from_record(cls, record: EntryRecord) -> EntryChange:
        return cls(
            os.fsencode(record.path),
            record.dev,
            record.ino,
            Metadata.from_json(record.before),
            Metadata.from_json(record.after),
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
    # The count of the walk under way, set by plan(): the C walk returns to Python only for
    # entries that need a change, so a progress display reads this from another thread.
    walking: Callable[[], int] | None = field(default=None, repr=False, compare=False)

    def scanned_so_far(self) -> int:
        """``scanned``, counting the entries the walk under way has looked at so far."""
        walking = self.walking
        return self.scanned if walking is None else walking()

    def as_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "changed": self.changed,
            "problems": [problem.as_dict() for problem in self.problems],
        }


def _walk_reaches(outer: bytes, inner: bytes, cross_filesystems: bool) -> bool:
    """True when walking ``outer`` yields the entry ``inner`` (so it need not be walked again).

    A walk never enters a symlink and, unless ``cross_filesystems``, never leaves the file
    system of its top: a path beneath a symlink's target or on another mount is not reached.
    """
    try:
        top = os.lstat(outer)
    except OSError:
        return False
    if not stat.S_ISDIR(top.st_mode):
        return False
    base, target = resolve.physical(outer), resolve.physical(inner)
    prefix = base.rstrip(b"/") + b"/"
    if not target.startswith(prefix):
        return False
    if cross_filesystems:
        return True
    path = base
    for name in target[len(prefix) :].split(b"/"):
        path = os.path.join(path, name)
        try:
            if os.lstat(path).st_dev != top.st_dev:
                return False
        except OSError:
            return False
    return True


def independent_tops(paths: Iterable[bytes], *, cross_filesystems: bool = False) -> list[bytes]:
    """The paths, order kept, without duplicates and without those another path's walk reaches."""
    tops = list(paths)
    kept: list[bytes] = []
    seen: set[bytes] = set()
    for path in tops:
        physical = resolve.physical(path)
        if physical in seen:
            continue
        if any(_walk_reaches(other, path, cross_filesystems) for other in tops if other != path):
            continue
        seen.add(physical)
        kept.append(path)
    return kept


def plan(
    tops: Iterable[bytes],
    idmap: IdMap,
    stats: RepairStats,
    *,
    cross_filesystems: bool = False,
    select: Selector | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[EntryChange]:
    """Every change ``idmap`` makes under ``tops``, streamed, each inode once.

    ``select`` narrows the entries considered (``repair --orphans`` uses it) and then sees
    every entry, not only those the walk finds interesting. ``progress`` is called as each
    walk starts; from then on ``stats.scanned_so_far()`` follows it.
    """
    hard_links: set[tuple[int, int]] = set()

    def on_error(path: bytes, error: OSError) -> None:
        stats.problems.append(Problem(path, error.strerror or str(error)))

    with resolve.Resolver() as resolver:
        for top in independent_tops(tops, cross_filesystems=cross_filesystems):
            scanned_before = stats.scanned
            tree = walk.TreeWalk(
                top,
                uids=idmap.uids.keys(),
                gids=idmap.gids.keys(),
                every_entry=select is not None,
                cross_filesystems=cross_filesystems,
                on_error=on_error,
            )
            stats.walking = lambda tree=tree, base=scanned_before: base + tree.scanned
            if progress:
                progress(stats)
            for entry in tree:
                stats.scanned = scanned_before + tree.scanned
                if select is not None and not select(entry):
                    continue
                before = _scanned_metadata(resolver, entry, idmap, stats)
                if before is None:
                    continue
                after = idmap.apply(before)
                if after is None:
                    continue
                if entry.nlink > 1 and not stat.S_ISDIR(entry.mode):
                    if (entry.device, entry.inode) in hard_links:
                        continue
                    hard_links.add((entry.device, entry.inode))
                yield EntryChange(entry.path, entry.device, entry.inode, before, after)
            stats.scanned = scanned_before + tree.scanned
            stats.walking = None


def _scanned_metadata(
    resolver: resolve.Resolver, entry: walk.Entry, idmap: IdMap, stats: RepairStats
) -> Metadata | None:
    """The entry's metadata with the xattrs a remap may touch, or None (a problem noted).

    A chown drops security.capability: the walk flags it, and the xattrs of an entry to chown
    that carries one are read too, so the capability is journaled and set again.
    """
    chown = entry.uid in idmap.uids or entry.gid in idmap.gids
    if stat.S_ISLNK(entry.mode) or not (entry.has_xattrs or (chown and entry.has_capability)):
        return Metadata(entry.uid, entry.gid, entry.mode)
    opened = resolver.open_journaled(entry.path, entry.device, entry.inode, entry.mode)
    if isinstance(opened, str):
        stats.problems.append(Problem(entry.path, opened))
        return None
    try:
        names = metadata.relevant_xattr_names(opened.path, entry.mode, follow_symlinks=True)
        return metadata.read_with(
            opened.path, entry.uid, entry.gid, entry.mode, names, follow_symlinks=True
        )
    except OSError as error:
        stats.problems.append(Problem(entry.path, f"xattrs unreadable: {error.strerror}"))
        return None
    finally:
        os.close(opened.fd)


def apply(
    changes: Iterable[EntryChange],
    journal: Journal,
    stats: RepairStats,
    progress: ProgressCallback | None = None,
) -> None:
    """Journal each batch of changes (fsync), then make them."""
    batch: list[EntryChange] = []
    for change in changes:
        batch.append(change)
        if len(batch) >= BATCH:
            _apply_batch(batch, journal, stats, progress)
            batch = []
    _apply_batch(batch, journal, stats, progress)


def _apply_batch(
    batch: list[EntryChange],
    journal: Journal,
    stats: RepairStats,
    progress: ProgressCallback | None,
) -> None:
    if not batch:
        return
    journal.record_many(change.record() for change in batch)
    with resolve.Resolver() as resolver:
        for change in batch:
            _apply_one(resolver, change, stats)
    if progress:
        progress(stats)


def _apply_one(resolver: resolve.Resolver, change: EntryChange, stats: RepairStats) -> None:
    """Make one just-journaled change, if the entry is still as the walk saw it."""
    before = change.before
    opened = resolver.open_journaled(change.path, change.device, change.inode, before.mode)
    if isinstance(opened, str):
        stats.problems.append(Problem(change.path, opened))
        return
    try:
        st = opened.st
        if (st.st_uid, st.st_gid, st.st_mode) != (before.uid, before.gid, before.mode):
            stats.problems.append(
                Problem(
                    change.path,
                    "changed by someone else since the scan (now "
                    f"{st.st_uid}:{st.st_gid} mode {st.st_mode:o}); left as it is",
                )
            )
            return
        metadata.write(opened.path, before, change.after, follow_symlinks=True)
        stats.changed += 1
    except OSError as error:
        stats.problems.append(Problem(change.path, error.strerror or str(error)))
    finally:
        os.close(opened.fd)


def _components(meta: Metadata) -> dict[str, Any]:
    parts: dict[str, Any] = {"uid": meta.uid, "gid": meta.gid, "mode": meta.mode}
    parts.update({f"xattr:{name}": value for name, value in meta.xattrs})
    return parts


def _between(current: Metadata, before: Metadata, after: Metadata) -> bool:
    """True when every part of ``current`` equals its ``before`` or its ``after`` value.

    That is the footprint of our own interrupted write (chown may also have cleared setuid,
    setgid or both, and dropped the file capability); anything else means someone changed the
    entry since.
    """
    now, old, new = _components(current), _components(before), _components(after)
    special = stat.S_ISUID | stat.S_ISGID
    for key in now.keys() | old.keys() | new.keys():
        value = now.get(key)
        if value in (old.get(key), new.get(key)):
            continue
        # Only special bits gone, nothing added: what chown does to the mode.
        if (
            key == "mode"
            and not current.mode & ~before.mode
            and not before.mode & ~current.mode & ~special
        ):
            continue
        if key == f"xattr:{metadata.CAPABILITY}" and value is None:
            continue
        return False
    return True


def _move(
    resolver: resolve.Resolver,
    change: EntryChange,
    source: Metadata,
    target: Metadata,
    stats: RepairStats,
    *,
    would: list[EntryChange] | None = None,
) -> None:
    opened = resolver.open_journaled(change.path, change.device, change.inode, source.mode)
    if isinstance(opened, str):
        stats.problems.append(Problem(change.path, opened))
        return
    try:
        current = metadata.read(opened.path, opened.st, follow_symlinks=True)
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
        if would is not None:  # a dry run: only say what would be written
            would.append(EntryChange(change.path, change.device, change.inode, current, target))
            stats.changed += 1
            return
        metadata.write(opened.path, current, target, follow_symlinks=True)
        stats.changed += 1
    except OSError as error:
        stats.problems.append(Problem(change.path, error.strerror or str(error)))
    finally:
        os.close(opened.fd)


def replay(journal: Journal, stats: RepairStats) -> None:
    """Finish every journaled change of an interrupted run (idempotent)."""
    with resolve.Resolver() as resolver:
        for record in journal.records_of(EntryRecord):
            change = EntryChange.from_record(record)
            _move(resolver, change, change.before, change.after, stats)


def undo(journal: Journal, stats: RepairStats, would: list[EntryChange] | None = None) -> None:
    """Restore every journaled entry exactly; entries changed by others since are listed.

    With ``would`` nothing is written: each entry that would be restored is added to it.
    """
    with resolve.Resolver() as resolver:
        for record in journal.records_of(EntryRecord):
            change = EntryChange.from_record(record)
            _move(resolver, change, change.after, change.before, stats, would=would)
