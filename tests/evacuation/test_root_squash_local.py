# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""root_squash imitated locally: the command runs as a root without CAP_CHOWN, CAP_FOWNER and
CAP_DAC_OVERRIDE (util-linux setpriv), keeping CAP_SETUID/CAP_SETGID. Root's own chmod and
setfacl then fail with EPERM, as through a root_squash export, and the bridge works as the
file's owner instead. (A root-owned file stays root's here: that case needs the real NFS
server, see test_nfs.py.)"""

from __future__ import annotations

import os

from evacuation.conftest import opens_as
from evacuation.test_bridge_local import getfacl, state

OWNER, GROUP = 1101, 1102
FOREIGN = 64055
SQUASHED = [
    "setpriv",
    "--inh-caps=-chown,-fowner,-dac_override,-dac_read_search",
    "--bounding-set=-chown,-fowner,-dac_override,-dac_read_search",
]


def test_the_imitation_really_takes_roots_powers(shared_dir, image):
    import subprocess

    path = image(shared_dir, "x", OWNER, GROUP, 0o600)
    done = subprocess.run([*SQUASHED, "chmod", "666", str(path)], capture_output=True, check=False)
    assert done.returncode != 0
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_bridge_as_owner_when_root_is_refused(evac, tmp_path, shared_dir, image):
    root = tmp_path / "root"
    root.mkdir()
    path = image(shared_dir, "sq.qcow2", OWNER, GROUP, 0o600)
    before = state(path)
    opened = evac(
        "bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root, wrapper=SQUASHED
    )
    assert opened.code == 0, opened.out
    assert opened.data["files"][0]["via"] == "owner"
    assert f"user:{FOREIGN}:rw-" in getfacl(path)
    assert opens_as(path, FOREIGN, FOREIGN)
    closed = evac("bridge", "close", opened.data["run_id"], root=root, wrapper=SQUASHED)
    assert closed.code == 0, closed.out
    assert closed.data["files"][0]["via"] == "owner"
    assert state(path) == before


def test_hand_over_needs_chown_which_a_squashed_root_may_not(evac, tmp_path, shared_dir, image):
    root = tmp_path / "root"
    root.mkdir()
    path = image(shared_dir, "h.qcow2", OWNER, GROUP, 0o600)
    opened = evac("bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root)
    run_id = opened.data["run_id"]
    refused = evac("bridge", "close", run_id, "--hand-over", root=root, wrapper=SQUASHED)
    assert refused.code == 1
    (entry,) = refused.data["files"]
    assert entry["status"] == "kept"
    assert entry["advice"].startswith("as root on this host: chown 64055:64055")
    assert opens_as(path, FOREIGN, FOREIGN)  # the bridge stays: the VM still needs it
    assert [b["run_id"] for b in evac("bridge", "status", root=root).data["bridges"]] == [run_id]
    done = evac("bridge", "close", run_id, "--hand-over", root=root)
    assert done.code == 0
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (FOREIGN, FOREIGN, 0o600)
    assert "system.posix_acl_access" not in os.listxattr(path)
