# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What a VM's migration needs bridged, and what refuses it before anything changes: real
qcow2 chains made with qemu-img (read as the image's owner), domain XML as libvirt gives it,
a mountinfo file saying which directory is shared."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from evacuation.conftest import make_image
from libvirt_static_ids.evacuation import disks, probe

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")

OWNER, GROUP = 1101, 1102


def domain(*devices: str) -> str:
    return "<domain type='kvm'><name>web</name><devices>" + "".join(devices) + "</devices></domain>"


def disk(path: Path | str, *, kind="file", device="disk", fmt="raw", extra="", target="vda"):
    source = f"<source file='{path}'/>" if kind == "file" else f"<source dev='{path}'/>"
    return (
        f"<disk type='{kind}' device='{device}'><driver name='qemu' type='{fmt}'/>{source}"
        f"<target dev='{target}'/>{extra}</disk>"
    )


@pytest.fixture
def shared(shared_dir: Path, tmp_path: Path) -> tuple[Path, str]:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"36 25 0:50 / {shared_dir} rw - nfs nas:/vms rw,vers=3\n")
    return shared_dir, str(mountinfo)


def qcow2_over(base: Path, name: str, directory: Path | None = None) -> Path:
    overlay = (directory or base.parent) / name
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(overlay)],
        check=True,
    )
    os.chown(overlay, OWNER, GROUP)
    overlay.chmod(0o600)
    return overlay


def test_a_qcow2_overlay_bridges_its_backing_file_for_reading(shared):
    directory, mountinfo = shared
    base = make_image(directory, "base.raw", OWNER, GROUP, 0o600, data=b"\0" * 65536)
    overlay = qcow2_over(base, "clone.qcow2")
    iso = make_image(directory, "cd.iso", 0, 0, 0o644)
    readonly = make_image(directory, "ro.raw", OWNER, GROUP, 0o600)
    planned = disks.plan(
        domain(
            disk(overlay, fmt="qcow2"),
            disk(iso, device="cdrom", extra="<readonly/>", target="hdc"),
            disk(readonly, extra="<readonly/>", target="vdb"),
        ),
        mountinfo,
    )
    assert planned.refusals == []
    assert planned.writable == [str(overlay)]
    assert planned.readonly == [str(base), str(readonly)]  # never widened for writing
    assert planned.readable == [str(iso)]  # everybody may read it already


def test_a_raw_disk_is_never_probed_for_a_chain(shared):
    """The format is the domain's, never guessed: a guest that wrote a qcow2 header into its
    raw disk does not make us open (and bridge) a host file named in it."""
    directory, mountinfo = shared
    secret = make_image(directory, "secret", 0, 0, 0o600)
    raw = qcow2_over(secret, "raw-but-looks-qcow2.img")
    planned = disks.plan(domain(disk(raw, fmt="raw")), mountinfo)
    assert planned.writable == [str(raw)] and planned.readonly == []


@pytest.mark.parametrize(
    ("device", "reason"),
    [
        ("block", "block disk"),
        ("volume", "volume disk"),
        ("shareable", "shareable and writable"),
        ("local", "local file system"),
        ("hostdev", "pci hostdev"),
        ("local-backing", "backing file"),
    ],
)
def test_what_libvirt_would_refuse_is_refused_up_front(shared, device, reason):
    directory, mountinfo = shared
    image = make_image(directory, "x.raw", OWNER, GROUP, 0o600)
    local_dir = Path(tempfile.mkdtemp(prefix="evac-local-", dir="/var/tmp"))
    local_dir.chmod(0o755)  # the owner reads the chain: it must reach the backing file
    devices = {
        "block": disk("/dev/sda", kind="block"),
        "volume": "<disk type='volume' device='disk'><source pool='p' volume='v'/></disk>",
        "shareable": disk(image, extra="<shareable/>"),
        "local": disk(make_image(local_dir, "l.raw", OWNER, GROUP, 0o600)),
        "hostdev": "<hostdev mode='subsystem' type='pci'/>",
        "local-backing": disk(
            qcow2_over(make_image(local_dir, "b.raw", OWNER, GROUP, 0o600), "o.qcow2", directory),
            fmt="qcow2",
        ),
    }
    try:
        planned = disks.plan(domain(devices[device]), mountinfo)
    finally:
        shutil.rmtree(local_dir)
    assert len(planned.refusals) == 1
    assert reason in planned.refusals[0]


def test_root_squash_is_found_by_a_chown_that_changes_nothing(shared_dir, image):
    """As root, chown each file to the owner it has: allowed here (nothing changes), refused
    where root is squashed (imitated with setpriv; the lab and ganesha tests do it for real)."""
    from evacuation.test_root_squash_local import SQUASHED

    path = image(shared_dir, "sq.qcow2", OWNER, GROUP, 0o600)
    before = os.stat(path)
    assert probe.root_squashed([str(path)]) == []
    after = os.stat(path)
    assert (after.st_uid, after.st_gid, after.st_mode) == (
        before.st_uid,
        before.st_gid,
        before.st_mode,
    )
    script = (
        "import sys; from libvirt_static_ids.evacuation import probe; "
        "print([v.path for v in probe.root_squashed(sys.argv[1:])])"
    )
    import sys

    done = subprocess.run(
        [*SQUASHED, sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == repr([str(path)])
