# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``plan``: the rolling conversion of the whole domain, from LDAP alone, proven step by step.

One search reads every host's record and VM inventory (connection options as for
``survey --domain``), one more the directory's holders of the target; or ``--from FILE``
reads what ``survey --domain --json`` printed, with no directory. The plan is made
(planner.py), checked (check.py), timed (schedule.py) and printed; ``--html FILE`` also
writes it as a report with the timeline. It changes nothing. Exit 0: a plan the checker
proves, covering every KVM host (VMs may be suspended where capacity is short); 3: some hosts
could not be planned (listed, with why), or directory objects hold the target; 1: the checker
found a problem (the plan must not be followed).
"""

from __future__ import annotations

import argparse
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from libvirt_static_ids.cli import directory as cli_directory
from libvirt_static_ids.cli.parser import PROG, exits
from libvirt_static_ids.errors import ExitCode, UsageError
from libvirt_static_ids.files.widen import DEFAULT_MODE, Mode
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.plan import model

if TYPE_CHECKING:
    from libvirt_static_ids.plan.check import CheckReport
    from libvirt_static_ids.plan.planner import Plan
    from libvirt_static_ids.plan.schedule import Schedule

MAX_RESERVE_MIB = 1 << 30
MAX_NUMBER = 1 << 30


class PlanStatus(StrEnum):
    """The verdict on a plan, as its exit code says it (see the module docstring)."""

    COMPLETE = "complete"
    NEEDS_DOWNTIME = "needs-downtime"
    INCOMPLETE = "incomplete"
    BLOCKED = "blocked"
    UNSAFE = "unsafe"


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    pln = commands.add_parser(
        "plan",
        parents=[common],
        help="the rolling conversion of every KVM host, from the directory (changes nothing)",
        description="Order the rolling conversion of the whole domain from the host records "
        "in the directory (or a saved `survey --domain --json`): bridge, migrate, close, "
        "convert, in waves of hosts side by side, every VM moved at most once where capacity "
        "allows and none suspended that could keep running. A checker proves that at every "
        "step every running VM's images stay readable and writable under NFS rules; the "
        "schedule says how long it takes. Changes nothing.",
        examples=[
            (f"{PROG} plan", "the plan, checked and timed"),
            (f"{PROG} plan --reserve-mib 4096 --json", "keep 4 GiB free on every host"),
            (
                f"{PROG} survey --domain --json > domain.json; {PROG} plan --from domain.json "
                "--max-parallel-hosts 5 --html plan.html",
                "what-if, offline: five hosts at a time, as a report for change approval",
            ),
        ],
        exit_codes=exits(
            ExitCode.USAGE,
            OK="a proven plan covering every KVM host (VMs may be suspended where capacity "
            "is short)",
            FAILED="the checker found a problem: the plan must not be followed",
            REFUSED="some hosts could not be planned (each is listed, with why), or objects "
            "in the directory hold the target numbers",
        ),
    )
    pln.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="plan from this saved `survey --domain --json` output instead of the directory",
    )
    pln.add_argument(
        "--html",
        metavar="FILE",
        help="also write the plan as a self-contained HTML report (timeline and steps)",
    )
    add_plan_options(pln)
    cli_directory.add_connection_options(pln)


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """What the plan may assume (storage, reserve, timing): ``plan`` and ``rollout`` alike."""
    parser.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=DEFAULT_MODE.value,
        help="how bridges widen access, as for `evacuate`: acl where the NFS server decides "
        "by POSIX ACLs too; chmod where it decides by mode bits alone (nfs-ganesha's VFS)",
    )
    parser.add_argument(
        "--reserve-mib",
        metavar="MIB",
        default=str(model.DEFAULT_RESERVE_MIB),
        help="memory each host keeps free beyond its guests' memory: QEMU's own overhead "
        "per guest, libvirtd and the host itself (a host planned to 100%% swaps or "
        "OOM-kills a guest mid-migration)",
    )
    parser.add_argument(
        "--root-squash",
        metavar="PATH",
        action="append",
        default=[],
        help="images under PATH are on an export that squashes root: the plan has the NFS "
        "server's admin chown them at hand-over (repeatable)",
    )
    timing = parser.add_argument_group("timing", "what the schedule assumes")
    timing.add_argument(
        "--link-mib-s",
        metavar="MIB",
        default=str(model.DEFAULT_LINK_MIB_S),
        help="each host's migration bandwidth in MiB/s (1192 is 10 Gbit/s)",
    )
    timing.add_argument(
        "--convert-seconds",
        metavar="S",
        default=str(model.DEFAULT_CONVERT_S),
        help="one host's conversion (renumber, restart libvirtd, repair)",
    )
    timing.add_argument(
        "--migrations-per-host",
        metavar="N",
        default=str(model.DEFAULT_MIGRATIONS_PER_HOST),
        help="migrations a host takes part in at once (they share its link)",
    )
    timing.add_argument(
        "--max-parallel-hosts",
        metavar="N",
        default=str(model.DEFAULT_MAX_PARALLEL_HOSTS),
        help="hosts being emptied or converted at once",
    )


def _number(text: str, option: str, low: int, high: int) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise UsageError(f"{option} {text!r} is not a number in {low}..{high}", option=option)
    return int(value)


def _reserve(text: str) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_RESERVE_MIB:
        raise UsageError(
            f"--reserve-mib {text!r} is not a number of MiB (0..{MAX_RESERVE_MIB})",
            option="--reserve-mib",
        )
    return int(value)


def _squashed(paths: list[str]) -> tuple[str, ...]:
    for path in paths:
        if not path.startswith("/"):
            raise UsageError(
                f"--root-squash {path!r} is not an absolute path", option="--root-squash"
            )
    return tuple(paths)


def options_from(args: argparse.Namespace) -> model.Options:
    """The plan's options from the command line, each value checked."""
    return model.Options(
        honours_acls=args.mode == Mode.ACL,
        reserve_mib=_reserve(args.reserve_mib),
        root_squash=_squashed(args.root_squash),
        link_mib_s=_number(args.link_mib_s, "--link-mib-s", 1, MAX_NUMBER),
        convert_s=_number(args.convert_seconds, "--convert-seconds", 0, MAX_NUMBER),
        migrations_per_host=_number(args.migrations_per_host, "--migrations-per-host", 1, 64),
        max_parallel_hosts=_number(args.max_parallel_hosts, "--max-parallel-hosts", 1, 100000),
    )


def report(
    made: Plan,
    check: CheckReport,
    timed: Schedule,
    base: str | None = None,
    skipped: list[str] | None = None,
) -> tuple[dict[str, Any], ExitCode]:
    """The ``--json`` result of a plan, its check and schedule, and the exit code it means."""
    domain = made.domain
    where = {vm.key: host.name for host in domain.hosts for vm in host.vms}
    if domain.holders:  # no steps made: nothing to follow, nothing unsafe
        status, code = PlanStatus.BLOCKED, ExitCode.REFUSED
    elif not check.ok:
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
            "root_squash": list(made.options.root_squash),
            "link_mib_s": made.options.link_mib_s,
            "convert_s": made.options.convert_s,
            "migration_overhead_s": made.options.migration_overhead_s,
            "migrations_per_host": made.options.migrations_per_host,
            "max_parallel_hosts": made.options.max_parallel_hosts,
        },
        "holders": list(domain.holders),
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
        "schedule": timed.as_dict(),
        "notes": notes,
    }
    return result, code


def _from_directory(args: argparse.Namespace) -> tuple[model.Domain, list[str], str]:
    from libvirt_static_ids.directory import client as directory
    from libvirt_static_ids.directory import record
    from libvirt_static_ids.plan import input as plan_input

    root = HostRoot.open(args.root)
    conn, params = cli_directory.connect(args, root)
    try:
        settings = directory.read_settings(conn, params.base)
        records = directory.list_hosts(
            conn, params.base, [*directory.HOST_ATTRIBUTES, record.INVENTORY]
        )
        holders = directory.holders(conn, params.base, settings.target)
    finally:
        conn.unbind_s()
    domain, skipped = plan_input.domain(settings.target, records, [h.dn for h in holders])
    return domain, skipped, params.base


def _from_file(path: str) -> tuple[model.Domain, list[str], str]:
    from libvirt_static_ids.plan import input as plan_input

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"--from {path!r}: {error.strerror or error}", option="--from") from error
    except ValueError as error:
        raise UsageError(f"--from {path!r} is not JSON: {error}", option="--from") from error
    domain, skipped = plan_input.from_survey(data, path)
    return domain, skipped, data["base"]


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.plan import check, planner, schedule

    options = options_from(args)
    if args.source is not None:
        domain, skipped, base = _from_file(args.source)
    else:
        domain, skipped, base = _from_directory(args)
    made = planner.plan(domain, options)
    # Blocked, there are no steps to prove (and no host would convert).
    blocked = bool(made.domain.holders)
    proof = check.CheckReport() if blocked else check.check(made.domain, options, made.steps)
    timed = schedule.schedule(made)
    result, code = report(made, proof, timed, base, skipped)
    if args.html:
        from libvirt_static_ids.cli.render import plan_html

        try:
            Path(args.html).write_text(plan_html.page(result), encoding="utf-8")
        except OSError as error:
            raise UsageError(
                f"--html {args.html!r}: {error.strerror or error}", option="--html"
            ) from error
        result["html"] = args.html
    return result, code
