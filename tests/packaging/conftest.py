# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Fixtures for the packaging tests: the Debian packages, built once per session.

- ``debs``       {package name: Path of its .deb}, built by debbuild.py from a copy of the
                 tree in a temporary directory (the checkout is never written to).
- ``unpacked``   {package name: Path of the .deb's contents}, unpacked with ``dpkg-deb -x``.
- ``deb_files``  {package name: set of the paths it ships, like "/usr/bin/libvirt-static-ids"}.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_packaging_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


debbuild = _load("debbuild")

CORE = "python3-libvirt-static-ids"
UCS = "univention-libvirt-static-ids"
TOOLS = ("dpkg-buildpackage", "lintian", "dh_python3", "msgfmt", "shellcheck")


@pytest.fixture(scope="session")
def debs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    missing = [tool for tool in TOOLS if shutil.which(tool, path=debbuild.SYSTEM_PATH) is None]
    if missing:
        pytest.fail(f"packaging tools missing ({', '.join(missing)}): run scripts/install-deps")
    outdir = tmp_path_factory.mktemp("debs")
    built = debbuild.build(outdir)
    yield {path.name.split("_", 1)[0]: path for path in built}


@pytest.fixture(scope="session")
def unpacked(debs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    roots = {}
    for name in (CORE, UCS):
        root = tmp_path_factory.mktemp(name)
        subprocess.run(["dpkg-deb", "-x", str(debs[name]), str(root)], check=True)
        roots[name] = root
    return roots


@pytest.fixture(scope="session")
def deb_files(debs: dict[str, Path]) -> dict[str, set[str]]:
    files = {}
    for name, deb in debs.items():
        listing = subprocess.run(
            ["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True
        ).stdout
        names = subprocess.run(
            ["tar", "-t"], input=listing, capture_output=True, check=True
        ).stdout.decode()
        files[name] = {
            "/" + line.removeprefix("./").rstrip("/") for line in names.splitlines() if line
        }
    return files
