# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Fixtures for the directory tests: a real slapd per test, simulated hosts, the CLI, the listener.

- ``testbed``     (tests/conftest.py) a started throwaway slapd with our schema and ACL.
- ``hosts``       ``hosts({"kvm1": SimulatedHost(...), ...})`` -> [SimHost]: fake roots with
                  their own UCR and machine.secret, joined to the testbed.
- ``dircli``      ``dircli(*args, env=None)`` runs the installed command (``--json`` output is
                  validated against the shipped directory-output schema) -> CliResult.
- ``listener``    ``listener(host, "initialize")`` or ``listener(host, "change", dn, old, new)``
                  runs the listener module in its own process, as that host -> parsed output.
- ``entry``       ``entry(dn)`` reads all user and operational attributes as the root DN.
- ``admin_args``  connection options for Domain Admin "Administrator" (password in a file).
- ``lab``         all of the above (and tmp_path as ``tmp``) in one object.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap
import pytest

import cli_support
from cli_support import CliResult
from libvirt_static_ids_testbed import SimHost, Testbed, build_domain
from libvirt_static_ids_testbed.simulated import SimulatedHost

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
STUBS = REPO / "tests" / "stubs"

if str(STUBS) not in sys.path:
    sys.path.insert(0, str(STUBS))


DEFAULT_HOST = SimulatedHost(uid=4109, gid=4114)


def child_env(testbed: Testbed | None = None, **extra: str) -> dict[str, str]:
    """Environment for a child process: no UCR or LDAP client configuration leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("UNIVENTION_BASECONF", "LDAPNOINIT") and not k.startswith("LDAPTLS_")
    }
    env["LDAPCONF"] = os.devnull  # never read /etc/ldap/ldap.conf
    env["LDAPRC"] = os.devnull
    if testbed is not None:
        env["LDAPTLS_CACERT"] = testbed.ca_file
    env.update(extra)
    return env


@pytest.fixture
def hosts(testbed: Testbed, tmp_path: Path) -> Callable[..., list[SimHost]]:
    def make(spec: Mapping[str, SimulatedHost | None]) -> list[SimHost]:
        directory = tmp_path / "hosts"
        directory.mkdir(exist_ok=True)
        # Numbers no other test runs processes as: a host's survey looks at the real /proc.
        chosen = {name: host or DEFAULT_HOST for name, host in spec.items()}
        return build_domain(testbed, str(directory), chosen)

    return make


@pytest.fixture
def dircli(testbed: Testbed) -> Callable[..., CliResult]:
    def run(*args: str, env: Mapping[str, str] | None = None) -> CliResult:
        return cli_support.run(
            *args,
            schema="directory-output.schema.json",
            env=env if env is not None else child_env(testbed),
        )

    return run


@pytest.fixture
def admin_args(testbed: Testbed, tmp_path: Path) -> list[str]:
    return testbed.admin_options(str(tmp_path))


def encode_entry(entry: Mapping[str, Sequence[bytes]] | None) -> dict[str, list[str]]:
    return {k: [base64.b64encode(v).decode() for v in vs] for k, vs in (entry or {}).items()}


@pytest.fixture
def entry(testbed: Testbed) -> Callable[[str], dict[str, list[bytes]]]:
    def read(dn: str) -> dict[str, list[bytes]]:
        found = testbed.admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*", "+"])
        return found[0][1]

    return read


@pytest.fixture
def listener(testbed: Testbed, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    def run(
        host: SimHost,
        event: str,
        dn: str | None = None,
        *,
        old: Mapping[str, Sequence[bytes]] | None = None,
        new: Mapping[str, Sequence[bytes]] | None = None,
        fake_launch: Path | None = None,
    ) -> dict[str, Any]:
        args = [sys.executable, str(HERE / "listener_host.py"), host.root, event]
        if event == "change":
            event_file = tmp_path / f"event-{host.name}.json"
            event_file.write_text(
                json.dumps(
                    {"dn": dn, "old": encode_entry(old), "new": encode_entry(new), "command": "m"}
                )
            )
            args.append(str(event_file))
        if fake_launch is not None:
            args += ["--fake-launch", str(fake_launch)]
        env = child_env(
            testbed,
            UNIVENTION_BASECONF=host.ucr_file,
            PYTHONPATH=os.pathsep.join([str(STUBS), str(REPO / "src")]),
        )
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=120, env=env, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return run


@dataclass(frozen=True)
class Lab:
    """Every fixture above in one object, for tests that need most of them."""

    testbed: Testbed
    hosts: Callable[..., list[SimHost]]
    listener: Callable[..., dict[str, Any]]
    entry: Callable[[str], dict[str, list[bytes]]]
    cli: Callable[..., CliResult]
    admin_args: list[str]
    tmp: Path


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Lab:
    names = ("testbed", "hosts", "listener", "entry", "dircli", "admin_args", "tmp_path")
    values = [request.getfixturevalue(name) for name in names]
    return Lab(*values)
