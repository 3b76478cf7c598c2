# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The directory through python-ldap: settings, host records, holders of the target IDs, requests.

Every filter value goes through ``escape_filter_chars`` and every DN value through
``escape_dn_chars``: host names and base DNs come from people and from LDAP itself.
LDAP failures become a DirectoryError that names what was attempted on which DN.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import ldap
import ldap.dn
import ldap.filter

from libvirt_static_ids.directory import record, reservation
from libvirt_static_ids.errors import ExitCode, StaticIdsError, UsageError
from libvirt_static_ids.ids import DEFAULT_TARGET, IdPair, parse_id

SETTINGS_CLASS = "libvirtStaticIdsSettings"
TARGET_UID = reservation.TARGET_ATTRIBUTES["uid"]
TARGET_GID = reservation.TARGET_ATTRIBUTES["gid"]
SETTINGS_NAME = reservation.SETTINGS_NAME
# Hosts with the app installed carry this univentionService value (join script) even
# before they recorded anything: they are reported as "no record".
SERVICE = "libvirt-static-ids"
# The survey reads these of thousands of hosts: nothing it does not show.
HOST_ATTRIBUTES = ["cn", *record.RECORD_ATTRIBUTES, record.REQUEST]
HOLDER_ATTRIBUTES = ["objectClass", "uid", "cn", "uidNumber", "gidNumber", "univentionObjectType"]


# What a search returns: (dn, attributes) pairs; a search continuation has no dn.
SearchResult = list[tuple[str | None, dict[str, list[bytes]]]]


class LdapConnection(Protocol):
    """What this package calls on a python-ldap connection (``ldap.ldapobject.LDAPObject``,
    also the ``lo`` of UCS's ``univention.uldap.access``); python-ldap has no type hints."""

    def search_ext_s(
        self, base: str, scope: int, filterstr: str, attrlist: list[str], /
    ) -> SearchResult: ...

    def search_ext(self, base: str, scope: int, filterstr: str, attrlist: list[str], /) -> int: ...

    def result3(self, msgid: int, all_: int, /) -> tuple[int, SearchResult, int, Any]: ...

    def modify_ext_s(
        self, dn: str, modlist: Sequence[tuple[int, str, list[bytes] | None]], /
    ) -> object: ...

    def add_ext_s(self, dn: str, modlist: Sequence[tuple[str, list[bytes]]], /) -> object: ...

    def delete_ext_s(self, dn: str, /) -> object: ...

    def unbind_s(self) -> None: ...


class DirectoryError(StaticIdsError):
    """The directory could not be reached, refused an operation, or lacks an object."""

    code = "directory"
    exit_code = ExitCode.FAILED


class Reason(StrEnum):
    """Why the directory failed (a DirectoryError's ``reason``; UMC picks its answer by it)."""

    INSUFFICIENT_ACCESS = "insufficient-access"
    UNREACHABLE = "unreachable"
    INVALID_CREDENTIALS = "invalid-credentials"
    NO_SUCH_OBJECT = "no-such-object"
    LDAP = "ldap"


class RequestStatus(StrEnum):
    """A request set on a host, or found already pending there."""

    REQUESTED = "requested"
    PENDING = "pending"


def _describe(error: ldap.LDAPError) -> str:
    info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    parts = [str(info.get("desc", type(error).__name__))]
    if info.get("info"):
        parts.append(str(info["info"]))
    return ": ".join(parts)


@contextlib.contextmanager
def ldap_errors(action: str) -> Iterator[None]:
    """Turn python-ldap errors into a DirectoryError saying what was being done."""
    try:
        yield
    except ldap.INSUFFICIENT_ACCESS as error:
        raise DirectoryError(
            f"{action}: insufficient access ({_describe(error)})", reason=Reason.INSUFFICIENT_ACCESS
        ) from error
    except ldap.SERVER_DOWN as error:
        raise DirectoryError(
            f"{action}: server unreachable ({_describe(error)})", reason=Reason.UNREACHABLE
        ) from error
    except ldap.INVALID_CREDENTIALS as error:
        raise DirectoryError(
            f"{action}: invalid credentials", reason=Reason.INVALID_CREDENTIALS
        ) from error
    except ldap.LDAPError as error:
        raise DirectoryError(f"{action}: {_describe(error)}", reason=Reason.LDAP) from error


def validate_dn(value: str, option: str) -> str:
    """``value`` if it is a non-empty DN, else UsageError naming option and value."""
    try:
        valid = bool(value) and ldap.dn.is_dn(value) and bool(ldap.dn.str2dn(value))
    except (ldap.DECODING_ERROR, TypeError):
        valid = False
    if not valid:
        raise UsageError(f"{option} {value!r} is not an LDAP DN", option=option)
    return value


def validate_uri(uri: str) -> str:
    if not uri.startswith(("ldap://", "ldaps://", "ldapi://")):
        raise UsageError(
            f"--ldap-uri {uri!r} is not an ldap://, ldaps:// or ldapi:// URI", option="--ldap-uri"
        )
    return uri


def same_dn(first: str, second: str) -> bool:
    """DN equality as LDAP sees it: attribute types and (our) values case-insensitive."""
    try:
        parsed = [ldap.dn.str2dn(dn) for dn in (first, second)]
    except ldap.DECODING_ERROR:
        return False
    lowered = [[[(t.lower(), v.lower()) for t, v, _ in rdn] for rdn in dn] for dn in parsed]
    return lowered[0] == lowered[1]


def settings_dn(base: str) -> str:
    return f"cn={ldap.dn.escape_dn_chars(SETTINGS_NAME)},cn=univention,{base}"


def connect(
    uri: str,
    binddn: str | None,
    password: str | None,
    *,
    starttls: bool = False,
    timeout: float = 10.0,
) -> LdapConnection:
    """An LDAP connection, bound as ``binddn`` (anonymous without one)."""
    validate_uri(uri)
    try:
        conn = ldap.initialize(uri)
    except ldap.LDAPError as error:
        raise UsageError(
            f"--ldap-uri {uri!r} is unusable: {_describe(error)}", option="--ldap-uri"
        ) from error
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, timeout)
    conn.set_option(ldap.OPT_TIMEOUT, timeout * 6)
    with ldap_errors(f"connecting to {uri}"):
        if starttls:
            conn.start_tls_s()
        if binddn:
            conn.simple_bind_s(binddn, password or "")
    return conn


@dataclass(frozen=True)
class Settings:
    """The domain-wide target; absent or unusable values fall back to 64055, said in problems."""

    dn: str
    exists: bool
    target: IdPair
    problems: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "dn": self.dn,
            "exists": self.exists,
            "target": self.target.as_dict(),
            "problems": list(self.problems),
        }


def settings_from_entry(dn: str, entry: Mapping[str, Sequence[bytes]] | None) -> Settings:
    """Interpret the settings object as read (``None`` when it does not exist)."""
    if not entry:
        return Settings(dn, False, DEFAULT_TARGET)
    problems = []
    numbers = []
    for name, default in ((TARGET_UID, DEFAULT_TARGET.uid), (TARGET_GID, DEFAULT_TARGET.gid)):
        values = record._values(entry, name)
        if not values:
            numbers.append(default)
            continue
        text = values[0].decode("utf-8", "replace")
        try:
            numbers.append(parse_id(text, name))
        except UsageError as error:
            problems.append(f"{error.message}; using {default}")
            numbers.append(default)
    return Settings(dn, True, IdPair(numbers[0], numbers[1]), tuple(problems))


def read_entry(
    conn: LdapConnection, dn: str, attributes: Sequence[str]
) -> dict[str, list[bytes]] | None:
    """The entry's attributes, or None if it does not exist (or is invisible to us)."""
    with ldap_errors(f"reading {dn}"):
        try:
            found = conn.search_ext_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", list(attributes))
        except ldap.NO_SUCH_OBJECT:
            return None
    return found[0][1] if found else None


def read_settings(conn: LdapConnection, base: str) -> Settings:
    dn = settings_dn(base)
    return settings_from_entry(dn, read_entry(conn, dn, [TARGET_UID, TARGET_GID]))


def write_record(
    conn: LdapConnection,
    dn: str,
    host_record: record.HostRecord,
    now: datetime,
    *,
    keep: Sequence[str] = (),
) -> record.RecordUpdate:
    """Make the host object at ``dn`` hold ``host_record``; one modify at most, none if equal.

    Detail keys in ``keep`` that ``host_record`` lacks are carried over from the stored
    record (the echo of the last request outlives the next refresh).
    """
    extra = [record.INVENTORY] if host_record.inventory is not None else []
    stored = read_entry(conn, dn, ["objectClass", *record.RECORD_ATTRIBUTES, *extra])
    if stored is None:
        raise DirectoryError(
            f"host object {dn} does not exist (or is not readable)", reason=Reason.NO_SUCH_OBJECT
        )
    missing = [key for key in keep if key not in host_record.detail]
    if missing:
        old = record.read(dn, dn, stored).detail
        carried = {key: old[key] for key in missing if key in old}
        if carried:
            host_record = dataclasses.replace(host_record, detail={**host_record.detail, **carried})
    change = record.plan(stored, host_record, now)
    if change.empty:
        return change
    modlist: list[tuple[int, str, Any]] = []
    if change.add_object_class:
        modlist.append((ldap.MOD_ADD, "objectClass", [record.OBJECT_CLASS.encode()]))
    for name, values in change.replace:
        modlist.append((ldap.MOD_REPLACE, name, list(values) or None))
    with ldap_errors(f"writing the record of {dn}"):
        conn.modify_ext_s(dn, modlist)
    return change


def host_name(dn: str, entry: Mapping[str, Sequence[bytes]]) -> str:
    """The host's name: cn, else uid without the machine account's "$", else the RDN."""
    common = entry.get("cn")  # what slapd sends; the loop below covers any spelling
    if common:
        return common[0].decode("utf-8", "replace")
    for attribute, strip in (("cn", ""), ("uid", "$")):
        values = record._values(entry, attribute)
        if values:
            name = values[0].decode("utf-8", "replace")
            return name[: -len(strip)] if strip and name.endswith(strip) else name
    try:
        return ldap.dn.str2dn(dn)[0][0][1]
    except (ldap.DECODING_ERROR, IndexError):
        return dn


def stream(
    conn: LdapConnection, base: str, query: str, attributes: Sequence[str]
) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """A subtree search's entries one by one, as they arrive.

    Reading each entry while slapd still sends the next overlaps the two; taking all at once
    (``search_ext_s``) waits for the last entry and makes libldap chain every message first,
    which for thousands of host records costs more than reading them. Search continuations
    (no DN) are left out; errors are python-ldap's, raised where the caller iterates.
    """
    msgid = conn.search_ext(base, ldap.SCOPE_SUBTREE, query, list(attributes))
    while True:
        kind, found, _, _ = conn.result3(msgid, 0)  # all=0: the next message
        for dn, entry in found:
            if dn:
                yield dn, entry
        if kind == ldap.RES_SEARCH_RESULT:
            return


def list_hosts(
    conn: LdapConnection, base: str, attributes: Sequence[str] = HOST_ATTRIBUTES
) -> list[record.StoredRecord]:
    """Every host that records itself (or should: the service is registered), by name.

    ``plan`` adds the inventory to ``attributes``; the survey reads only what it shows.
    """
    query = ldap.filter.filter_format(
        "(|(objectClass=%s)(univentionService=%s))", [record.OBJECT_CLASS, SERVICE]
    )
    read = record.read
    with ldap_errors(f"searching host records under {base}"):
        hosts = [
            read(dn, host_name(dn, entry), entry)
            for dn, entry in stream(conn, base, query, attributes)
        ]
    return sorted(hosts, key=lambda host: (host.name.lower(), host.dn.lower()))


@dataclass(frozen=True)
class Holder:
    """An LDAP object whose uidNumber or gidNumber is one of the target numbers."""

    dn: str
    name: str
    kind: str
    uid_number: int | None
    gid_number: int | None
    holds: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "dn": self.dn,
            "name": self.name,
            "kind": self.kind,
            "uidNumber": self.uid_number,
            "gidNumber": self.gid_number,
            "holds": list(self.holds),
        }


def _kind(entry: Mapping[str, Sequence[bytes]]) -> str:
    udm_type = record._values(entry, "univentionObjectType")
    if udm_type:
        return udm_type[0].decode("utf-8", "replace")
    classes = {
        value.decode("utf-8", "replace").lower() for value in record._values(entry, "objectClass")
    }
    uid = record._values(entry, "uid")
    if "posixaccount" in classes:
        return "computer" if uid and uid[0].endswith(b"$") else "user"
    if "posixgroup" in classes:
        return "group"
    return "other"


def _int(entry: Mapping[str, Sequence[bytes]], name: str) -> int | None:
    values = record._values(entry, name)
    text = values[0].decode("ascii", "replace").strip() if values else ""
    return int(text) if text.isdigit() else None


def holders(conn: LdapConnection, base: str, target: IdPair) -> list[Holder]:
    """Every object (any kind) holding the target UID as uidNumber or GID as gidNumber."""
    query = ldap.filter.filter_format(
        "(|(uidNumber=%s)(gidNumber=%s))", [str(target.uid), str(target.gid)]
    )
    with ldap_errors(f"searching objects holding {target} under {base}"):
        found = conn.search_ext_s(base, ldap.SCOPE_SUBTREE, query, HOLDER_ATTRIBUTES)
    result = []
    for dn, entry in found:
        if not dn:
            continue
        uid_number, gid_number = _int(entry, "uidNumber"), _int(entry, "gidNumber")
        holds = tuple(
            name
            for name, number, wanted in (
                ("uid", uid_number, target.uid),
                ("gid", gid_number, target.gid),
            )
            if number == wanted
        )
        result.append(Holder(dn, host_name(dn, entry), _kind(entry), uid_number, gid_number, holds))
    return sorted(result, key=lambda holder: holder.dn.lower())


def find_host(conn: LdapConnection, base: str, name: str) -> str:
    """The DN of the computer object named ``name`` (its machine account is ``name$``).

    A DN is accepted as is, once it is known to exist. No match, or several, is bad input.
    """
    if "=" in name:
        dn = validate_dn(name, "HOST")
        if read_entry(conn, dn, ["objectClass"]) is None:
            raise UsageError(f"HOST {name!r}: no such object", option="HOST")
        return dn
    if not name or len(name) > 255 or not name.isprintable():
        raise UsageError(f"HOST {name!r} is not a host name", option="HOST")
    query = ldap.filter.filter_format("(&(objectClass=posixAccount)(uid=%s))", [name + "$"])
    with ldap_errors(f"looking up host {name!r} under {base}"):
        found = [dn for dn, _ in conn.search_ext_s(base, ldap.SCOPE_SUBTREE, query, ["1.1"]) if dn]
    if not found:
        raise UsageError(
            f"HOST {name!r}: no computer object with uid {name + '$'!r} under {base}", option="HOST"
        )
    if len(found) > 1:
        raise UsageError(
            f"HOST {name!r} is ambiguous: {', '.join(found)}; give the DN instead", option="HOST"
        )
    return found[0]


def set_request(conn: LdapConnection, dn: str, request: record.Request | str) -> bool:
    """Ask the host at ``dn`` to do ``request`` (a bare request, or a full value as
    ``request.HostRequest.value()`` writes it); False if exactly that is already pending."""
    value = request.value if isinstance(request, record.Request) else request
    entry = read_entry(conn, dn, ["objectClass", record.REQUEST])
    if entry is None:
        raise DirectoryError(
            f"host object {dn} does not exist (or is not readable)", reason=Reason.NO_SUCH_OBJECT
        )
    current = record._values(entry, record.REQUEST)
    if current == [value.encode()]:
        return False
    modlist: list[tuple[int, str, Any]] = []
    if not record.has_object_class(entry):
        modlist.append((ldap.MOD_ADD, "objectClass", [record.OBJECT_CLASS.encode()]))
    modlist.append((ldap.MOD_REPLACE, record.REQUEST, [value.encode()]))
    with ldap_errors(f"setting request {value!r} on {dn}"):
        conn.modify_ext_s(dn, modlist)
    return True


def request_hosts(
    conn: LdapConnection, base: str, names: Sequence[str], request: record.Request
) -> list[dict[str, str]]:
    """Set ``request`` on the named hosts; every name is resolved first, so one bad name
    changes nothing. Each host's status is "requested", or "pending" if it already was."""
    targets = [(name, find_host(conn, base, name)) for name in names]
    return [
        {
            "host": name,
            "dn": dn,
            "status": RequestStatus.REQUESTED
            if set_request(conn, dn, request)
            else RequestStatus.PENDING,
        }
        for name, dn in targets
    ]


def clear_request(conn: LdapConnection, dn: str, value: str) -> bool:
    """Delete exactly the request value handled; False if it changed or vanished meanwhile."""
    with ldap_errors(f"clearing request {value!r} on {dn}"):
        try:
            conn.modify_ext_s(dn, [(ldap.MOD_DELETE, record.REQUEST, [value.encode()])])
        except (ldap.NO_SUCH_ATTRIBUTE, ldap.NO_SUCH_OBJECT):
            return False
    return True
