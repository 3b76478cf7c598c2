# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Build the Debian packages from a copy of the source tree, never in the checkout.

``python3 tests/packaging/debbuild.py OUTDIR`` copies the tree (without .venv, node_modules,
.git, caches and build products) to a temporary directory, runs ``dpkg-buildpackage -us -uc
-b`` there with the system PATH (so the system Python builds) and moves the .deb files and
the build log into OUTDIR. The packaging tests and ``make deb`` both use it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
EXCLUDE = (
    ".venv",
    "node_modules",
    ".git",
    "__pycache__",
    "*.so",
    "*.egg-info",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".import_linter_cache",
    "artifacts",
    "build",
)


def copy_tree(destination: Path) -> Path:
    """The source tree, copied to ``destination/src`` without what the build must not see."""
    source = destination / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*EXCLUDE), symlinks=True)
    return source


def build(outdir: Path) -> list[Path]:
    """Build every binary package; return the .deb files now in ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="libvirt-static-ids-deb-") as work:
        source = copy_tree(Path(work))
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PATH"] = SYSTEM_PATH
        log = outdir / "build.log"
        with log.open("w", encoding="utf-8") as handle:
            proc = subprocess.run(
                ["dpkg-buildpackage", "-us", "-uc", "-b"],
                cwd=source,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if proc.returncode != 0:
            raise RuntimeError(f"dpkg-buildpackage failed ({proc.returncode}); see {log}")
        debs = []
        for deb in Path(work).glob("*.deb"):
            target = outdir / deb.name
            shutil.move(str(deb), target)
            debs.append(target)
    return sorted(debs)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: debbuild.py OUTDIR", file=sys.stderr)
        return 2
    for deb in build(Path(argv[0]).resolve()):
        print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
