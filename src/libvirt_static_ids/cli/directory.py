# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The directory commands: ``record``, ``request`` and ``survey --domain``.

python-ldap and the modules over it are imported inside ``run``, so that commands which
need no directory start fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from libvirt_static_ids.cli.parser import PROG, exits
from libvirt_static_ids.errors import ExitCode, PreflightRefused, UsageError
from libvirt_static_ids.hostroot import HostRoot

if TYPE_CHECKING:
    from libvirt_static_ids.directory import connection
    from libvirt_static_ids.directory.client import LdapConnection

COMMANDS = ("record", "request")


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
    rec.add_argument("--no-restart", action="store_true", help="with --convert: keep libvirtd")
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
    settings = directory.read_settings(conn, params.base)
    if not args.convert:
        result = agent.record_host(conn, host_dn, root, settings, inventory_uri=args.connect)
        return result.as_dict(), ExitCode.OK
    report, after = agent.convert_and_record(
        conn, host_dn, root, settings, restart=not args.no_restart
    )
    data = after.as_dict()
    data["convert"] = report.as_dict() if report is not None else None
    from libvirt_static_ids.directory.record import State

    if after.record.state == State.FAILED:
        error = after.record.detail.get("error", {})
        refused = error.get("code") == PreflightRefused.code
        return data, ExitCode.REFUSED if refused else ExitCode.FAILED
    return data, ExitCode.OK


def _request(
    args: argparse.Namespace, conn: LdapConnection, params: connection.ConnectionParams
) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.directory import client as directory
    from libvirt_static_ids.directory.record import Request

    request = Request(args.action)
    hosts = directory.request_hosts(conn, params.base, args.hosts, request)
    return {"command": "request", "request": request.value, "hosts": hosts}, ExitCode.OK


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    """Carry out ``record``, ``request`` or ``survey --domain``."""
    root = HostRoot.open(args.root)
    conn, params = connect(args, root)
    try:
        if args.command == "record":
            return _record(args, root, conn, params)
        if args.command == "request":
            return _request(args, conn, params)
        from libvirt_static_ids.directory import domain_survey

        return domain_survey.collect(conn, params.base).as_dict(), ExitCode.OK
    finally:
        conn.unbind_s()
