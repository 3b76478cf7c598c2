# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``rollout``: plan from the directory and carry the plan out through the hosts' listeners.

``rollout --dry-run`` prints the waves with the exact command each host will run;
``rollout status`` what is left, what runs now and an estimate of the time. The rollout's
state is the directory itself (plan/rollout.py), so running ``rollout`` again continues.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from libvirt_static_ids.cli import directory as cli_directory
from libvirt_static_ids.cli import plan as cli_plan
from libvirt_static_ids.cli.parser import PROG, exits
from libvirt_static_ids.errors import ExitCode, UsageError
from libvirt_static_ids.hostroot import HostRoot


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    out = commands.add_parser(
        "rollout",
        parents=[common],
        help="convert every KVM host of the domain, through the directory",
        description="Plan the rolling conversion from the host records in the directory "
        "(as `plan` does) and carry it out: each host gets its requests (evacuate: live-migrate "
        "these VMs to that host; convert) on its computer object, its listener runs them as "
        "a transient unit and echoes progress and result in its record. Waves run in parallel "
        "(hosts that share no work); the first failure stops the rollout with every VM "
        "running somewhere. Running rollout again continues where the domain is. "
        "`rollout status` shows what is left and what runs now.",
        examples=[
            (f"{PROG} rollout --dry-run", "the waves, with the exact command each host runs"),
            (f"{PROG} rollout", "carry the plan out; run it again to continue"),
            (f"{PROG} rollout status", "waves, hosts, VMs and time left"),
            (
                f"{PROG} rollout --mode chmod --max-parallel-hosts 8",
                "an NFS server deciding by mode bits alone; eight hosts at a time",
            ),
        ],
        exit_codes=exits(
            ExitCode.OK,
            ExitCode.USAGE,
            FAILED="a host reported a failure or did not answer: stopped, every VM still runs "
            "(the message names the host; fix it, then run rollout again)",
            REFUSED="the plan cannot be carried out unattended (holders of the target, hosts "
            "that cannot be planned, VMs that would be suspended): nothing was requested",
        ),
    )
    out.add_argument(
        "action", nargs="?", choices=["status"], help="show the rollout's state; change nothing"
    )
    out.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and each host's command; change nothing",
    )
    cli_plan.add_plan_options(out)
    out.add_argument(
        "--answer-timeout",
        metavar="SECONDS",
        default="120",
        help="stop when a host has not taken up its request after SECONDS",
    )
    cli_directory.add_connection_options(out)


def _number(text: str, option: str, low: int, high: int) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise UsageError(f"{option} {text!r} is not a number from {low} to {high}", option=option)
    return int(value)


def _progress(args: argparse.Namespace) -> Any:
    shown = not args.quiet and (args.progress or (sys.stderr.isatty() and not args.json))

    def say(line: str) -> None:
        if shown:
            print(line, file=sys.stderr, flush=True)

    return say


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.plan import rollout

    if args.action == "status" and args.dry_run:
        raise UsageError("rollout status changes nothing: give it without --dry-run")
    options = cli_plan.options_from(args)
    limits = rollout.Limits(
        max_parallel_hosts=options.max_parallel_hosts,
        answer_seconds=float(_number(args.answer_timeout, "--answer-timeout", 1, 86400)),
    )
    root = HostRoot.open(args.root)
    conn, params = cli_directory.connect(args, root)
    try:
        if args.action == "status":
            return rollout.status(conn, params.base, options), ExitCode.OK
        if args.dry_run:
            prepared = rollout.prepare(conn, params.base, options)
            data = prepared.as_dict()
            data["command"] = "rollout-plan"
            return data, ExitCode.REFUSED if prepared.refusals() else ExitCode.OK
        report = rollout.carry_out(conn, params.base, options, limits, _progress(args))
        failed = report.status is rollout.RolloutStatus.FAILED
        return report.as_dict(), ExitCode.FAILED if failed else ExitCode.OK
    finally:
        conn.unbind_s()
