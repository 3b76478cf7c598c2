# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""probe-access: a child with the given numbers opens each file O_RDWR; verdicts match the
kernel's own answer (util-linux setpriv), nothing is written, bad input exits 2."""

from __future__ import annotations

import os

import pytest

from evacuation.conftest import opens_as

OWNER, GROUP = 1101, 1102


def test_owner_opens_others_do_not(evac, shared_dir, image):
    own = image(shared_dir, "own.qcow2", OWNER, GROUP, 0o600)
    result = evac("probe-access", "--uid", OWNER, "--gid", GROUP, own)
    assert result.code == 0
    assert result.data["all_ok"] is True
    result = evac("probe-access", "--uid", 64055, "--gid", 64055, own)
    assert result.code == 3
    (verdict,) = result.data["paths"]
    assert verdict == {
        "path": str(own),
        "ok": False,
        "errno": "EACCES",
        "message": "Permission denied",
    }


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o660, 0o644, 0o666, 0o400])
@pytest.mark.parametrize(
    ("uid", "gid", "groups"),
    [
        (OWNER, 9, ()),  # owner
        (77, GROUP, ()),  # the file's group as primary GID
        (77, 9, (5, GROUP)),  # the file's group as a supplementary GID
        (64055, 64055, ()),  # a stranger
    ],
)
def test_verdicts_agree_with_the_kernel(evac, shared_dir, image, mode, uid, gid, groups):  # noqa: PLR0917 - fixtures and parameters
    path = image(shared_dir, f"img-{mode:o}", OWNER, GROUP, mode)
    args = ["probe-access", "--uid", uid, "--gid", gid]
    if groups:
        args += ["--groups", ",".join(map(str, groups))]
    result = evac(*args, path)
    expected = opens_as(path, uid, gid, groups or (gid,))
    assert result.data["all_ok"] is expected
    assert result.code == (0 if expected else 3)


def test_every_path_gets_its_verdict_and_nothing_is_written(evac, shared_dir, image):
    good = image(shared_dir, "good", 64055, 64055, 0o600, data=b"payload")
    bad = image(shared_dir, "bad", OWNER, GROUP, 0o600)
    before = os.stat(good)
    result = evac("probe-access", "--uid", 64055, "--gid", 64055, good, bad, shared_dir / "nope")
    assert result.code == 3
    verdicts = {v["path"]: (v["ok"], v["errno"]) for v in result.data["paths"]}
    assert verdicts == {
        str(good): (True, None),
        str(bad): (False, "EACCES"),
        str(shared_dir / "nope"): (False, "ENOENT"),
    }
    after = os.stat(good)
    assert good.read_bytes() == b"payload"
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


def test_a_directory_cannot_be_opened_read_write(evac, shared_dir):
    result = evac("probe-access", "--uid", 64055, "--gid", 64055, shared_dir)
    assert result.code == 3
    assert result.data["paths"][0]["errno"] == "EISDIR"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--uid", "abc", "--gid", "5"], "'abc'"),
        (["--uid", "0", "--gid", "5"], "--uid 0"),
        (["--uid", "5", "--gid", "-1"], "'-1'"),
        (["--uid", "5", "--gid", "5", "--groups", "7,x"], "'x'"),
        (["--uid", "5", "--gid", "5", "--groups", ","], "','"),
        (["--uid", "5", "--gid", "5", "--groups", "65534"], "65534"),
    ],
)
def test_bad_numbers_exit_2_naming_the_value(evac, shared_dir, image, args, named):
    path = image(shared_dir, "img", OWNER, GROUP, 0o600)
    result = evac("probe-access", *args, path)
    assert result.code == 2
    assert named in result.data["error"]["message"]


def test_bad_nfs_url_exits_2(evac):
    result = evac("probe-access", "--uid", 5, "--gid", 5, "nfs://server/export/x?uid=0")
    assert result.code == 2
    assert "uid" in result.data["error"]["message"]
    result = evac("probe-access", "--uid", 5, "--gid", 5, "nfs:///no-host")
    assert result.code == 2


def test_human_output_names_errno(evac, shared_dir, image):
    path = image(shared_dir, "img", OWNER, GROUP, 0o600)
    result = evac("probe-access", "--uid", 64055, "--gid", 64055, path, json=False)
    assert result.code == 3
    assert "DENIED" in result.out
    assert "EACCES" in result.out
