# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A request's value on a host object: its kind and parameters, written and read in one place.

``refresh``, ``convert`` and ``evacuate`` take ``key=value`` words after the kind, so one
LDAP value carries everything the host needs and nothing is looked up elsewhere:

    refresh id=R
    convert id=R
    evacuate to=kvm02 uid=64055 gid=64055 mode=chmod vm=web vm=db id=R

``id`` (optional) names the request; the host echoes it in its record's detail with the
request's state, which is how a rollout knows that *its* request finished. Values are
percent-encoded (a VM name may hold spaces). The host parses what an administrator wrote, so
everything is checked and a bad value is named.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import UsageError
from libvirt_static_ids.ids import IdPair, parse_id

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")
MODES = ("acl", "chmod")
DETAIL_KEY = "request"  # where the host echoes the request in its record's detail


class Kind(StrEnum):
    """Every kind of request a host carries out (``record.Request``: those set by name alone)."""

    REFRESH = "refresh"
    CONVERT = "convert"
    EVACUATE = "evacuate"


class RequestState(StrEnum):
    """How far a host got with a request (its record's ``detail.request.state``)."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class HostRequest:
    """One request as the host carries it out."""

    kind: Kind
    id: str | None = None
    to: str | None = None  # evacuate: the destination host
    numbers: IdPair | None = None  # evacuate: libvirt-qemu's numbers on the destination
    mode: str | None = None  # evacuate: how bridges widen access (acl | chmod)
    vms: tuple[str, ...] = field(default=())  # evacuate: the VMs to move, by name

    def value(self) -> str:
        """The LDAP value: the kind, then the parameters in a fixed order."""
        words = [self.kind.value]
        if self.kind is Kind.EVACUATE:
            assert self.to and self.numbers and self.mode
            words += [
                f"to={self.to}",
                f"uid={self.numbers.uid}",
                f"gid={self.numbers.gid}",
                f"mode={self.mode}",
                *(f"vm={urllib.parse.quote(vm, safe='')}" for vm in self.vms),
            ]
        if self.id:
            words.append(f"id={self.id}")
        return " ".join(words)

    def outcome(
        self, state: RequestState, message: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """What the host echoes in its detail about this request."""
        echoed: dict[str, Any] = {"kind": self.kind.value, "state": state.value}
        if self.id:
            echoed["id"] = self.id
        if message:
            echoed["message"] = message
        echoed.update(extra)
        return echoed


def check_id(value: str) -> str:
    if not _ID.match(value):
        raise UsageError(f"request id {value!r} is not usable (letters, digits, . _ : -)")
    return value


def check_host(value: str, what: str = "to") -> str:
    if not _HOST.match(value) or ".." in value:
        raise UsageError(f"request {what}={value!r} is not a host name")
    return value


def parse(value: str) -> HostRequest:
    """The request ``value`` as written on a host object; UsageError naming what is wrong."""
    words = value.split()
    if not words:
        raise UsageError(f"request {value!r} is empty")
    try:
        kind = Kind(words[0].lower())
    except ValueError:
        raise UsageError(f"unknown request {words[0]!r}") from None
    params: dict[str, str] = {}
    vms: list[str] = []
    for word in words[1:]:
        key, equals, text = word.partition("=")
        if not equals or not key:
            raise UsageError(f"request {value!r}: {word!r} is not key=value")
        if key == "vm" and kind is Kind.EVACUATE:
            name = urllib.parse.unquote(text)
            if not name or not name.isprintable():
                raise UsageError(f"request {value!r}: vm={text!r} is not a VM name")
            vms.append(name)
            continue
        if key in params:
            raise UsageError(f"request {value!r}: {key} given twice")
        params[key] = text
    return _build(kind, params, tuple(vms), value)


def _build(kind: Kind, params: Mapping[str, str], vms: tuple[str, ...], value: str) -> HostRequest:
    allowed = {"id"} | ({"to", "uid", "gid", "mode"} if kind is Kind.EVACUATE else set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise UsageError(f"request {value!r}: unknown parameter {unknown[0]!r} for {kind.value}")
    request_id = check_id(params["id"]) if "id" in params else None
    if kind is not Kind.EVACUATE:
        return HostRequest(kind, request_id)
    missing = [key for key in ("to", "uid", "gid", "mode") if key not in params]
    if missing:
        raise UsageError(f"request {value!r}: evacuate needs {', '.join(missing)}")
    if params["mode"] not in MODES:
        raise UsageError(f"request {value!r}: mode={params['mode']!r} is not acl or chmod")
    if not vms:
        raise UsageError(f"request {value!r}: evacuate names no vm=")
    numbers = IdPair(parse_id(params["uid"], "uid"), parse_id(params["gid"], "gid"))
    return HostRequest(kind, request_id, check_host(params["to"]), numbers, params["mode"], vms)


def echoed(detail: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request a record's detail echoes, if it is readable."""
    found = detail.get(DETAIL_KEY)
    if isinstance(found, dict) and isinstance(found.get("state"), str):
        return dict(found)
    return None
