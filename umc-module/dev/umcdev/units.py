# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The demo host's systemd: the module starts the conversion as a transient unit.

No systemd runs here (PID 1 is not systemd), so the recording fakes of ``systemd-run`` and
``systemctl show`` of the tests (``tests/fake_systemd.py``) go first on PATH, set to really
run a unit's command: detached, as systemd runs it, so the conversion outlives the module
instance that started it; the unit is gone once its command ended (``--collect``). The unit
runs this checkout's ``libvirt-static-ids`` and trusts the demo slapd's CA.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
TESTS = REPO / "tests"
# What start() changes in this process's environment, and stop() puts back.
_ENVIRONMENT = ("PATH", "FAKE_SYSTEMD_STATE", "LDAPNOINIT")


def executable() -> str:
    """The command the unit runs: this interpreter's ``libvirt-static-ids``."""
    script = Path(sys.executable).parent / "libvirt-static-ids"
    if not script.exists():
        raise FileNotFoundError(f"{script} is missing: run `make venv`")
    return str(script)


class DemoSystemd:
    """Fake systemd on PATH (``start``) until ``stop``; ``configure`` points an Instance."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="libvirt-static-ids-systemd-")
        self.state = Path(self.directory, "state")
        self._saved = {name: os.environ.get(name) for name in _ENVIRONMENT}

    def start(self) -> DemoSystemd:
        if str(TESTS) not in sys.path:
            sys.path.insert(0, str(TESTS))
        import fake_systemd  # type: ignore[import-not-found]  # tests/, put on sys.path above

        bin_dir = Path(self.directory, "bin")
        fake_systemd.install(bin_dir, self.state)
        (self.state / "run-command").touch()
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{self._saved['PATH'] or ''}"
        os.environ["FAKE_SYSTEMD_STATE"] = str(self.state)
        # python-ldap's slapdtest sets LDAPNOINIT, which makes libldap ignore LDAPTLS_CACERT;
        # systemd does not pass its caller's environment to a unit.
        os.environ.pop("LDAPNOINIT", None)
        return self

    def configure(self, instance: Any, ca_file: str) -> None:
        instance.executable = executable()
        # The demo slapd's CA, and no LDAP client configuration of this machine.
        instance.unit_environment = {
            "LDAPTLS_CACERT": ca_file,
            "LDAPCONF": os.devnull,
            "LDAPRC": os.devnull,
        }

    def unit_pid(self, name: str) -> int | None:
        """The PID of the unit's command while it is loaded."""
        pid_file = self.state / "units" / f"{name}.pid"
        return int(pid_file.read_text()) if pid_file.exists() else None

    def stop(self) -> None:
        """Restore PATH; a unit's command still running is ended (by its PID) and waited for."""
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for pid_file in (self.state / "units").glob("*.pid"):
            pid = int(pid_file.read_text())
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                while os.path.exists(f"/proc/{pid}") and _state(pid) != "Z":
                    time.sleep(0.05)
        shutil.rmtree(self.directory, ignore_errors=True)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return "Z"
