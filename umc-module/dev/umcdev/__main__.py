# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``python -m umcdev``: start the demo domain and serve the module until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

from .agents import DemoAgents
from .bridge import ModuleBridge
from .demo import DEFAULT_LOCAL, HOSTS, DemoDomain
from .server import NODE_MODULES, UmcDevServer
from .units import DemoSystemd


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="umcdev", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("UMC_DEV_PORT") or 8710),
        help="port on 127.0.0.1 (default: $UMC_DEV_PORT or 8710)",
    )
    parser.add_argument(
        "--local",
        choices=sorted(HOSTS),
        default=DEFAULT_LOCAL,
        help=f"the demo host the module runs on (default: {DEFAULT_LOCAL})",
    )
    parser.add_argument(
        "--extra-files",
        type=int,
        default=6000,
        metavar="N",
        help="image snapshots on the local host, so a conversion shows progress (default 6000)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    args = parser.parse_args(argv)
    if not (NODE_MODULES / "dojo" / "dojo.js").is_file():
        parser.error(f"Dojo is missing: run `npm ci` in {NODE_MODULES.parent}")
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in background
    demo = DemoDomain.start(args.local, extra_files=args.extra_files)
    agents = server = None
    systemd = DemoSystemd().start()
    try:
        # The host's UCR, as on UCS; the stand-in of univention.config_registry reads it.
        os.environ["UNIVENTION_BASECONF"] = demo.local.ucr_file
        bridge = ModuleBridge(demo.admin.dn, "Administrator", demo.admin.password, demo.local.root)
        systemd.configure(bridge.instance, demo.testbed.ca_file)
        agents = DemoAgents(demo.testbed, list(demo.hosts.values())).start()
        server = UmcDevServer(args.port, bridge, verbose=args.verbose)
        print(f"libvirt-static-ids UMC module (this host: {demo.local.name}): {server.url}")
        print("slapd on", demo.testbed.uri, "- press Ctrl-C to stop", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.server_close()
        if agents is not None:
            agents.stop()
        systemd.stop()
        demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
