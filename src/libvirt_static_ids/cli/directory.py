# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The directory commands: ``record``, ``request``, ``settings`` and ``survey --domain``.

python-ldap and the modules over it are imported inside ``run``, so that commands which
need no directory start fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from libvirt_static_ids.cli.parser import PROG, exits
from libvirt_static_ids.errors import ExitCode, PreflightRefused, UsageError

if TYPE_CHECKING:
    from libvirt_static_ids.directory import connection
    from libvirt_static_ids.directory.client import LdapConnection
    from libvirt_static_ids.hostroot import HostRoot


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """--ldap-uri, --binddn, --bindpwdfile, --base (and --starttls); UCS fills what is left."""
    group = parser.add_argument_group(
        "directory", "on a UCS host the defaults come from UCR and the machine account"
    )
    group.add_argument(
        "--ldap-uri", metavar="URI", help="LDAP server (default: ldap://<ldap/master>, StartTLS)"
    )
    group.add_argument("--binddn", metavar="DN", help="bind as DN (default: UCR ldap/hostdn)")
    group.add_argument(
        "--bindpwdfile",
        metavar="FILE",
        help="file holding the bind password (default: /etc/machine.secret)",
    )
    group.add_argument("--base", metavar="DN", help="LDAP base (default: UCR ldap/base)")
    group.add_argument("--starttls", action="store_true", help="StartTLS on an explicit --ldap-uri")


def add_survey_options(survey_parser: argparse.ArgumentParser) -> None:
    """``survey --domain``: the whole domain from LDAP instead of this host."""
    survey_parser.add_argument(
        "--domain",
        action="store_true",
        help="survey every KVM host from the directory (the target comes from LDAP)",
    )
    add_connection_options(survey_parser)


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``record`` and ``request`` to the subcommands of the main parser."""
    rec = commands.add_parser(
        "record",
        parents=[common],
        help="write this host's numbers to its LDAP object",
        description="Write this host's libvirt-qemu numbers, state, blockers and VM inventory "
        "to its own computer object in the directory (the daily timer and the listener run "
        "this; the object is written only when something changed). With --convert, convert "
        "this host first, recording converting and then the end state.",
        examples=[
            (f"{PROG} record", "refresh this host's record"),
            (f"{PROG} record --convert", "what a convert request runs on the host"),
            (f"{PROG} record --pending", "what the listener's transient unit runs"),
            (
                f"{PROG} record --request 'evacuate to=kvm2 uid=64055 gid=64055 mode=chmod vm=web'",
                "what an evacuate request runs on the host",
            ),
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.REFUSED),
    )
    rec.add_argument(
        "--host-dn", metavar="DN", help="this host's computer object (default: UCR ldap/hostdn)"
    )
    rec.add_argument(
        "--convert",
        action="store_true",
        help="convert this host, recording converting and then the end state "
        "(what a convert request runs)",
    )
    rec.add_argument(
        "--pending",
        action="store_true",
        help="first carry out every request pending on this host's object, until none is "
        "left (what the listener's transient unit runs)",
    )
    rec.add_argument(
        "--request",
        metavar="VALUE",
        help="carry out this request (e.g. 'evacuate to=kvm2 uid=64055 gid=64055 mode=chmod "
        "vm=web id=R'), then record the outcome: what a request's own transient unit runs",
    )
    rec.add_argument(
        "--no-restart", action="store_true", help="with --convert or --request: keep libvirtd"
    )
    rec.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="DIR",
        help="with --convert: repair this tree too (repeatable; e.g. the NFS image directory)",
    )
    rec.add_argument(
        "--connect",
        metavar="URI",
        help="record the VM inventory of this libvirt too (default on this host: "
        "qemu:///system; none for another --root)",
    )
    add_connection_options(rec)

    req = commands.add_parser(
        "request",
        parents=[common],
        help="ask hosts to refresh their record or to convert",
        description="Ask hosts, through their computer objects in the directory, to refresh "
        "their record or to convert; each host's listener carries the request out and "
        "records the outcome.",
        examples=[
            (f"{PROG} request refresh kvm1 kvm2", "two hosts record themselves again"),
            (f"{PROG} request convert kvm1", "kvm1 converts itself (once it is empty)"),
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE),
    )
    from libvirt_static_ids.directory.record import Request  # datetime: not on other paths

    req.add_argument("action", choices=[r.value for r in Request], help="what the hosts do")
    req.add_argument("hosts", nargs="+", metavar="HOST", help="host name or computer object DN")
    add_connection_options(req)

    sett = commands.add_parser(
        "settings",
        parents=[common],
        help="show or change the domain's target UID/GID",
        description="Show the domain's target pair (the settings object) and the permanent "
        "UDM allocator locks that keep it reserved, or move the target: the new pair must be "
        "free in the directory and no host may be converting; it is locked first, the target "
        "is switched only if it did not change meanwhile, then the old pair's locks are "
        "removed and every host is asked to record itself again.",
        examples=[
            (f"{PROG} settings show", "the target and its locks"),
            (f"{PROG} settings set --uid 64060 --gid 64060 --dry-run", "check a new pair"),
            (f"{PROG} settings set --uid 64060 --gid 64060", "move the target"),
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.REFUSED),
    )
    sett.add_argument("action", choices=("show", "set"), help="show the target, or set it")
    sett.add_argument("--uid", metavar="N", help="with set: the new target UID (required)")
    sett.add_argument("--gid", metavar="N", help="with set: the new target GID (required)")
    sett.add_argument(
        "--dry-run", action="store_true", help="with set: check and say what would change"
    )
    add_connection_options(sett)


def connect(
    args: argparse.Namespace, root: HostRoot
) -> tuple[LdapConnection, connection.ConnectionParams]:
    """The directory connection the connection options (or UCR and the machine account) name."""
    from libvirt_static_ids.directory import client as directory
    from libvirt_static_ids.directory import connection

    params = connection.resolve(
        root,
        uri=args.ldap_uri,
        binddn=args.binddn,
        bindpwdfile=args.bindpwdfile,
        base=args.base,
        starttls=args.starttls,
    )
    conn = directory.connect(params.uri, params.binddn, params.password, starttls=params.starttls)
    return conn, params


def _record(
    args: argparse.Namespace,
    root: HostRoot,
    conn: LdapConnection,
    params: connection.ConnectionParams,
) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.directory import agent
    from libvirt_static_ids.directory import client as directory

    host_dn = args.host_dn or params.host_dn
    if not host_dn:
        raise UsageError(
            "record needs --host-dn DN (UCR ldap/hostdn is not set)", option="--host-dn"
        )
    directory.validate_dn(host_dn, "--host-dn")
    if args.pending:
        if args.convert or args.request is not None:
            raise UsageError("--pending excludes --convert and --request", option="--pending")
        outcomes, result = agent.handle_pending(
            conn, host_dn, root, params.base, inventory_uri=args.connect
        )
        data = result.as_dict()
        data["requests"] = [outcome.as_dict() for outcome in outcomes]
        failed = any(outcome.action == agent.Handled.LAUNCH_FAILED for outcome in outcomes)
        return data, ExitCode.FAILED if failed else ExitCode.OK
    settings = directory.read_settings(conn, params.base)
    if args.path and not args.convert:
        raise UsageError("--path needs --convert", option="--path")
    if args.request is not None:
        return _carry_out(args, root, conn, host_dn, settings)
    if not args.convert:
        result = agent.record_host(conn, host_dn, root, settings, inventory_uri=args.connect)
        return result.as_dict(), ExitCode.OK
    report, after = agent.convert_and_record(
        conn, host_dn, root, settings, paths=args.path, restart=not args.no_restart
    )
    data = after.as_dict()
    data["convert"] = report.as_dict() if report is not None else None
    from libvirt_static_ids.directory.record import State

    if after.record.state == State.FAILED:
        error = after.record.detail.get("error", {})
        refused = error.get("code") == PreflightRefused.code
        return data, ExitCode.REFUSED if refused else ExitCode.FAILED
    return data, ExitCode.OK


def _carry_out(
    args: argparse.Namespace,
    root: HostRoot,
    conn: LdapConnection,
    host_dn: str,
    settings: Any,
) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.directory import request, ucr
    from libvirt_static_ids.plan import host_request

    if args.convert:
        raise UsageError("give --convert or --request, not both", option="--request")
    wanted = request.parse(args.request)
    carried = host_request.carry_out(
        conn,
        host_dn,
        root,
        settings,
        wanted,
        connect_uri=args.connect,
        hostname=ucr.load(root).get("hostname") or None,
        restart=not args.no_restart,
    )
    data = carried.as_dict()
    if carried.ok:
        return data, ExitCode.OK
    error = carried.record.record.detail.get("error", {})
    refused = error.get("code") == PreflightRefused.code
    return data, ExitCode.REFUSED if refused else ExitCode.FAILED


def _request(
    args: argparse.Namespace, conn: LdapConnection, params: connection.ConnectionParams
) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.directory import client as directory
    from libvirt_static_ids.directory.record import Request

    request = Request(args.action)
    hosts = directory.request_hosts(conn, params.base, args.hosts, request)
    return {"command": "request", "request": request.value, "hosts": hosts}, ExitCode.OK


def _settings(
    args: argparse.Namespace, conn: LdapConnection, params: connection.ConnectionParams
) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.directory import settings
    from libvirt_static_ids.ids import IdPair, parse_id

    if args.action == "show":
        if args.uid is not None or args.gid is not None or args.dry_run:
            raise UsageError("settings show takes no --uid, --gid or --dry-run", option="action")
        return settings.show(conn, params.base).as_dict(), ExitCode.OK
    if args.uid is None or args.gid is None:
        raise UsageError("settings set needs both --uid N and --gid N", option="--uid")
    new = IdPair(parse_id(args.uid, "--uid"), parse_id(args.gid, "--gid"))
    return settings.change_target(conn, params.base, new, dry_run=args.dry_run).as_dict(), (
        ExitCode.OK
    )


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    """Carry out ``record``, ``request`` or ``survey --domain``."""
    from libvirt_static_ids.hostroot import HostRoot

    root = HostRoot.open(args.root)
    conn, params = connect(args, root)
    try:
        if args.command == "record":
            return _record(args, root, conn, params)
        if args.command == "request":
            return _request(args, conn, params)
        if args.command == "settings":
            return _settings(args, conn, params)
        from libvirt_static_ids.directory import domain_survey

        survey = domain_survey.collect(conn, params.base, inventories=True)
        return survey.as_dict(), ExitCode.OK
    finally:
        conn.unbind_s()
