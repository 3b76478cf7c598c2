# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Against a real NFS server: nfs-ganesha 4.3 (VFS FSAL, NFSv3, sec=sys) on loopback in its own
network namespace, one root_squash and one no_root_squash export, asked with libnfs clients
that carry chosen numeric identities.

What the server showed (and these tests pin down):
- it decides by mode bits only: ganesha's VFS FSAL here does not evaluate POSIX ACLs
  (``fsal_check_access_no_acl``), so an ACL bridge made on the server's disk opens nothing
  over NFS; our probe through the server (an ``nfs://`` URL) sees that, a local probe cannot;
- root_squash refuses root's chmod and chown (NFS3ERR_PERM); the owner's chmod passes.
"""

from __future__ import annotations

import os

import pytest

from evacuation.test_bridge_local import state

OWNER, GROUP = 1101, 1102
FOREIGN = 64055
pytestmark = pytest.mark.usefixtures("nfs")


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "root"
    path.mkdir()
    return path


def _name(request, suffix: str) -> str:
    return f"{request.node.name[:40]}-{suffix}".replace("[", "-").replace("]", "")


IDENTITIES = [(OWNER, 9), (77, GROUP), (FOREIGN, FOREIGN)]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o660, 0o606, 0o666])
def test_probe_verdicts_agree_with_the_server(evac, nfs, image, request, mode):
    path = image(nfs.squash, _name(request, "img"), OWNER, GROUP, mode)
    url = nfs.url(path)
    for uid, gid in IDENTITIES:
        server_says = nfs.rw(url, uid, gid)
        local = evac("probe-access", "--uid", uid, "--gid", gid, "--groups", gid, path)
        remote = evac(
            "probe-access", "--uid", uid, "--gid", gid, "--groups", gid, url, wrapper=nfs.wrapper
        )
        assert local.data["all_ok"] is server_says, (uid, gid, oct(mode))
        assert remote.data["all_ok"] is server_says, (uid, gid, oct(mode))
        assert remote.code == (0 if server_says else 3)
        # libnfs's own nfs-cat as that identity: read access agrees with the mode's read bits
        readable = bool(mode & (0o400 if uid == OWNER else 0o040 if gid == GROUP else 0o004))
        assert nfs.cat(url, uid, gid) is readable


def test_supplementary_groups_travel_in_the_rpc(evac, nfs, image, request):
    path = image(nfs.squash, _name(request, "img"), OWNER, GROUP, 0o660)
    url = nfs.url(path)
    without = evac("probe-access", "--uid", 77, "--gid", 9, url, wrapper=nfs.wrapper)
    with_group = evac(
        "probe-access", "--uid", 77, "--gid", 9, "--groups", f"9,{GROUP}", url, wrapper=nfs.wrapper
    )
    assert (without.code, with_group.code) == (3, 0)


@pytest.mark.parametrize("export", ["squash", "nosquash"])
def test_chmod_bridge_opens_and_closes_for_the_server(evac, nfs, root, image, request, export):  # noqa: PLR0917 - fixtures and parameters
    path = image(getattr(nfs, export), _name(request, "img"), OWNER, GROUP, 0o600)
    url = nfs.url(path)
    before = state(path)
    assert not nfs.cat(url, FOREIGN, FOREIGN)
    opened = evac(
        "bridge", "open", "--mode", "chmod", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root
    )
    assert opened.code == 0
    assert nfs.cat(url, FOREIGN, FOREIGN)
    assert nfs.rw(url, FOREIGN, FOREIGN)
    closed = evac("bridge", "close", opened.data["run_id"], root=root)
    assert closed.code == 0
    assert not nfs.cat(url, FOREIGN, FOREIGN)
    assert not nfs.rw(url, FOREIGN, FOREIGN)
    assert nfs.rw(url, OWNER, GROUP)
    assert state(path) == before


def test_acl_bridge_is_not_honoured_by_this_server_and_the_probe_sees_it(
    evac, nfs, root, image, request
):
    path = image(nfs.squash, _name(request, "img"), OWNER, GROUP, 0o600)
    url = nfs.url(path)
    opened = evac("bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, path, root=root)
    assert opened.code == 0
    # The kernel on the server's disk honours the ACL; ganesha (mode bits only) does not.
    local = evac("probe-access", "--uid", FOREIGN, "--gid", FOREIGN, path)
    remote = evac("probe-access", "--uid", FOREIGN, "--gid", FOREIGN, url, wrapper=nfs.wrapper)
    assert local.code == 0
    assert not nfs.rw(url, FOREIGN, FOREIGN)
    assert remote.code == 3
    assert remote.data["paths"][0]["errno"] == "EACCES"
    evac("bridge", "close", opened.data["run_id"], root=root)


def test_bridge_through_root_squash_is_made_as_the_owner(evac, nfs, root, image, request):
    path = image(nfs.squash, _name(request, "img"), OWNER, GROUP, 0o600)
    url = nfs.url(path)
    before = state(path)
    opened = evac(
        "bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, url, root=root, wrapper=nfs.wrapper
    )
    assert opened.code == 0, opened.out
    (entry,) = opened.data["files"]
    # No POSIX ACL through an nfs:// URL: the fallback is loud, and root is squashed.
    assert entry["mode"] == "chmod"
    assert entry["via"] == "owner"
    assert any("WORLD-WRITABLE" in w for w in opened.data["warnings"])
    assert os.stat(path).st_mode & 0o777 == 0o666
    assert nfs.rw(url, FOREIGN, FOREIGN)
    closed = evac("bridge", "close", opened.data["run_id"], root=root, wrapper=nfs.wrapper)
    assert closed.code == 0, closed.out
    assert closed.data["files"][0]["via"] == "owner"
    assert state(path) == before
    assert not nfs.rw(url, FOREIGN, FOREIGN)


def test_no_root_squash_lets_root_do_it(evac, nfs, root, image, request):
    path = image(nfs.nosquash, _name(request, "img"), OWNER, GROUP, 0o600)
    url = nfs.url(path)
    opened = evac(
        "bridge", "open", "--uid", FOREIGN, "--gid", FOREIGN, url, root=root, wrapper=nfs.wrapper
    )
    assert opened.code == 0
    assert opened.data["files"][0]["via"] == "root"
    evac("bridge", "close", opened.data["run_id"], root=root, wrapper=nfs.wrapper)


def test_root_owned_image_under_root_squash_fails_saying_what_to_run_on_the_server(
    evac, nfs, root, image, request
):
    good = image(nfs.squash, _name(request, "good"), OWNER, GROUP, 0o600)
    rooted = image(nfs.squash, _name(request, "root"), 0, 0, 0o600)
    before = {p: state(p) for p in (good, rooted)}
    result = evac(
        "bridge",
        "open",
        "--mode",
        "chmod",
        "--uid",
        FOREIGN,
        "--gid",
        FOREIGN,
        nfs.url(good),
        nfs.url(rooted),
        root=root,
        wrapper=nfs.wrapper,
    )
    assert result.code == 1
    assert result.data["status"] == "failed"
    first, second = result.data["files"]
    assert first["status"] == "undone"
    assert second["status"] == "failed"
    assert second["errno"] == "EPERM"
    assert second["advice"] == f"on NFS server 127.0.0.1 (as root): chmod 0666 {rooted}"
    assert {p: state(p) for p in (good, rooted)} == before


def test_roots_chown_through_root_squash_is_refused_and_reported(evac, nfs, root, image, request):
    """Hand-over (what libvirt's relabel on the destination does) needs chown: refused through
    root_squash, so the bridge stays open and the command to run on the server is given; on a
    no_root_squash export the same close hands the image over."""
    squashed = image(nfs.squash, _name(request, "sq"), OWNER, GROUP, 0o600)
    open_one = evac(
        "bridge",
        "open",
        "--uid",
        FOREIGN,
        "--gid",
        FOREIGN,
        nfs.url(squashed),
        root=root,
        wrapper=nfs.wrapper,
    )
    run_id = open_one.data["run_id"]
    refused = evac("bridge", "close", run_id, "--hand-over", root=root, wrapper=nfs.wrapper)
    assert refused.code == 1
    (entry,) = refused.data["files"]
    assert (entry["status"], entry["errno"]) == ("kept", "EPERM")
    # Only the chown needs the server's root: the mode goes back by itself afterwards.
    assert entry["advice"] == (
        f"on NFS server 127.0.0.1 (as root): chown {FOREIGN}:{FOREIGN} {squashed}"
    )
    assert os.stat(squashed).st_uid == OWNER
    assert nfs.rw(nfs.url(squashed), FOREIGN, FOREIGN)  # still bridged: the VM keeps access
    listed = evac("bridge", "status", root=root, wrapper=nfs.wrapper).data["bridges"]
    assert [b["awaiting"] for b in listed] == [
        [{"path": nfs.url(squashed), "command": entry["advice"]}]
    ]
    os.chown(squashed, FOREIGN, FOREIGN)  # the NFS admin runs it, on the server's own file
    # The timer's close retries awaiting bridges at once, TTL or not; as the new owner now.
    done = evac("bridge", "close", "--expired", root=root, wrapper=nfs.wrapper)
    assert done.code == 0, done.out
    assert [r["status"] for r in done.data["closed"]] == ["closed"]
    st = os.stat(squashed)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (FOREIGN, FOREIGN, 0o600)
    assert nfs.rw(nfs.url(squashed), FOREIGN, FOREIGN)
    assert not nfs.rw(nfs.url(squashed), OWNER, GROUP)

    free = image(nfs.nosquash, _name(request, "free"), OWNER, GROUP, 0o600)
    opened = evac(
        "bridge",
        "open",
        "--uid",
        FOREIGN,
        "--gid",
        FOREIGN,
        nfs.url(free),
        root=root,
        wrapper=nfs.wrapper,
    )
    handed = evac(
        "bridge", "close", opened.data["run_id"], "--hand-over", root=root, wrapper=nfs.wrapper
    )
    assert handed.code == 0, handed.out
    st = os.stat(free)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (FOREIGN, FOREIGN, 0o600)
    assert nfs.rw(nfs.url(free), FOREIGN, FOREIGN)
    assert not nfs.rw(nfs.url(free), OWNER, GROUP)
