# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The module server's part: one backend ``Instance`` for a session, commands in, answers out.

UMC starts a module process per session, sets the user on the ``Instance``, calls ``init()``
and then ``execute(function, request)`` for every command, the function named by the
module's XML; the answer arrives through ``finished`` as a ``Response``. This bridge does the
same in-process, with the stand-ins of ``univention.management.console`` on the path.
"""

from __future__ import annotations

import importlib
import sys
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
UMC = REPO / "umc-module" / "umc"
STUBS = REPO / "tests" / "stubs"
MODULE_ID = "libvirt-static-ids"
# How long a command may take before the harness answers 504 (a hang is a bug to see).
TIMEOUT = 300.0


def use_stubs() -> None:
    """Put the univention stand-ins and the module's Python package where UMC has them."""
    if str(STUBS) not in sys.path:
        sys.path.insert(0, str(STUBS))
    modules = importlib.import_module("univention.management.console.modules")
    if str(UMC / "python") not in modules.__path__:
        modules.__path__.append(str(UMC / "python"))


def commands(xml_file: Path = UMC / f"{MODULE_ID}.xml") -> dict[str, str]:
    """Command name -> backend function, as the module's XML declares them."""
    module = ET.parse(xml_file).getroot().find("module")  # noqa: S314 - our own file
    if module is None:
        raise ValueError(f"{xml_file} has no <module>")
    return {c.attrib["name"]: c.attrib["function"] for c in module.iter("command")}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class ModuleBridge:
    def __init__(self, user_dn: str, username: str, password: str, host_root: str) -> None:
        use_stubs()
        backend = importlib.import_module(f"univention.management.console.modules.{MODULE_ID}")
        self.commands = commands()
        self.instance = backend.Instance()
        self.instance.host_root = host_root
        self.instance.username = username
        self.instance.user_dn = user_dn
        self.instance.password = password
        self.username = username
        self._session = (username, user_dn, password)
        self._waiting: dict[str, tuple[threading.Event, list[Any]]] = {}
        self._lock = threading.Lock()
        self.instance.signal_connect("success", self._answered)
        self.instance.init()

    def _answered(self, response: Any) -> None:
        with self._lock:
            waiter = self._waiting.pop(response.id, None)
        if waiter is not None:
            waiter[1].append(response)
            waiter[0].set()

    def call(
        self,
        command: str,
        options: Any,
        flavor: str | None,
        headers: dict[str, str],
        cookies: dict[str, str],
    ) -> Answer:
        function = self.commands.get(command)
        if function is None:
            return Answer(404, {"status": 404, "message": f"Unknown command {command!r}"})
        from univention.management.console.protocol.message import Request

        request = Request("COMMAND", [command], options)
        request.flavor = flavor
        request.username, request.user_dn, request.password = self._session
        request.http_method = "POST"
        request.headers = dict(headers)
        request.cookies = dict(cookies)
        done = threading.Event()
        box: list[Any] = []
        with self._lock:
            self._waiting[request.id] = (done, box)
        self.instance.execute(function, request)
        if not done.wait(TIMEOUT):
            return Answer(504, {"status": 504, "message": f"{command} did not answer"})
        response = box[0]
        status = int(response.status or 200)
        body: dict[str, Any] = {"status": status, "message": response.message}
        body["result"] = response.result
        if status >= 300:
            error = response.error or {}
            body["traceback"] = error.get("traceback")
            body["location"] = None
        return Answer(status, body)

    def close(self) -> None:
        self.instance.destroy()
