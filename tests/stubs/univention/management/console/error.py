# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.error`` (errors a module raises).

The real file (repository univention/univention-corporate-server):
management/univention-management-console/src/univention/management/console/error.py

Mirrors the UCS 5.x module: ``UMC_Error(message=None, status=None, result=None,
headers=None, traceback=None, reason=None)`` with a class-level default ``status`` (400) and
``msg``; ``str()`` is the message. The subclasses carry their HTTP status and default message.
The original derives from tornado's ``HTTPError``; this one from ``Exception`` (no tornado
here). Left out: ``PasswordRequired``, ``LDAP_ServerDown``, ``LDAP_ConnectionFailed`` (which
read UCR) and ``OpenIDProvideUnavailable``.
"""

from __future__ import annotations

from typing import Any

from univention.lib.i18n import Translation

_ = Translation("univention.management.console").translate


class UMC_Error(Exception):
    status = 400
    msg: str | None = None
    include_traceback = False

    def __init__(  # noqa: PLR0917 - the original's signature
        self,
        message: str | None = None,
        status: int | None = None,
        result: Any = None,
        headers: dict[str, str] | None = None,
        traceback: str | None = None,
        reason: str | None = None,
    ) -> None:
        message = message or self.msg
        self.msg = message
        self.result = result
        self.headers = headers
        self.traceback = traceback
        self.reason = reason
        if isinstance(status, int):
            self.status = status
        super().__init__(self.status, message)

    def __str__(self) -> str:
        return self.msg or ""


class BadRequest(UMC_Error):
    msg = _("Bad request")
    status = 400


class Unauthorized(UMC_Error):
    msg = _("Unauthorized")
    status = 401


class Forbidden(UMC_Error):
    msg = _("Forbidden")
    status = 403


class NotFound(UMC_Error):
    msg = _("Not found")
    status = 404


class MethodNotAllowed(UMC_Error):
    msg = _("Method not allowed")
    status = 405


class NotAcceptable(UMC_Error):
    status = 406


class UnprocessableEntity(UMC_Error):
    status = 422


class ServerError(UMC_Error):
    msg = _("Internal error")
    status = 500


class BadGateway(UMC_Error):
    status = 502


class ServiceUnavailable(UMC_Error):
    status = 503
