# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""One simulated host's listener: load the listener module as UDL would, feed it one event.

Run as its own process per host (like the listener daemon on each host), with
UNIVENTION_BASECONF naming the host's UCR and tests/stubs on PYTHONPATH:

    python listener_host.py ROOT initialize
    python listener_host.py ROOT change EVENT.json     # {"dn", "old", "new", "command"}

The module starts its transient unit through ``systemd-run`` on PATH (the tests put the
recording fake of tests/fake_systemd.py first); ``--executable`` names the command the unit
runs (the installed one, not /usr/bin's) and ``--inventory-uri`` the libvirt it asks.
Prints {"filter", "attributes", "log": [...]} as JSON.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import listener_loader


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


def _entry(data: dict[str, list[str]]) -> dict[str, list[bytes]]:
    return {name: [base64.b64decode(v) for v in values] for name, values in data.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("event", choices=["initialize", "change"])
    parser.add_argument("event_file", nargs="?")
    parser.add_argument("--executable", required=True)
    parser.add_argument("--inventory-uri")
    args = parser.parse_args(argv)

    collect = _Collect()
    listener_globals, handler = listener_loader.load(collect, logging.DEBUG)
    handler.root = args.root
    handler.executable = args.executable
    handler.connect = args.inventory_uri

    result: dict[str, Any] = {
        "filter": listener_globals["filter"],
        "attributes": listener_globals["attributes"],
    }
    if args.event == "initialize":
        listener_globals["initialize"]()
    else:
        with open(args.event_file, encoding="utf-8") as handle:
            event = json.load(handle)
        listener_globals["handler"](
            event["dn"], _entry(event["new"]), _entry(event["old"]), event.get("command", "m")
        )
    result["log"] = collect.lines
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
