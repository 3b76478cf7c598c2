# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The live-evacuation commands: ``probe-access``, ``bridge``, ``evacuate``.

Kept out of cli.py (which calls ``add_commands``, ``handles`` and ``run``) so the host
engine's command line stays as it is.
"""

from __future__ import annotations

import argparse
from typing import Any

from libvirt_static_ids.cli.parser import PROG, exits
from libvirt_static_ids.errors import ExitCode, UsageError
from libvirt_static_ids.files.widen import Mode
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    prb = commands.add_parser(
        "probe-access",
        parents=[common],
        help="can a numeric identity open these files read-write? (exit 3 if not)",
        description="Try, as the numeric identity --uid/--gid (and --groups), to open each "
        "file read-write: locally, or for an nfs:// URL by asking the NFS server itself, so "
        "the answer is the server's. Changes nothing.",
        examples=[
            (
                f"{PROG} probe-access --uid 64055 --gid 64055 nfs://nas/vms/web.qcow2",
                "can the static numbers use this image on the NFS server?",
            )
        ],
        exit_codes=exits(
            ExitCode.OK, ExitCode.USAGE, REFUSED="some file cannot be opened read-write"
        ),
    )
    _identity_options(prb)
    prb.add_argument("--groups", metavar="G,...", help="supplementary GIDs")
    prb.add_argument("paths", nargs="+", metavar="PATH", help="file, or nfs://SERVER/EXPORT/FILE")

    brg = commands.add_parser(
        "bridge",
        parents=[common],
        help="open, close or list migration bridges",
        description="A bridge lets another host's numbers read and write a VM's images for "
        "a while (a POSIX ACL, or mode 666 as a last resort), so the VM can be live-migrated "
        "there; closing it restores every image exactly. Each bridge is a journaled run.",
        examples=[
            (f"{PROG} bridge status", "the open bridges"),
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE),
    )
    actions = brg.add_subparsers(dest="bridge_action", required=True, parser_class=type(brg))
    opn = actions.add_parser(
        "open",
        parents=[common],
        help="let UID/GID read and write images",
        description="Let the numeric identity --uid/--gid read and write the given images "
        "(or those of --vm: its read-only disks and qcow2 backing files for reading only), "
        "for --ttl seconds. An image under an open bridge is not bridged again (exit 3).",
        examples=[
            (
                f"{PROG} bridge open --uid 64055 --gid 64055 --vm web --ttl 3600",
                "the static numbers may use web's images for an hour",
            )
        ],
        exit_codes=exits(
            ExitCode.OK,
            ExitCode.FAILED,
            ExitCode.USAGE,
            REFUSED="an image is under another open bridge already; nothing was changed",
        ),
    )
    _identity_options(opn)
    opn.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=Mode.ACL.value,
        help="acl: user:UID:rw and group:GID:rw entries (where the file system takes no "
        "ACL: mode 666, with a WORLD-WRITABLE warning); chmod: world-writable 666",
    )
    opn.add_argument(
        "--ttl",
        metavar="SECONDS",
        default=str(3600),
        help="close by itself after SECONDS (a systemd timer; every bridge has one)",
    )
    opn.add_argument("--dry-run", action="store_true", help="show every change; change nothing")
    opn.add_argument(
        "--vm",
        "--domain",
        dest="domain",
        metavar="NAME",
        help="the file disks of this VM (--domain: the same, its libvirt name)",
    )
    opn.add_argument(
        "--connect",
        metavar="URI",
        default=hypervisor.DEFAULT_URI,
        help="libvirt URI for --vm",
    )
    opn.add_argument("paths", nargs="*", metavar="PATH", help="image file or nfs:// URL")
    cls = actions.add_parser(
        "close",
        parents=[common],
        help="restore the images exactly",
        description="Close a bridge: every image gets back its mode and ACL exactly, and the "
        "owner its VM needs: the bridge's UID:GID if the VM now runs on the destination, "
        "the owner it had if it runs here (a bridge without a VM keeps the owner as it is). "
        "An image whose chown is refused (root_squash) stays bridged, with the command to "
        "run on the NFS server. Without RUN_ID the only open bridge is closed; with several "
        "open they are listed (exit 2).",
        examples=[
            (f"{PROG} bridge close", "close the only open bridge"),
            (f"{PROG} bridge close RUN_ID", "close one bridge"),
            (f"{PROG} bridge close --expired", "close every bridge past its TTL (the timer)"),
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE),
    )
    cls.add_argument(
        "run_id",
        nargs="?",
        metavar="RUN_ID",
        help="the bridge to close (see `bridge status`; default: the only open one)",
    )
    cls.add_argument(
        "--expired",
        action="store_true",
        help="close every bridge past its TTL, and retry those awaiting a chown on the NFS "
        "server (waits for a run that holds the lock)",
    )
    cls.add_argument(
        "--hand-over",
        action="store_true",
        help="give each image the bridge's UID:GID whatever libvirt says (the migrated "
        "VM's numbers)",
    )
    actions.add_parser(
        "status",
        parents=[common],
        help="list open bridges",
        description="List the open bridges with their images, numbers and time to live.",
        examples=[(f"{PROG} bridge status --json", "the same, for a program")],
        exit_codes=exits(ExitCode.OK, ExitCode.USAGE),
    )

    eva = commands.add_parser(
        "evacuate",
        parents=[common],
        help="live-migrate every running VM of HOST to TARGET",
        description="Empty HOST VM by VM: bridge each running VM's images for TARGET's "
        "numbers, probe that access through the storage, live-migrate, and close the bridge, "
        "handing each image over to the numbers of TARGET. Before any change every VM is "
        "checked (local, block or shareable disks and host devices are refused) and the "
        "storage is asked whether root is squashed; TARGET's numbers come from its libvirt. "
        "Snapshots and autostart move with the VM. A failed migration leaves the VM running "
        "here with its images as they were; Ctrl-C or a crash is resumed by running the same "
        "command again.",
        examples=[
            (
                f"{PROG} evacuate kvm1 --to kvm2.example.org --dry-run",
                "what would move from kvm1 to kvm2",
            ),
            (
                f"{PROG} evacuate kvm1 --to kvm2 --desturi qemu+tcp://10.0.0.2/system "
                "--timeout 600",
                "another transport; give up (the VM stays) after 10 minutes per VM",
            ),
        ],
        exit_codes=exits(
            ExitCode.OK,
            ExitCode.FAILED,
            ExitCode.USAGE,
            REFUSED="a VM cannot be migrated (the reason is shown); nothing was changed",
            INTERRUPTED="an earlier run was interrupted with other parameters",
        ),
    )
    eva.add_argument("host", metavar="HOST", help="the host being emptied (journaled)")
    eva.add_argument("--to", required=True, metavar="TARGET", help="destination host name")
    _identity_options(eva, required=False)
    eva.add_argument(
        "--connect",
        metavar="URI",
        default=hypervisor.DEFAULT_URI,
        help="libvirt URI of HOST",
    )
    eva.add_argument(
        "--desturi",
        dest="dest_uri",
        metavar="URI",
        help="libvirt URI of TARGET, as for virsh migrate (default: qemu://TARGET/system, "
        "TLS as UVMM uses; on UCS a short TARGET gets the domainname from UCR)",
    )
    eva.add_argument("--dest-uri", dest="dest_uri", help=argparse.SUPPRESS)
    eva.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=Mode.ACL.value,
        help="how each bridge widens access, as for `bridge open`",
    )
    eva.add_argument("--ttl", metavar="SECONDS", default="3600", help="each bridge's TTL")
    eva.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="abort a VM's migration after SECONDS (the VM stays here, running); migrations "
        "auto-converge (a busy guest is slowed until its memory copy can finish)",
    )
    eva.add_argument("--dry-run", action="store_true", help="list what would move; change nothing")


def _identity_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    if required:
        parser.add_argument("--uid", metavar="N", required=True, help="numeric UID")
        parser.add_argument("--gid", metavar="N", required=True, help="numeric GID")
        return
    parser.add_argument(
        "--uid",
        metavar="N",
        help="libvirt-qemu's UID on TARGET (default: what TARGET's libvirt reports; given, "
        "it must match)",
    )
    parser.add_argument("--gid", metavar="N", help="libvirt-qemu's GID on TARGET (as --uid)")


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.evacuation import evacuate, probe
    from libvirt_static_ids.evacuation.bridge import runs as bridge

    if args.command == "probe-access":
        identity = Identity.parse(args.uid, args.gid, args.groups)
        probed = probe.probe(identity, args.paths)
        return probed.as_dict(), ExitCode.OK if probed.all_ok else ExitCode.REFUSED
    root = HostRoot.open(args.root)
    if args.command == "bridge":
        return _bridge(root, args)
    if args.command == "evacuate":
        from libvirt_static_ids.directory import ucr
        from libvirt_static_ids.evacuation.report import EvacuateStatus

        if (args.uid is None) != (args.gid is None):
            raise UsageError("give --uid and --gid together (or neither)", option="--uid")
        report = evacuate.evacuate(
            root,
            args.host,
            args.to,
            None if args.uid is None else Identity.parse(args.uid, args.gid),
            connect_uri=args.connect,
            dest_uri=args.dest_uri or evacuate.default_dest_uri(ucr.qualified(root, args.to)),
            mode=Mode(args.mode),
            ttl=bridge.parse_ttl(args.ttl),
            timeout=_seconds(args.timeout, "--timeout"),
            dry_run=args.dry_run,
        )
        codes = {EvacuateStatus.FAILED: ExitCode.FAILED, EvacuateStatus.REFUSED: ExitCode.REFUSED}
        return report.as_dict(), codes.get(report.status, ExitCode.OK)
    raise UsageError(f"unknown command {args.command!r}")


def _seconds(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 7 * 24 * 3600:
        raise UsageError(f"{option} {text!r} is not a number of seconds", option=option)
    return value


def _bridge(root: HostRoot, args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.evacuation.bridge import runs as bridge

    if args.bridge_action == "open":
        identity = Identity.parse(args.uid, args.gid)
        ttl = bridge.parse_ttl(args.ttl)
        paths = list(args.paths)
        writable: list[str] | None = None
        whereabouts: dict[str, str] | None = None
        if args.domain and paths:
            raise UsageError("give either --vm NAME or PATHs, not both", option="--vm")
        if args.domain:
            from libvirt_static_ids.evacuation import disks

            conn = hypervisor.connect(args.connect)
            try:
                xml = hypervisor.lookup(conn, args.domain).XMLDesc(0)
                planned = disks.plan(xml, shared=False)
            finally:
                conn.close()
            paths, writable = planned.files, planned.writable
            whereabouts = {"connect": args.connect}
            if not paths:
                raise UsageError(f"--vm {args.domain!r} has no file disk images", option="--vm")
        report = bridge.open_bridge(
            root,
            identity,
            paths,
            mode=Mode(args.mode),
            ttl=ttl,
            domain=args.domain,
            dry_run=args.dry_run,
            writable=writable,
            whereabouts=whereabouts,
        )
        return report.as_dict(), ExitCode.OK if report.ok else ExitCode.FAILED
    if args.bridge_action == "close":
        from libvirt_static_ids.evacuation.bridge.owner import Owner

        if args.expired and args.run_id:
            raise UsageError("bridge close takes a RUN_ID or --expired, not both")
        if args.expired:
            reports = bridge.close_expired(root)
            result = {
                "command": "bridge",
                "action": "close-expired",
                "closed": [r.as_dict() for r in reports],
            }
            return result, ExitCode.OK if all(r.ok for r in reports) else ExitCode.FAILED
        owner = Owner.HAND_OVER if args.hand_over else None
        report = bridge.close_bridge(root, args.run_id, owner=owner)
        return report.as_dict(), ExitCode.OK if report.ok else ExitCode.FAILED
    return {
        "command": "bridge",
        "action": "status",
        "bridges": bridge.open_bridges(root),
    }, ExitCode.OK
