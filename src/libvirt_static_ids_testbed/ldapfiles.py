# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The shipped ``ldap/`` files, and the ACL template turned into what slapd loads.

UCS renders an ACL template with UCR into slapd.conf: ``@%@var@%@`` first, then each ``@!@``
block is run as Python with ``configRegistry`` and replaced by what it prints
(base/univention-config-registry's handler, which runs each block in a fresh interpreter;
here each gets a fresh namespace). The throwaway slapd uses cn=config, so each
``access to ...`` rule becomes one ``olcAccess`` value. slapd.conf's parser (strtok_quote in
servers/slapd/config.c) takes a backslash as an escape and drops it, which cn=config's
values do not: the escapes are resolved here, as UCS's slapd would resolve them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Mapping

SCHEMA_NAME = "libvirt-static-ids"
ACL_FILE = "66libvirt-static-ids.acl"
_VARIABLE = re.compile(r"@%@([^@]+)@%@")
_CODE = re.compile(r"@!@(.+?)@!@", re.DOTALL)
_TRUE = ("yes", "true", "1", "enable", "enabled", "on")
_FALSE = ("no", "false", "0", "disable", "disabled", "off")


class Registry(dict[str, str]):
    """What a UCR template's code sees as ``configRegistry`` (the methods templates use)."""

    def __getitem__(self, key: str) -> str:
        return self.get(key) or ""

    def is_true(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        return default if value is None else value.lower() in _TRUE

    def is_false(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        return default if value is None else value.lower() in _FALSE


def ldap_dir() -> str:
    """The ``ldap/`` directory: $LIBVIRT_STATIC_IDS_LDAP_DIR, else the source checkout's."""
    explicit = os.environ.get("LIBVIRT_STATIC_IDS_LDAP_DIR")
    candidates = [explicit] if explicit else []
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "ldap"))
    for candidate in candidates:
        if os.path.isfile(os.path.join(candidate, f"{SCHEMA_NAME}.ldif")):
            return os.path.realpath(candidate)
    raise FileNotFoundError(
        f"the ldap/ files of libvirt-static-ids were not found (looked in {candidates}); "
        "set LIBVIRT_STATIC_IDS_LDAP_DIR"
    )


def schema_ldif(directory: str | None = None) -> str:
    return os.path.join(directory or ldap_dir(), f"{SCHEMA_NAME}.ldif")


def schema_file(directory: str | None = None) -> str:
    return os.path.join(directory or ldap_dir(), f"{SCHEMA_NAME}.schema")


def acl_file(directory: str | None = None) -> str:
    return os.path.join(directory or ldap_dir(), ACL_FILE)


def render_template(text: str, ucr: Mapping[str, str]) -> str:
    """The template as UCR renders it with these variables (a variable used by ``@%@`` must be
    set: an empty value would make a wrong ACL silently)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ucr:
            raise KeyError(f"the ACL template uses UCR variable {name!r}, which is not set")
        return ucr[name]

    def run(match: re.Match[str]) -> str:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(match.group(1), {"configRegistry": Registry(ucr)})  # noqa: S102 - as UCR does
        return printed.getvalue()

    return _CODE.sub(run, _VARIABLE.sub(value, text))


_CONF_ESCAPE = re.compile(r"\\(.)")


def _unescaped(directive: str) -> str:
    """The directive as slapd.conf's parser hands it on: ``\\x`` is ``x``. An escaped quote
    has no cn=config spelling that we know of, so it is refused rather than guessed."""
    if any(match.group(1) == '"' for match in _CONF_ESCAPE.finditer(directive)):
        raise ValueError(f"an escaped quote has no olcAccess form here: {directive!r}")
    return _CONF_ESCAPE.sub(r"\1", directive)


def access_rules(slapd_conf: str) -> list[str]:
    """Each ``access to ...`` directive of slapd.conf text, as one olcAccess value."""
    rules: list[list[str]] = []
    for line in slapd_conf.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace():
            if not rules:
                raise ValueError(f"continuation before any access directive: {line!r}")
            rules[-1].append(stripped)
        elif stripped.startswith("access "):
            rules.append([stripped.removeprefix("access ").strip()])
        else:
            raise ValueError(f"not an access directive: {line!r}")
    return [_unescaped(" ".join(parts)) for parts in rules]


def shipped_access_rules(
    base: str, directory: str | None = None, ucr: Mapping[str, str] | None = None
) -> list[str]:
    """The shipped ACL fragment as olcAccess values for the directory at ``base``, rendered
    with ``ucr`` (``ldap/base`` is set to ``base``)."""
    with open(acl_file(directory), encoding="utf-8") as handle:
        return access_rules(render_template(handle.read(), {**(ucr or {}), "ldap/base": base}))
