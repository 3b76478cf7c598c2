# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Fixtures for the directory tests: a real slapd per test, simulated hosts, the CLI, the listener.

- ``testbed``     (tests/conftest.py) a started throwaway slapd with our schema and ACL.
- ``hosts``       ``hosts({"kvm1": SimulatedHost(...), ...})`` -> [SimHost]: fake roots with
                  their own UCR and machine.secret, joined to the testbed.
- ``dircli``      ``dircli(*args, env=None)`` runs the installed command (``--json`` output is
                  validated against the shipped directory-output schema) -> CliResult.
- ``units``       the fake systemd the listener starts its unit with (tests/fake_systemd.py,
                  commands really run): ``units.wait(name)`` -> its output once it ended;
                  ``units.running(name)``; ``units.calls()``; units still running are ended
                  by PID at teardown.
- ``listener``    ``listener(host, "initialize")`` or ``listener(host, "change", dn, old, new)``
                  runs the listener module in its own process, as that host -> parsed output.
                  ``inventory_uri=`` is the libvirt the unit asks.
- ``entry``       ``entry(dn)`` reads all user and operational attributes as the root DN.
- ``admin_args``  connection options for Domain Admin "Administrator" (password in a file).
- ``lab``         all of the above (and tmp_path as ``tmp``) in one object.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap
import pytest

import cli_support
import fake_systemd
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
def listener(testbed: Testbed, tmp_path: Path, units: Units) -> Callable[..., dict[str, Any]]:
    def run(
        host: SimHost,
        event: str,
        dn: str | None = None,
        *,
        old: Mapping[str, Sequence[bytes]] | None = None,
        new: Mapping[str, Sequence[bytes]] | None = None,
        inventory_uri: str | None = None,
    ) -> dict[str, Any]:
        executable = shutil.which("libvirt-static-ids", path=os.path.dirname(sys.executable))
        assert executable, "the installed command is missing from the venv"
        args = [sys.executable, str(HERE / "listener_host.py"), host.root, event]
        if event == "change":
            event_file = tmp_path / f"event-{host.name}.json"
            event_file.write_text(
                json.dumps(
                    {"dn": dn, "old": encode_entry(old), "new": encode_entry(new), "command": "m"}
                )
            )
            args.append(str(event_file))
        args += ["--executable", executable]
        args += ["--inventory-uri", inventory_uri] if inventory_uri else []
        env = child_env(
            testbed,
            UNIVENTION_BASECONF=host.ucr_file,
            PYTHONPATH=os.pathsep.join([str(STUBS), str(REPO / "src")]),
            **units.env(),
        )
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=120, env=env, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return run


class Units:
    """The fake systemd's state directory, seen from the test."""

    def __init__(self, state: Path, bin_dir: Path) -> None:
        self.state = state
        self.bin_dir = bin_dir
        fake_systemd.install(bin_dir, state)
        (state / "run-command").touch()

    def env(self) -> dict[str, str]:
        path = f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}"
        return {"PATH": path, "FAKE_SYSTEMD_STATE": str(self.state)}

    def calls(self) -> list[list[str]]:
        return fake_systemd.calls(self.state)

    def wait(self, name: str, timeout: float = 60.0) -> str:
        """The unit's output (stdout and stderr, as the journal has it), once it ended (at
        most ``timeout`` seconds); the log is taken away, so a next run starts afresh."""
        unit = self.state / "units" / f"{name}.service"
        deadline = time.monotonic() + timeout
        while unit.exists() and not fake_systemd._collected(unit):
            assert time.monotonic() < deadline, f"unit {name} did not end"
            time.sleep(0.02)
        log = self.state / "units" / f"{name}.log"
        text = log.read_text() if log.exists() else ""
        log.unlink(missing_ok=True)
        return text

    def running(self, name: str) -> bool:
        unit = self.state / "units" / f"{name}.service"
        return unit.exists() and not fake_systemd._collected(unit)

    def stop_all(self) -> None:
        for pid_file in (self.state / "units").glob("*.pid"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)


@pytest.fixture
def units(tmp_path: Path) -> Iterator[Units]:
    started = Units(tmp_path / "systemd", tmp_path / "systemd-bin")
    yield started
    started.stop_all()


@dataclass(frozen=True)
class Lab:
    """Every fixture above in one object, for tests that need most of them."""

    testbed: Testbed
    hosts: Callable[..., list[SimHost]]
    listener: Callable[..., dict[str, Any]]
    units: Units
    entry: Callable[[str], dict[str, list[bytes]]]
    cli: Callable[..., CliResult]
    admin_args: list[str]
    tmp: Path


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Lab:
    names = ("testbed", "hosts", "listener", "units", "entry", "dircli", "admin_args", "tmp_path")
    values = [request.getfixturevalue(name) for name in names]
    return Lab(*values)
