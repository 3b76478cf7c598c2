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
from libvirt_static_ids.files.widen import DEFAULT_MODE, Mode
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity

COMMANDS = ("probe-access", "bridge", "evacuate")


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
        "(or those of --vm), for --ttl seconds if given.",
        examples=[
            (
                f"{PROG} bridge open --uid 64055 --gid 64055 --vm web --ttl 3600",
                "the static numbers may use web's images for an hour",
            )
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE),
    )
    _identity_options(opn)
    opn.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=DEFAULT_MODE.value,
        help="acl: user:UID:rw and group:GID:rw entries; chmod: world-writable 666",
    )
    opn.add_argument("--ttl", metavar="SECONDS", help="close by itself after SECONDS")
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
        description="Close a bridge: every image gets back its mode and ACL exactly; with "
        "--hand-over it first becomes the bridge's UID:GID (the migrated VM's numbers).",
        examples=[
            (f"{PROG} bridge close RUN_ID", "close one bridge"),
            (f"{PROG} bridge close --expired", "close every bridge past its TTL"),
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE),
    )
    cls.add_argument(
        "run_id", nargs="?", metavar="RUN_ID", help="the bridge to close (see `bridge status`)"
    )
    cls.add_argument("--expired", action="store_true", help="close every bridge past its TTL")
    cls.add_argument(
        "--hand-over",
        action="store_true",
        help="first chown each image to the bridge's UID:GID (the migrated VM's numbers)",
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
        "handing each image over to the numbers of TARGET.",
        examples=[
            (
                f"{PROG} evacuate kvm1 --to kvm2 --uid 64055 --gid 64055 --dry-run",
                "what would move from kvm1 to kvm2",
            )
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE),
    )
    eva.add_argument("host", metavar="HOST", help="the host being emptied (journaled)")
    eva.add_argument("--to", required=True, metavar="TARGET", help="destination host name")
    _identity_options(eva)
    eva.add_argument(
        "--connect",
        metavar="URI",
        default=hypervisor.DEFAULT_URI,
        help="libvirt URI of HOST",
    )
    eva.add_argument(
        "--dest-uri", metavar="URI", help="libvirt URI of TARGET (default: qemu://TARGET/system)"
    )
    eva.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=DEFAULT_MODE.value,
        help="how each bridge widens access, as for `bridge open`",
    )
    eva.add_argument("--ttl", metavar="SECONDS", default="3600", help="each bridge's TTL")
    eva.add_argument("--dry-run", action="store_true", help="list what would move; change nothing")


def _identity_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--uid",
        metavar="N",
        required=True,
        help="numeric UID (for evacuate: libvirt-qemu's on TARGET)",
    )
    parser.add_argument("--gid", metavar="N", required=True, help="numeric GID")


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
        report = evacuate.evacuate(
            root,
            args.host,
            args.to,
            Identity.parse(args.uid, args.gid),
            connect_uri=args.connect,
            dest_uri=args.dest_uri,
            mode=Mode(args.mode),
            ttl=bridge.parse_ttl(args.ttl) or 3600,
            dry_run=args.dry_run,
        )
        return (
            report.as_dict(),
            ExitCode.FAILED if report.status == evacuate.EvacuateStatus.FAILED else ExitCode.OK,
        )
    raise UsageError(f"unknown command {args.command!r}")


def _bridge(root: HostRoot, args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.evacuation.bridge import runs as bridge

    if args.bridge_action == "open":
        identity = Identity.parse(args.uid, args.gid)
        ttl = bridge.parse_ttl(args.ttl)
        paths = list(args.paths)
        if args.domain and paths:
            raise UsageError("give either --vm NAME or PATHs, not both", option="--vm")
        if args.domain:
            conn = hypervisor.connect(args.connect)
            try:
                paths = hypervisor.vm_images(conn, args.domain)
            finally:
                conn.close()
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
        )
        return report.as_dict(), ExitCode.OK if report.ok else ExitCode.FAILED
    if args.bridge_action == "close":
        if args.expired == bool(args.run_id):
            raise UsageError("bridge close needs a RUN_ID or --expired (one of them)")
        if args.expired:
            reports = bridge.close_expired(root)
            result = {
                "command": "bridge",
                "action": "close-expired",
                "closed": [r.as_dict() for r in reports],
            }
            return result, ExitCode.OK if all(r.ok for r in reports) else ExitCode.FAILED
        report = bridge.close_bridge(root, args.run_id, hand_over=args.hand_over)
        return report.as_dict(), ExitCode.OK if report.ok else ExitCode.FAILED
    return {
        "command": "bridge",
        "action": "status",
        "bridges": bridge.open_bridges(root),
    }, ExitCode.OK
