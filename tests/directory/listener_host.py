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
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_FILE = os.path.join(HERE, "..", "..", "listener", "libvirt-static-ids.py")


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
    logging.getLogger("univention.listener").addHandler(collect)
    logging.getLogger("univention.listener").setLevel(logging.DEBUG)

    # What the listener's loader does: import the file under its own name ...
    spec = importlib.util.spec_from_file_location("libvirt-static-ids", MODULE_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["libvirt-static-ids"] = module
    spec.loader.exec_module(module)
    handler_class = module.LibvirtStaticIds
    # ... and configure it as the metaclass does for files under /usr/lib/univention-...
    handler_class.config = handler_class._get_configuration("libvirt-static-ids")
    from univention.listener import ListenerModuleAdapter

    adapter = ListenerModuleAdapter(handler_class.config)
    listener_globals = adapter.get_globals()
    handler = adapter._module_handler
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
