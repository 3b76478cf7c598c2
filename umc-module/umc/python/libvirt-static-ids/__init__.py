# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""UMC backend of libvirt-static-ids: the domain survey, this host, its conversion, requests.

Thin over the core (``libvirt_static_ids``), which makes every decision. This module only
validates options, picks the connection — the logged-in user's for reading the domain and
writing requests (admin actions run as the admin, not as root's machine account), this
host's machine account for the host's own record, as its listener does — starts the
conversion as a transient unit that outlives this process (``conversion``), and leaves the
translation of the core's typed errors to ``umc_errors``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from univention.lib.i18n import Translation
from univention.management.console.error import BadRequest, Forbidden, ServiceUnavailable
from univention.management.console.modules import Base
from univention.management.console.modules.decorators import sanitize, threaded
from univention.management.console.modules.sanitizers import (
    BooleanSanitizer,
    ChoicesSanitizer,
    ListSanitizer,
    StringSanitizer,
)

from libvirt_static_ids.directory import agent, domain_survey, record, ucr
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory.record import Request as HostRequest
from libvirt_static_ids.errors import PreflightRefused
from libvirt_static_ids.host import convert
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.store import Store

from . import conversion, rollout_page
from .umc_errors import umc_errors

_ = Translation("univention-management-console-module-libvirt-static-ids").translate

# A dry run may plan thousands of changes; the browser is shown this many, and the count.
CHANGES_SHOWN = 100
MAX_PATHS = 64
MAX_PATH_LENGTH = 4096


class PathsSanitizer(ListSanitizer):
    """Absolute paths; a bad one is named in a sentence (not "0: Value is invalid")."""

    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> Any:
        # The message is %-formatted with the values given here (a path may contain "%").
        if not isinstance(value, list):
            self.raise_validation_error(
                _("Give the paths as a list, not as %(kind)s."), kind=type(value).__name__
            )
        if len(value) > MAX_PATHS:
            self.raise_validation_error(_("Give at most %(most)d paths."), most=MAX_PATHS)
        for path in value:
            if not isinstance(path, str):
                self.raise_validation_error(_("%(path)r is not a path: give text."), path=path)
            if not path.startswith("/"):
                self.raise_validation_error(
                    _("%(path)r is not an absolute path: give the whole path, starting with /."),
                    path=path,
                )
            if len(path) > MAX_PATH_LENGTH:
                self.raise_validation_error(
                    _("A path may have at most %(most)d characters."), most=MAX_PATH_LENGTH
                )
        return list(value)


PATHS = PathsSanitizer(default=[])
RESTART = BooleanSanitizer(default=True)
PROGRESS_ID = StringSanitizer(required=True, minimum=1, maximum=64)
# A number as typed; the core says what is wrong with it (naming uid or gid).
ID = StringSanitizer(required=True, minimum=1, maximum=16)


def _poll(
    title: str, percentage: float, message: str, result: dict[str, Any] | None
) -> dict[str, Any]:
    """One reply to ``progress``, as UMC's progress polling reads it."""
    reply: dict[str, Any] = {
        "title": title,
        "finished": result is not None,
        "intermediate": [],
        "message": message,
        "retry_after": 300,
        "percentage": percentage,
    }
    if result is not None:
        reply["result"] = result
    return reply


def _stored_record(conn: directory.LdapConnection, dn: str | None) -> dict[str, Any] | None:
    """This host's record as the conversion unit left it (its state, numbers, blockers)."""
    if not dn:
        return None
    entry = directory.read_entry(conn, dn, ["cn", *record.RECORD_ATTRIBUTES])
    if entry is None:
        return None
    stored = record.read(dn, directory.host_name(dn, entry), entry)
    return {
        "state": stored.state,
        "uid": stored.uid,
        "gid": stored.gid,
        "blockers": [dict(b) for b in stored.blockers],
        "detail": dict(stored.detail),
    }


def _shown(report: dict[str, Any]) -> dict[str, Any]:
    """A convert report for the browser: every field, but only the first planned changes."""
    changes = report.get("changes", [])
    shown = {**report, "changes": changes[:CHANGES_SHOWN]}
    if report.get("dry_run"):
        shown["change_count"] = len(changes)
    return shown


class Instance(Base):
    #: The root of the host this module runs on: "/" on UCS; the development harness and
    #: the tests point it at a simulated host.
    host_root = "/"
    proc = "/proc"
    #: What the conversion unit runs, and with which environment (the harness adds its CA).
    executable = agent.EXECUTABLE
    unit_environment: Mapping[str, str] = {}

    def init(self) -> None:
        super().init()
        # Conversions that ended before they began (refused, nothing to do): id -> outcome.
        self._outcomes: dict[str, dict[str, Any]] = {}

    # -- connections ------------------------------------------------------------------------

    def _user_directory(
        self, request: Any, write: bool = False
    ) -> tuple[directory.LdapConnection, str]:
        """The logged-in user's python-ldap connection and the LDAP base."""
        lo = request.get_user_ldap_connection(write=write)
        if lo is None:
            if not request.user_dn:
                raise Forbidden(
                    _("Log in with a domain account: the local user %s has no directory access.")
                    % (request.username,)
                )
            raise ServiceUnavailable(
                _("The directory cannot be reached as %s.") % (request.user_dn,)
            )
        return lo.lo.lo, lo.base

    def _root(self) -> HostRoot:
        return HostRoot.open(self.host_root)

    def _this_host(self) -> dict[str, Any]:
        values = ucr.load(self._root())
        return {
            "name": values.get("hostname"),
            "dn": values.get("ldap/hostdn"),
            "domainname": values.get("domainname"),
        }

    def _title(self, name: str | None) -> str:
        return _("Converting libvirt-qemu on %s") % (name or "",)

    # -- commands ---------------------------------------------------------------------------

    @threaded
    def survey(self, request: Any) -> dict[str, Any]:
        """The domain survey (``survey --domain``), read as the logged-in user, and the
        conversion this module started here, if it has not been shown to its end."""
        with umc_errors():
            conn, base = self._user_directory(request)
            result = domain_survey.collect(conn, base).as_dict()
            here = self._this_host()
            started = conversion.current(self._root())
            here["conversion"] = (
                {"id": started.id, "title": self._title(started.host)} if started else None
            )
            result["this_host"] = here
        return result

    @threaded
    def host(self, request: Any) -> dict[str, Any]:
        """The live survey of this host against the domain's target."""
        with umc_errors():
            conn, base = self._user_directory(request)
            settings = directory.read_settings(conn, base)
            root = self._root()
            here = host_survey.survey(root, settings.target, self.proc)
            held = agent.directory_blockers(conn, base, settings, root)
            return {
                "host": self._this_host(),
                "settings": settings.as_dict(),
                "survey": here.as_dict(),
                "directory_blockers": [blocker.as_dict() for blocker in held],
            }

    def _plan(
        self, conn: directory.LdapConnection, base: str, paths: list[str], restart: bool
    ) -> tuple[convert.ConvertReport, list[host_survey.Blocker]]:
        """The dry run and the directory's holders of the target, as blockers."""
        settings = directory.read_settings(conn, base)
        root = self._root()
        report = convert.convert(
            root, settings.target, paths, restart=restart, dry_run=True, proc=self.proc
        )
        return report, agent.directory_blockers(conn, base, settings, root)

    @sanitize(paths=PATHS, restart=RESTART)
    @threaded
    def dry_run(self, request: Any) -> dict[str, Any]:
        """What ``convert`` would do on this host; changes nothing."""
        with umc_errors():
            conn, base = self._user_directory(request)
            report, held = self._plan(
                conn, base, request.options["paths"], request.options["restart"]
            )
            result = _shown(report.as_dict())
            result["directory_blockers"] = [blocker.as_dict() for blocker in held]
            result["host"] = self._this_host()
            return result

    @sanitize(paths=PATHS, restart=RESTART)
    @threaded
    def convert(self, request: Any) -> dict[str, Any]:
        """Convert this host in a transient unit; answer at once with the id ``progress`` polls.

        The dry run comes first: a refusal (blockers) or nothing to do is an answer, not an
        error, and starts nothing. A conversion already running is a 409.
        """
        paths, restart = request.options["paths"], request.options["restart"]
        with umc_errors():
            conn, base = self._user_directory(request)
            report, held = self._plan(conn, base, paths, restart)
            here = self._this_host()
            name = here["name"] or here["dn"] or ""
            blockers = [*convert.listed(report.survey), *held]
            ended: dict[str, Any] | None = None
            if blockers:
                ended = {
                    "status": "refused",
                    "message": _("The blockers stand in the way; nothing was changed."),
                    "blockers": [blocker.as_dict() for blocker in blockers],
                }
            elif report.status in (
                convert.ConvertStatus.ALREADY_STATIC,
                convert.ConvertStatus.ABSENT,
            ):
                ended = {"status": str(report.status)}
            if ended is not None:
                progress_id = f"ended-{secrets.token_hex(6)}"
                self._outcomes[progress_id] = {**ended, "host": here}
                return {"id": progress_id, "title": self._title(name)}
            # Another run (a repair, a bridge) holding the host's lock would make the unit
            # fail and record the host "failed": say it is busy instead, naming the PID.
            with Store(self._root()).locked():
                pass
            started = conversion.start(
                self._root(),
                name,
                len(report.changes),
                paths,
                restart,
                executable=self.executable,
                environment=self.unit_environment,
            )
        return {"id": started.id, "title": self._title(name)}

    @threaded
    def attach(self, request: Any) -> dict[str, Any]:
        """The conversion this module started here (maybe in another process), to poll again."""
        with umc_errors():
            started = conversion.current(self._root())
        if started is None:
            raise BadRequest(_("No conversion of this host was started here."))
        return {"id": started.id, "title": self._title(started.host)}

    @sanitize(progress_id=PROGRESS_ID)
    @threaded
    def progress(self, request: Any) -> dict[str, Any]:
        """Where the conversion is: journaled changes of the planned ones; at its end, how it
        ended (read from its run and the record the unit wrote), and then it is forgotten."""
        progress_id = request.options["progress_id"]
        ended = self._outcomes.pop(progress_id, None)
        if ended is not None:
            return _poll(self._title(ended["host"]["name"]), 100, "", ended)
        with umc_errors():
            root = self._root()
            started = conversion.current(root)
            if started is None or started.id != progress_id:
                raise BadRequest(_("Invalid progress ID"))
            run = conversion.run_of(root, started)
            title = self._title(started.host)
            if conversion.running(started):
                done = conversion.journaled(root, run) if run is not None else 0
                share = min(99.0, 100.0 * done / started.total) if started.total else 0.0
                message = (
                    _("%(done)d of %(total)d changes journaled and made")
                    % {"done": min(done, started.total), "total": started.total}
                    if run is not None
                    else _("Checking the host and recording that it converts")
                )
                return _poll(title, share, message, None)
            conn, _base = self._user_directory(request)
            here = self._this_host()
            stored = _stored_record(conn, here["dn"])
            result = {**conversion.outcome(run, stored), "host": here, "record": stored}
            conversion.forget(root, started)
            return _poll(title, 100, "", result)

    @threaded
    def settings_show(self, request: Any) -> dict[str, Any]:
        """The domain's target pair (the settings object) and its permanent allocator locks."""
        from libvirt_static_ids.directory import settings

        with umc_errors():
            conn, base = self._user_directory(request)
            return settings.show(conn, base).as_dict()

    @sanitize(uid=ID, gid=ID, dry_run=BooleanSanitizer(default=True))
    @threaded
    def settings_set(self, request: Any) -> dict[str, Any]:
        """Move the target to another pair, as the logged-in user (``settings set``).

        The core validates the pair (free in the directory and on every recorded host),
        locks it first, switches, unlocks the old pair and asks every host to re-record. A
        refusal is an answer listing what holds the pair; nothing was changed then.
        """
        from libvirt_static_ids.directory import settings
        from libvirt_static_ids.ids import IdPair, parse_id

        options = request.options
        with umc_errors():
            new = IdPair(parse_id(options["uid"], "--uid"), parse_id(options["gid"], "--gid"))
            conn, base = self._user_directory(request, write=True)
            try:
                change = settings.change_target(conn, base, new, dry_run=options["dry_run"])
            except PreflightRefused as refused:
                return {
                    "status": "refused",
                    "message": refused.message,
                    "blockers": refused.details.get("blockers", []),
                }
        return {"status": "checked" if change.dry_run else "set", **change.as_dict()}

    @sanitize(
        hosts=ListSanitizer(
            StringSanitizer(minimum=1, maximum=1024), min_elements=1, required=True
        ),
        action=ChoicesSanitizer([request.value for request in HostRequest], required=True),
    )
    @threaded
    def request_hosts(self, request: Any) -> dict[str, Any]:
        """Ask hosts (names or DNs) to refresh their record or to convert, through LDAP."""
        with umc_errors():
            conn, base = self._user_directory(request, write=True)
            wanted = HostRequest(request.options["action"])
            hosts = directory.request_hosts(conn, base, request.options["hosts"], wanted)
        return {"request": wanted.value, "hosts": hosts}

    @threaded
    def rollout_status(self, request: Any) -> dict[str, Any]:
        """``rollout status`` with the plan's timeline, read as the logged-in user."""
        with umc_errors():
            conn, base = self._user_directory(request)
            return rollout_page.status(conn, base)
