# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Can a numeric identity open these files for reading and writing? Ask the kernel (or server).

Computing access from mode and ACL would miss what only the file system knows (an NFS server
that ignores ACLs, root_squash, a read-only export): a child that *is* the identity opens each
file O_RDWR (O_RDONLY for the files it only reads) and writes nothing. ``nfs://`` URLs are
opened through libnfs by the same child. ``root_squashed`` asks the storage whether root is
root there, before anything is changed.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from libvirt_static_ids.evacuation import nfsclient
from libvirt_static_ids.evacuation.identity import errno_name, run_as
from libvirt_static_ids.ids import Identity


@dataclass(frozen=True)
class Verdict:
    path: str
    ok: bool
    errno: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "errno": self.errno, "message": self.message}


@dataclass(frozen=True)
class ProbeReport:
    identity: Identity
    verdicts: tuple[Verdict, ...]

    @property
    def all_ok(self) -> bool:
        return all(verdict.ok for verdict in self.verdicts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "probe-access",
            "identity": self.identity.as_dict(),
            "all_ok": self.all_ok,
            "paths": [verdict.as_dict() for verdict in self.verdicts],
        }


def _open(path: str, write: bool) -> None:
    if nfsclient.is_url(path):
        with nfsclient.session(path) as nfs:
            if write:
                nfs.open_rw()
            else:
                nfs.open_ro()
        return
    # O_NONBLOCK: a FIFO or device named by mistake must not hang the probe.
    access = os.O_RDWR if write else os.O_RDONLY
    fd = os.open(path, access | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    os.close(fd)


def _probe_all(paths: list[str], readonly: list[str]) -> list[list[Any]]:
    """In the child: [ok, errno, message] per path."""
    results: list[list[Any]] = []
    for path in paths:
        try:
            _open(path, path not in readonly)
            results.append([True, None, None])
        except OSError as error:
            number = error.errno or errno.EIO
            results.append([False, errno_name(number), error.strerror or str(error)])
    return results


def _absolute(paths: Sequence[str]) -> list[str]:
    for path in paths:
        if nfsclient.is_url(path):
            nfsclient.validate(path)
    return [p if nfsclient.is_url(p) else os.path.abspath(p) for p in paths]


def probe(identity: Identity, paths: Sequence[str], readonly: Sequence[str] = ()) -> ProbeReport:
    """One child for all paths: the verdicts of ``identity`` opening each read-write (those in
    ``readonly`` for reading)."""
    absolute = _absolute(paths)
    results = run_as(identity, _probe_all, absolute, _absolute(readonly))
    verdicts = tuple(
        Verdict(path, ok, name, message)
        for path, (ok, name, message) in zip(absolute, results, strict=True)
    )
    return ProbeReport(identity, verdicts)


def _chown_in_place(path: str) -> None:
    """chown to the owner it has: changes nothing where root is root, EPERM where squashed."""
    if nfsclient.is_url(path):
        with nfsclient.session(path) as nfs:
            found = nfs.stat()
            nfs.chown(found.uid, found.gid)
        return
    st = os.stat(path)
    os.chown(path, st.st_uid, st.st_gid)


def root_squashed(paths: Sequence[str]) -> list[Verdict]:
    """The files on which root may not chown (root_squash): a hand-over there needs the NFS
    server's root. Asked as root, through the storage, with a chown that changes nothing."""
    found = []
    for path in _absolute(paths):
        try:
            _chown_in_place(path)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EACCES):
                raise
            found.append(Verdict(path, False, errno_name(error.errno), error.strerror))
    return found
