# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What each step of a rolling plan does to an image's metadata, and who may then open it.

The effects are those of the real tools, computed by their own code: a bridge widens as
widen.py does, closing restores exactly and hands the image over (chown to the destination's
numbers) as ``evacuate`` does, the downtime path remaps the old numbers as repair does.

What the plan cannot know is kept as alternatives (a "world" each): during an incoming
migration libvirt on the destination may relabel the image to its numbers (dynamic_ownership
with no root_squash) or may not (root_squash refuses root's chown); likewise when it starts a
VM. A step is proven only if access holds in every world. Access is decided as NFS decides
with ``sec=sys``: by the numbers QEMU carries (libvirt-qemu's UID, its group as GID and
supplementary group), on mode bits and, only if the server honours them, POSIX ACLs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace

from libvirt_static_ids.files import access, acl, widen
from libvirt_static_ids.files.idmap import IdMap
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import Identity, IdPair

READ = 0o4


def qemu_identity(ids: IdPair) -> Identity:
    """The credentials QEMU runs with on a host whose libvirt-qemu has ``ids``."""
    return Identity(ids.uid, ids.gid, (ids.gid,))


@functools.lru_cache(maxsize=1 << 16)
def allows(meta: Metadata, ids: IdPair, readonly: bool, honours_acls: bool) -> bool:
    """Would the NFS server let QEMU with ``ids`` read (and, unless readonly, write) it?

    A server that ignores ACLs decides by the mode bits alone; with an ACL present the
    group bits of the mode are the ACL's mask, as the kernel stores them.
    """
    seen = meta
    if not honours_acls and meta.xattr(acl.ACCESS) is not None:
        seen = replace(meta, xattrs=tuple(x for x in meta.xattrs if x[0] != acl.ACCESS))
    wanted = READ if readonly else access.READ_WRITE
    return access.allows(seen, qemu_identity(ids), wanted)


@dataclass(frozen=True, slots=True)
class World:
    """One possible state of an image: its metadata, and what an open bridge saved of it."""

    meta: Metadata
    saved: Metadata | None = None  # the metadata before the open bridge; None: no bridge


Worlds = frozenset[World]

# The effects on one file's metadata are memoized: a domain's images share a handful of
# owner/mode/ACL combinations, and a plan applies the same few effects thousands of times.
# Each set of worlds returned is interned (one object per distinct set), so the memos'
# lookups are identity hits rather than comparisons of sets.
_CACHE = 1 << 16


@functools.lru_cache(maxsize=_CACHE)
def _interned(worlds: Worlds) -> Worlds:
    """The first set seen equal to ``worlds``: the memo returns it for every equal one."""
    return worlds


def initial(meta: Metadata) -> Worlds:
    """The one world of an image as recorded; memoized on the fields (one tuple's hash,
    where the dataclass's own hash and comparison cost more, for each of many images)."""
    return _initial(meta.uid, meta.gid, meta.mode, meta.xattrs)


@functools.lru_cache(maxsize=_CACHE)
def _initial(uid: int, gid: int, mode: int, xattrs: tuple[tuple[str, bytes], ...]) -> Worlds:
    return _interned(frozenset({World(Metadata(uid, gid, mode, xattrs))}))


@functools.lru_cache(maxsize=_CACHE)
def owned_by(meta: Metadata, ids: IdPair) -> Metadata:
    return Metadata(ids.uid, ids.gid, meta.mode, meta.xattrs)


@functools.lru_cache(maxsize=_CACHE)
def _widened(meta: Metadata, mode: str, grants: tuple[IdPair, ...]) -> Metadata:
    if mode != widen.Mode.ACL:
        return widen.with_chmod(meta)
    for pair in grants:
        meta = widen.with_acl(meta, pair.uid, pair.gid)
    return meta


@functools.lru_cache(maxsize=_CACHE)
def _handed_over(meta: Metadata, before: Metadata, heir: IdPair) -> Metadata:
    return owned_by(widen.restored(meta, before), heir)


@functools.lru_cache(maxsize=_CACHE)
def _remapped(meta: Metadata, source: IdPair, target: IdPair) -> Metadata:
    idmap = IdMap.single(source.uid, source.gid, target.uid, target.gid)
    return idmap.apply(meta) or meta


def clear_caches() -> None:
    """Forget every memoized effect (benchmarks measure a cold start)."""
    for cached in (
        _interned,
        allows,
        owned_by,
        _widened,
        _handed_over,
        _remapped,
        _bridged,
        migrated,
        server_chowned,
        closed,
        remapped,
        opens,
        _initial,
    ):
        cached.cache_clear()


def bridged(worlds: Worlds, mode: str, grants: Iterable[IdPair]) -> Worlds:
    """``bridge open``: ACL entries rw for each granted pair, or ``chmod a+rw``."""
    return _bridged(worlds, mode, tuple(grants))


@functools.lru_cache(maxsize=_CACHE)
def _bridged(worlds: Worlds, mode: str, pairs: tuple[IdPair, ...]) -> Worlds:
    return _interned(frozenset(World(_widened(w.meta, mode, pairs), w.meta) for w in worlds))


@functools.lru_cache(maxsize=_CACHE)
def migrated(worlds: Worlds, destination: IdPair, relabel: bool = True) -> Worlds:
    """The destination's libvirt relabels the image to its numbers, or cannot (never on a
    root_squash export: ``relabel`` False)."""
    found = set(worlds)
    if not relabel:
        return worlds
    found.update(World(owned_by(w.meta, destination), w.saved) for w in worlds)
    return _interned(frozenset(found))


@functools.lru_cache(maxsize=_CACHE)
def server_chowned(worlds: Worlds, heir: IdPair) -> Worlds:
    """The NFS server's admin gives the image to ``heir`` (root_squash refuses the client)."""
    return _interned(frozenset(World(owned_by(w.meta, heir), w.saved) for w in worlds))


@functools.lru_cache(maxsize=_CACHE)
def closed(worlds: Worlds, heir: IdPair) -> Worlds:
    """``bridge close --hand-over``: the image given to ``heir``, mode and ACL as before."""
    return _interned(
        frozenset(
            World(_handed_over(w.meta, w.saved if w.saved is not None else w.meta, heir))
            for w in worlds
        )
    )


@functools.lru_cache(maxsize=_CACHE)
def remapped(worlds: Worlds, source: IdPair, target: IdPair) -> Worlds:
    """``convert --suspend-vms`` remaps a stopped VM's images from the old numbers."""
    return _interned(frozenset(World(_remapped(w.meta, source, target), w.saved) for w in worlds))


@functools.lru_cache(maxsize=_CACHE)
def opens(worlds: Worlds, pairs: tuple[IdPair, ...], readonly: bool, honours_acls: bool) -> bool:
    """True when every pair may open the image (rw, or r if readonly) in every world."""
    return all(
        allows(world.meta, pair, readonly, honours_acls) for world in worlds for pair in pairs
    )
