# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""python3-libvirt-static-ids installs on plain Debian and its CLI works with the system Python.

Proves: the package installs with ``dpkg -i`` once its Debian dependencies are present (apt
installs any that are missing: python3-ldap, python3-jsonschema, python3-libvirt, which
scripts/install-deps lists anyway); ``/usr/bin/libvirt-static-ids`` runs under /usr/bin/python3,
outside the venv and the checkout, imports the core and its C extension from dist-packages,
and ``survey --root`` reports a simulated dynamic KVM host; ``dpkg -r`` removes it again.

This test deliberately changes the real system: it installs our own package into /usr and
removes it at the end (also when the test fails), so the machine is left as it was. It needs
root and refuses to run if the package was installed before (it would remove someone's copy).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from libvirt_static_ids_testbed import simulated

CORE = "python3-libvirt-static-ids"
DEPENDENCIES = ("python3-ldap", "python3-jsonschema", "python3-libvirt", "acl")
SYSTEM_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dpkg -i needs root")


def _installed(package: str) -> bool:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0 and "ok installed" in proc.stdout


@pytest.fixture(scope="module")
def installed(debs: dict[str, Path]) -> Iterator[Path]:
    if _installed(CORE):
        pytest.fail(f"{CORE} is installed already: not touching it (dpkg -r it first)")
    missing = [package for package in DEPENDENCIES if not _installed(package)]
    if missing:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            env={**SYSTEM_ENV, "DEBIAN_FRONTEND": "noninteractive"},
            check=True,
            capture_output=True,
        )
    try:
        subprocess.run(["dpkg", "-i", str(debs[CORE])], check=True, capture_output=True)
        yield Path("/usr/bin/libvirt-static-ids")
    finally:
        subprocess.run(["dpkg", "-r", CORE], check=True, capture_output=True)
    assert not _installed(CORE)
    assert not Path("/usr/bin/libvirt-static-ids").exists()
    assert not Path("/usr/lib/python3/dist-packages/libvirt_static_ids").exists()


def _system_python(code: str, cwd: Path) -> str:
    return subprocess.run(
        ["/usr/bin/python3", "-c", code],
        cwd=cwd,
        env=SYSTEM_ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_cli_runs_with_the_system_python(installed, tmp_path):
    assert installed.read_text().splitlines()[0].replace(" ", "") == "#!/usr/bin/python3"
    where = _system_python(
        "import libvirt_static_ids, libvirt_static_ids.files._walk as w; "
        "print(libvirt_static_ids.__file__); print(w.__file__)",
        tmp_path,
    ).split()
    assert all(path.startswith("/usr/lib/python3/dist-packages/") for path in where), where
    version = subprocess.run(
        [str(installed), "--version"],
        check=False,
        env=SYSTEM_ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert version.returncode == 0 and version.stdout.strip()


def test_survey_of_a_demo_root(installed, tmp_path):
    root = tmp_path / "host"
    root.mkdir()
    # The demo host, built by the test bed (never shipped), then surveyed by the installed package.
    simulated.build(str(root))
    proc = subprocess.run(
        [str(installed), "--root", str(root), "--json", "survey"],
        env=SYSTEM_ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["command"] == "survey"
    human = subprocess.run(
        [str(installed), "--root", str(root), "survey"],
        env=SYSTEM_ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert human.returncode == 0, human.stderr
    assert "libvirt-qemu" in human.stdout
    assert shutil.which("libvirt-static-ids", path=SYSTEM_ENV["PATH"]) == str(installed)
