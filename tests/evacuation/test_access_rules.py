# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""access.allows (POSIX rules on recorded metadata, for the plan's checker) agrees with the
kernel's decision (setpriv opening the real file) over modes, ACLs and identities."""

from __future__ import annotations

import os
import subprocess

import pytest

from evacuation.conftest import opens_as
from libvirt_static_ids.files import access, metadata
from libvirt_static_ids.ids import Identity

ACLS = [None, "u:64055:rw", "g:64055:rw", "u:64055:r", "u:64055:rw,m::r", "g:1102:rw,g:64055:r"]
IDENTITIES = [
    Identity(1101, 9),
    Identity(64055, 64055),
    Identity(77, 1102),
    Identity(77, 9, (5, 64055)),
    Identity(77, 9),
]


@pytest.mark.parametrize("mode", [0o600, 0o660, 0o606, 0o640])
@pytest.mark.parametrize("spec", ACLS)
def test_allows_matches_the_kernel(shared_dir, image, mode, spec):
    path = image(shared_dir, "f", 1101, 1102, mode)
    if spec:
        subprocess.run(["setfacl", "-m", spec, str(path)], check=True)
    meta = metadata.read(os.fsencode(path), os.lstat(path))
    for identity in IDENTITIES:
        kernel = opens_as(path, identity.uid, identity.gid, identity.groups or (identity.gid,))
        assert access.allows(meta, identity) is kernel, (oct(mode), spec, identity)
