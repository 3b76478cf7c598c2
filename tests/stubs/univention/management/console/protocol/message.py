# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.protocol.message`` (Request, Response).

The real file (repository univention/univention-corporate-server):
management/univention-management-console/src/univention/management/console/protocol/message.py

Mirrors the UCS 5.x module: a ``Message`` keeps a JSON body whose ``options``, ``flavor``,
``status``, ``message``, ``result``, ``error`` and ``reason`` are properties; ``Request(command,
arguments=None, options=None, mime_type=MIMETYPE_JSON)`` gets a unique ``id`` and carries the
session (``username``, ``password``, ``user_dn``, ``auth_type``, ``locale``) plus ``cookies``,
``headers`` and ``http_method``, which the UMC server fills in. ``get_user_ldap_connection``
opens (through ``univention.management.console.ldap``) a connection bound as the logged-in
user, or returns None for a local user or when that fails. ``Response(request)`` copies id,
command, arguments and options. Left out: SAML binds, file bodies, parsing.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import ldap

from univention.management.console.ldap import get_user_connection

MIMETYPE_JSON = "application/json"

__all__ = ("Request", "Response")

_counter = itertools.count()
_log = logging.getLogger("univention.management.console")


def _body_property(key: str, cast: Any = None) -> property:
    def fget(self: Message) -> Any:
        return self.body.get(key)

    def fset(self: Message, value: Any) -> None:
        self.body[key] = cast(value) if cast is not None and value is not None else value

    return property(fget, fset)


class Message:
    RESPONSE, REQUEST = range(2)

    def __init__(  # noqa: PLR0917 - the original's signature
        self,
        type: int = REQUEST,
        command: str = "",
        mime_type: str = MIMETYPE_JSON,
        data: bytes | None = None,
        arguments: list[str] | None = None,
        options: Any = None,
    ) -> None:
        self.id: str | None = None
        self.body: dict[str, Any] = {}
        self.command = command
        self.arguments = arguments if arguments is not None else []
        self.mimetype = mime_type
        if mime_type == MIMETYPE_JSON:
            self.options = options if options is not None else {}
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.http_method: str | None = None

    @classmethod
    def generate_id(cls) -> str:
        return f"{int(time.time() * 100000)}-{next(_counter)}"

    message = _body_property("message")
    error = _body_property("error")
    result = _body_property("result")
    status = _body_property("status", int)
    reason = _body_property("reason")
    options = _body_property("options")
    flavor = _body_property("flavor")


class Request(Message):
    def __init__(
        self,
        command: str,
        arguments: list[str] | None = None,
        options: Any = None,
        mime_type: str = MIMETYPE_JSON,
    ) -> None:
        super().__init__(
            Message.REQUEST, command, arguments=arguments, options=options, mime_type=mime_type
        )
        self.id: str = self.generate_id()  # a request always has one
        self.username: str | None = None
        self.password: str | None = None
        self.user_dn: str | None = None
        self.auth_type: str | None = None
        self.locale: str | None = None

    def get_user_ldap_connection(self, no_cache: bool = False, **kwargs: Any) -> Any:
        if not self.user_dn:
            return None  # local user (probably root)
        try:
            lo, _po = get_user_connection(
                bind=self.bind_user_connection,
                write=kwargs.pop("write", False),
                follow_referral=True,
                no_cache=no_cache,
                **kwargs,
            )
            return lo
        except ldap.LDAPError as exc:
            _log.warning("Failed to open LDAP connection for user %s: %s", self.user_dn, exc)
            return None

    def bind_user_connection(self, lo: Any) -> None:
        lo.lo.bind(self.user_dn, self.password)


class Response(Message):
    def __init__(
        self,
        request: Request | None = None,
        data: bytes | None = None,
        mime_type: str = MIMETYPE_JSON,
    ) -> None:
        super().__init__(Message.RESPONSE, mime_type=mime_type)
        if request is not None:
            self.id = request.id
            self.command = request.command
            self.arguments = request.arguments
            if request.mimetype == MIMETYPE_JSON:
                self.options = request.options
