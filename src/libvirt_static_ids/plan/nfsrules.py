# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The checker's own model of an image under NFS: who may open it, and what each step does.

Written apart from the planner's effects (effects.py, which runs the tools' own code), so a
wrong model cannot fool planner and checker alike. Access is decided as an NFS server with
``sec=sys`` decides: by the numbers QEMU carries (libvirt-qemu's UID, its GID, the GID again
as supplementary group), on the POSIX algorithm: owner, else named user (masked), else any
matching group entry (masked), else other; ACLs only where the server honours them (one that
ignores them reads the mode bits, whose group triplet is then the mask).

An image's possible states are kept as a set ("worlds"): a destination's libvirt may relabel
an image to its numbers on an incoming migration, or may not; a root_squash export never lets
it. Each world carries what the open bridge journaled of it, which closing restores.

A domain's thousands of images share a handful of states: every function of a state set is
memoized, and each set it returns is interned (one object per distinct set), so the memo's
lookups are identity hits rather than comparisons of sets of files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import NamedTuple

from libvirt_static_ids.files import acl
from libvirt_static_ids.files.metadata import Metadata

R, W = 4, 2


class Numbers(NamedTuple):
    """Whom QEMU runs as: libvirt-qemu's UID and GID (its one supplementary group too). A
    plain tuple: the memos below hash it thousands of times."""

    uid: int
    gid: int


_CACHE = 1 << 16
Entry = tuple[int, int, int]  # (tag, perm, id) as the kernel's xattr lists them


@dataclass(frozen=True, slots=True)
class File:
    """One possible state of an image, and what the open bridge journaled of it (or None)."""

    uid: int
    gid: int
    mode: int  # permission bits only
    entries: tuple[Entry, ...] | None  # the access ACL, None: none
    saved: File | None = None


Worlds = frozenset[File]


@functools.lru_cache(maxsize=_CACHE)
def _interned(worlds: Worlds) -> Worlds:
    """The first set seen equal to ``worlds``: the memo returns it for every equal one."""
    return worlds


def initial(meta: Metadata) -> Worlds:
    """The one state of an image as recorded; memoized on the fields (one tuple's hash,
    where the dataclass's own hash and comparison cost more, for each of many images)."""
    return _initial(meta.uid, meta.gid, meta.mode, meta.xattrs)


@functools.lru_cache(maxsize=_CACHE)
def _initial(uid: int, gid: int, mode: int, xattrs: tuple[tuple[str, bytes], ...]) -> Worlds:
    value = dict(xattrs).get(acl.ACCESS)
    entries = tuple(sorted(acl.entries(value))) if value is not None else None
    return _interned(frozenset({File(uid, gid, mode & 0o777, entries)}))


def _perm(file: File, tag: int, ident: int = acl.UNDEFINED_ID) -> int | None:
    for entry_tag, perm, entry_id in file.entries or ():
        if entry_tag == tag and ident in (acl.UNDEFINED_ID, entry_id):
            return perm
    return None


@functools.lru_cache(maxsize=_CACHE)
def may_open(file: File, who: Numbers, readonly: bool, honours_acls: bool) -> bool:
    want = R if readonly else R | W
    groups = {who.gid}
    if who.uid == file.uid:
        return (file.mode >> 6) & want == want
    use_acl = honours_acls and file.entries is not None
    if not use_acl:
        bits = (file.mode >> 3) & 7 if file.gid in groups else file.mode & 7
        return bits & want == want
    mask = _perm(file, acl.MASK)
    mask = 7 if mask is None else mask
    named = _perm(file, acl.USER, who.uid)
    if named is not None:
        return named & mask & want == want
    matched = []
    if file.gid in groups:
        matched.append(_perm(file, acl.GROUP_OBJ) or 0)
    matched += [p for t, p, i in file.entries or () if t == acl.GROUP and i in groups]
    if matched:
        return any(p & mask & want == want for p in matched)
    return file.mode & 7 & want == want


@functools.lru_cache(maxsize=_CACHE)
def opens(worlds: Worlds, who: tuple[Numbers, ...], readonly: bool, honours: bool) -> bool:
    """Every pair may open the image (rw, or r if readonly) in every world."""
    return all(may_open(f, p, readonly, honours) for f in worlds for p in who)


@functools.lru_cache(maxsize=_CACHE)
def _chmod_666(file: File) -> File:
    mode = file.mode | 0o666
    if file.entries is None:
        return replace(file, mode=mode)
    has_mask = any(tag == acl.MASK for tag, _, _ in file.entries)
    group_tag = acl.MASK if has_mask else acl.GROUP_OBJ
    new = {acl.USER_OBJ: mode >> 6 & 7, group_tag: mode >> 3 & 7, acl.OTHER: mode & 7}
    entries = tuple((t, new.get(t, p), i) for t, p, i in file.entries)
    return replace(file, mode=mode, entries=entries)


@functools.lru_cache(maxsize=_CACHE)
def _acl_for(file: File, pairs: tuple[Numbers, ...]) -> File:
    """Named rw entries for each pair and for today's owner and group (the bridge keeps the
    source's access through a relabel that way), the mask the union of the group class."""
    if file.entries is not None:
        perms = {(t, i): p for t, p, i in file.entries if t != acl.MASK}
    else:
        perms = {
            (acl.USER_OBJ, acl.UNDEFINED_ID): file.mode >> 6 & 7,
            (acl.GROUP_OBJ, acl.UNDEFINED_ID): file.mode >> 3 & 7,
            (acl.OTHER, acl.UNDEFINED_ID): file.mode & 7,
        }
    users = [p.uid for p in pairs] + ([file.uid] if file.uid != 0 else [])
    groups = [p.gid for p in pairs] + ([file.gid] if file.gid != 0 else [])
    for uid in users:
        perms[(acl.USER, uid)] = perms.get((acl.USER, uid), 0) | R | W
    for gid in groups:
        perms[(acl.GROUP, gid)] = perms.get((acl.GROUP, gid), 0) | R | W
    mask = 0
    for (tag, _), perm in perms.items():
        if tag in (acl.USER, acl.GROUP_OBJ, acl.GROUP):
            mask |= perm
    perms[(acl.MASK, acl.UNDEFINED_ID)] = mask
    entries = tuple(sorted((t, p, i) for (t, i), p in perms.items()))
    owner = perms[(acl.USER_OBJ, acl.UNDEFINED_ID)]
    other = perms[(acl.OTHER, acl.UNDEFINED_ID)]
    return replace(file, mode=owner << 6 | mask << 3 | other, entries=entries)


@functools.lru_cache(maxsize=_CACHE)
def bridge(worlds: Worlds, mode: str, granted: tuple[Numbers, ...]) -> Worlds:
    widened = (_chmod_666(f) if mode == "chmod" else _acl_for(f, granted) for f in worlds)
    return _interned(
        frozenset(replace(new, saved=old) for new, old in zip(widened, worlds, strict=True))
    )


@functools.lru_cache(maxsize=_CACHE)
def migrate(worlds: Worlds, destination: Numbers, relabel: bool) -> Worlds:
    if not relabel:
        return worlds
    return _interned(
        worlds | {replace(f, uid=destination.uid, gid=destination.gid) for f in worlds}
    )


@functools.lru_cache(maxsize=_CACHE)
def chown(worlds: Worlds, to: Numbers) -> Worlds:
    return _interned(frozenset(replace(f, uid=to.uid, gid=to.gid) for f in worlds))


def owned_by(worlds: Worlds, who: Numbers) -> bool:
    return all((f.uid, f.gid) == (who.uid, who.gid) for f in worlds)


@functools.lru_cache(maxsize=_CACHE)
def close(worlds: Worlds, heir: Numbers) -> Worlds:
    """The journaled mode and ACL back, the image given to ``heir`` (the bridge's identity)."""
    found = set()
    for f in worlds:
        before = f.saved or f
        found.add(File(heir.uid, heir.gid, before.mode, before.entries))
    return _interned(frozenset(found))


@functools.lru_cache(maxsize=_CACHE)
def remap(worlds: Worlds, old: Numbers, new: Numbers) -> Worlds:
    """What a host's repair does to a stopped VM's image: old numbers become the new ones."""

    def renamed(tag: int, ident: int) -> int:
        if tag == acl.USER and ident == old.uid:
            return new.uid
        if tag == acl.GROUP and ident == old.gid:
            return new.gid
        return ident

    def one(f: File) -> File:
        entries = f.entries
        if entries is not None:
            entries = tuple(sorted((t, p, renamed(t, i)) for t, p, i in entries))
        return replace(
            f,
            uid=new.uid if f.uid == old.uid else f.uid,
            gid=new.gid if f.gid == old.gid else f.gid,
            entries=entries,
        )

    return _interned(frozenset(one(f) for f in worlds))


def clear_caches() -> None:
    """Forget every memoized state (benchmarks measure a cold start)."""
    for cached in (
        _interned,
        _initial,
        may_open,
        opens,
        _chmod_666,
        _acl_for,
        bridge,
        migrate,
        chown,
        close,
        remap,
    ):
        cached.cache_clear()
