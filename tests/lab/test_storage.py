# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The lab's shared storage decides as a real NFS server does.

The lab's exports are nfsfs (a FUSE file system applying NFSv3/AUTH_SYS rules): there is no
kernel NFS client here. The reference is the real nfs-ganesha the evacuation tests run: the
same files (owners, modes, an ACL), the same identities (owner, group, other, root), read and
read-write, under root_squash and no_root_squash, asked through both; the answers must agree,
but for one documented case (a POSIX ACL on the server's file, see below).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

# The session-wide nfs-ganesha fixture of tests/evacuation, reused as it is (a conftest's
# fixtures are not visible from a sibling directory).
_spec = importlib.util.spec_from_file_location(
    "evacuation_conftest", Path(__file__).parents[1] / "evacuation" / "conftest.py"
)
assert _spec and _spec.loader
_evacuation = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _evacuation  # dataclasses look their module up there
_spec.loader.exec_module(_evacuation)
nfs = _evacuation.nfs

OWNER = (109, 114)
FILES = {  # name: (mode, ACL entries set on the server, or None)
    "m600": (0o600, None),
    "m640": (0o640, None),
    "m660": (0o660, None),
    "m644": (0o644, None),
    "m666": (0o666, None),
    "acl": (0o600, "u:64055:rw"),
}
IDENTITIES = [OWNER, (64055, 64055), (4242, 114), (0, 0), (4242, 4242)]


def _files(directory: Path) -> None:
    for name, (mode, acl) in FILES.items():
        path = directory / name
        path.write_bytes(b"disk")
        os.chown(path, *OWNER)
        path.chmod(mode)
        if acl:
            subprocess.run(["setfacl", "-m", acl, str(path)], check=True)


@pytest.mark.parametrize("export", ["squash", "nosquash"])
def test_nfsfs_decides_as_nfs_ganesha(lab_machine: None, nfs: object, export: str) -> None:
    directory: Path = getattr(nfs, export)
    _files(directory)
    cases = [
        [name, uid, gid, write]
        for name in FILES
        for uid, gid in IDENTITIES
        for write in (False, True)
    ]
    server = [
        nfs.rw(nfs.url(directory / name), uid, gid)  # type: ignore[attr-defined]
        if write
        else nfs.cat(nfs.url(directory / name), uid, gid)  # type: ignore[attr-defined]
        for name, uid, gid, write in cases
    ]
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            sys.executable,
            str(Path(__file__).with_name("fuse_matrix.py")),
            str(directory),
            "1" if export == "squash" else "0",
            json.dumps(cases),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    fuse = json.loads(done.stdout)
    differ = [(c, s, f) for c, s, f in zip(cases, server, fuse, strict=True) if s != f]
    # The one known divergence: nfs-ganesha's VFS FSAL ignores a POSIX ACL on the server's file
    # in NFSv3 and decides by mode bits (whose group bits show the ACL's mask); nfsfs lets the
    # server's file system evaluate the ACL, as the Linux kernel NFS server does.
    acl_divergence = [(["acl", 64055, 64055, write], False, True) for write in (False, True)] + [
        (["acl", 4242, 114, write], True, False) for write in (False, True)
    ]
    assert differ == acl_divergence, "case, ganesha, nfsfs"
    assert True in server and False in server  # the matrix has both answers
