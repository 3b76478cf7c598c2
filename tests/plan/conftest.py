# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Fixtures of the plan tests: the ``plan`` command against a real slapd, and libvirt nodes.

- ``plan_cli``   ``plan_cli(*args)`` runs the installed command in its own process, with the
                 Domain Admin's connection options; ``--json`` output is validated against
                 the shipped ``plan-output.schema.json``.
- ``node``       ``node(name, domains)`` writes a libvirt test-driver node XML whose domains
                 are ``(name, memory MiB, [disk XML])`` and returns its ``test://`` URI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import cli_support
from cli_support import CliResult

from .plan_support import DOMAIN_XML


@pytest.fixture
def plan_cli(testbed: Any, tmp_path: Path) -> Callable[..., CliResult]:
    connection = testbed.admin_options(str(tmp_path))
    root = tmp_path / "admin-root"
    root.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LDAP", "UNIVENTION"))}
    env.update(LDAPCONF=os.devnull, LDAPRC=os.devnull, LDAPTLS_CACERT=testbed.ca_file)

    def run(*args: str, connect: bool = True) -> CliResult:
        return cli_support.run(
            "plan",
            *args,
            *(connection if connect else []),
            root=root,
            schema="plan-output.schema.json",
            env=env,
        )

    return run


@pytest.fixture
def node(tmp_path: Path) -> Callable[..., str]:
    def write(name: str, domains: Sequence[tuple[str, int, Sequence[str]]]) -> str:
        body = "\n".join(
            DOMAIN_XML.format(name=vm, kib=mib * 1024, disks="\n".join(disks))
            for vm, mib, disks in domains
        )
        path = tmp_path / f"{name}.xml"
        path.write_text(f"<node>\n{body}\n</node>\n")
        return f"test://{path}"

    return write
