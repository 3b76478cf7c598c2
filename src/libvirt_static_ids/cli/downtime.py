# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``convert --suspend-vms | --shutdown-vms``: the options, and the Stopper they ask for.

Kept out of cli_host.py, which adds the options to ``convert`` and passes ``stopper(args)``
on. The libvirt URI is opened here, before anything is journaled: a URI libvirt refuses is
bad input (exit 2) and changes nothing. The work modules are imported only when asked for.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from libvirt_static_ids.errors import UsageError

if TYPE_CHECKING:
    from libvirt_static_ids.host.downtime import Stopper

DEFAULT_URI = "qemu:///system"  # hypervisor.DEFAULT_URI, without importing it at start


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "downtime", "stop the running VMs for the conversion and start them again afterwards"
    )
    how = group.add_mutually_exclusive_group()
    how.add_argument(
        "--suspend-vms",
        dest="stop_vms",
        action="store_const",
        const="suspend",
        help="managed save (suspend to disk) each running VM, resume it afterwards",
    )
    how.add_argument(
        "--shutdown-vms",
        dest="stop_vms",
        action="store_const",
        const="shutdown",
        help="ACPI-shut down each running VM (never destroyed), boot it afterwards",
    )
    group.add_argument(
        "--shutdown-timeout",
        metavar="SECONDS",
        help="with --shutdown-vms: how long to wait for each VM to shut down (default: 300)",
    )
    group.add_argument(
        "--connect", metavar="URI", help=f"libvirt URI of this host (default: {DEFAULT_URI})"
    )


def stopper(args: argparse.Namespace) -> Stopper | None:
    """The Stopper the options ask for, connected; None without --suspend-vms/--shutdown-vms."""
    from libvirt_static_ids.host import downtime

    if args.stop_vms is None:
        if args.connect or args.shutdown_timeout:
            raise UsageError(
                "--connect and --shutdown-timeout need --suspend-vms or --shutdown-vms",
                option="--connect" if args.connect else "--shutdown-timeout",
            )
        return None
    how = downtime.How(args.stop_vms)
    if args.shutdown_timeout is not None and how != downtime.How.SHUTDOWN:
        raise UsageError("--shutdown-timeout goes with --shutdown-vms", option="--shutdown-timeout")
    chosen = downtime.Stopper(
        how, args.connect or DEFAULT_URI, downtime.parse_timeout(args.shutdown_timeout)
    )
    chosen.connection()
    return chosen
