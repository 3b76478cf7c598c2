# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The shipped ``ldap/`` files, and the ACL template turned into what slapd loads.

UCS renders an ACL template with UCR (``@%@var@%@``) into slapd.conf; the throwaway slapd
uses cn=config, so each ``access to ...`` rule becomes one ``olcAccess`` value. The
template must stay free of ``@!@`` code (see the template's header), which is checked here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

SCHEMA_NAME = "libvirt-static-ids"
ACL_FILE = "66libvirt-static-ids.acl"
_VARIABLE = re.compile(r"@%@([^@]+)@%@")


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
    """UCR's variable substitution; a template with ``@!@`` code is refused."""
    if "@!@" in text:
        raise ValueError("the ACL template contains @!@ code, which only UCS can render")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ucr:
            raise KeyError(f"the ACL template uses UCR variable {name!r}, which is not set")
        return ucr[name]

    return _VARIABLE.sub(value, text)


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
    return [" ".join(parts) for parts in rules]


def shipped_access_rules(base: str, directory: str | None = None) -> list[str]:
    """The shipped ACL fragment as olcAccess values for the directory at ``base``."""
    with open(acl_file(directory), encoding="utf-8") as handle:
        return access_rules(render_template(handle.read(), {"ldap/base": base}))
