# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``plan``: the rolling conversion of the whole domain, from LDAP alone, proven step by step.

One search reads every host's record and VM inventory (connection options as for
``survey --domain``); the plan is made (planner.py), checked (check.py) and printed. It
changes nothing. Exit 0: a plan the checker proves, covering every KVM host (VMs may be
suspended where capacity is short); 3: some hosts could not be planned (listed, with why);
1: the checker found a problem (the plan must not be followed).
"""

from __future__ import annotations

import argparse
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from libvirt_static_ids.cli import directory as cli_directory
from libvirt_static_ids.cli.parser import PROG, exits
from libvirt_static_ids.errors import ExitCode, UsageError
from libvirt_static_ids.hostroot import HostRoot

if TYPE_CHECKING:
    from libvirt_static_ids.plan.check import CheckReport
    from libvirt_static_ids.plan.planner import Plan

COMMANDS = ("plan",)
MAX_RESERVE_MIB = 1 << 30


class PlanStatus(StrEnum):
    """The verdict on a plan, as its exit code says it (see the module docstring)."""

    COMPLETE = "complete"
    NEEDS_DOWNTIME = "needs-downtime"
    INCOMPLETE = "incomplete"
    UNSAFE = "unsafe"


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    pln = commands.add_parser(
        "plan",
        parents=[common],
        help="the rolling conversion of every KVM host, from the directory (changes nothing)",
        description="Order the rolling conversion of the whole domain from the host records "
        "in the directory: bridge, migrate, close, convert, host by host, every VM moved at "
        "most once where capacity allows. A checker proves that at every step every running "
        "VM's images stay readable and writable under NFS rules. Changes nothing.",
        examples=[
            (f"{PROG} plan", "the plan, checked"),
            (f"{PROG} plan --reserve-mib 4096 --json", "keep 4 GiB free on every host"),
        ],
        exit_codes=exits(
            ExitCode.USAGE,
            OK="a proven plan covering every KVM host (VMs may be suspended where capacity "
            "is short)",
            FAILED="the checker found a problem: the plan must not be followed",
            REFUSED="some hosts could not be planned (each is listed, with why)",
        ),
    )
    pln.add_argument(
        "--server-honours-acls",
        action="store_true",
        help="the NFS server decides by POSIX ACLs too (default: mode bits only, so bridges "
        "use chmod)",
    )
    pln.add_argument(
        "--reserve-mib",
        metavar="MIB",
        default="0",
        help="memory each host keeps free for itself",
    )
    cli_directory.add_connection_options(pln)


def _reserve(text: str) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_RESERVE_MIB:
        raise UsageError(
            f"--reserve-mib {text!r} is not a number of MiB (0..{MAX_RESERVE_MIB})",
            option="--reserve-mib",
        )
    return int(value)


def report(
    made: Plan, check: CheckReport, base: str | None = None, skipped: list[str] | None = None
) -> tuple[dict[str, Any], ExitCode]:
    """The ``--json`` result of a plan and its check, and the exit code it means."""
    domain = made.domain
    where = {vm.key: host.name for host in domain.hosts for vm in host.vms}
    if not check.ok:
        status, code = PlanStatus.UNSAFE, ExitCode.FAILED
    elif domain.unplanned:
        status, code = PlanStatus.INCOMPLETE, ExitCode.REFUSED
    elif made.suspended:
        status, code = PlanStatus.NEEDS_DOWNTIME, ExitCode.OK
    else:
        status, code = PlanStatus.COMPLETE, ExitCode.OK
    notes = list(made.notes)
    if skipped:
        notes.append(f"{len(skipped)} host(s) without libvirt-qemu skipped: {', '.join(skipped)}")
    result = {
        "command": "plan",
        "base": base,
        "status": status,
        "target": domain.target.as_dict(),
        "options": {
            "honours_acls": made.options.honours_acls,
            "bridge_mode": made.options.bridge_mode,
            "reserve_mib": made.options.reserve_mib,
        },
        "hosts": [
            {
                "name": host.name,
                "uid": host.ids.uid,
                "gid": host.ids.gid,
                "static": host.ids == domain.target,
                "free_mib": host.free_mib,
                "running": sum(vm.running for vm in host.vms),
                "vms": len(host.vms),
            }
            for host in domain.hosts
        ],
        "unplanned": [{"host": name, "reason": why} for name, why in domain.unplanned],
        "steps": [step.as_dict() for step in made.steps],
        "stats": made.stats(),
        "suspend": [
            {"vm": key, "name": name, "host": where.get(key, "")} for key, name in made.suspended
        ],
        "check": check.as_dict(),
        "notes": notes,
    }
    return result, code


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.directory import client as directory
    from libvirt_static_ids.directory import record
    from libvirt_static_ids.plan import check, planner
    from libvirt_static_ids.plan import input as plan_input
    from libvirt_static_ids.plan.model import Options

    options = Options(args.server_honours_acls, _reserve(args.reserve_mib))
    root = HostRoot.open(args.root)
    conn, params = cli_directory.connect(args, root)
    try:
        settings = directory.read_settings(conn, params.base)
        records = directory.list_hosts(
            conn, params.base, [*directory.HOST_ATTRIBUTES, record.INVENTORY]
        )
    finally:
        conn.unbind_s()
    domain, skipped = plan_input.domain(settings.target, records)
    made = planner.plan(domain, options)
    proof = check.check(made.domain, options, made.steps)
    return report(made, proof, params.base, skipped)
