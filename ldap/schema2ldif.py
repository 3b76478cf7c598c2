#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Generate the cn=config LDIF of the schema from its slapd.conf form.

UCS registers the ``.schema`` file; plain OpenLDAP (and the test slapd) loads the ``.ldif``.
One source, so the two can never drift: run ``ldap/schema2ldif.py`` after editing the
``.schema``, or ``ldap/schema2ldif.py --check`` to fail when the shipped LDIF is stale.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "libvirt-static-ids.schema")
LDIF = os.path.join(HERE, "libvirt-static-ids.ldif")
NAME = "libvirt-static-ids"
_KEYWORDS = {"attributetype": "olcAttributeTypes", "objectclass": "olcObjectClasses"}
_WIDTH = 76


def _statements(text: str) -> list[tuple[str, str]]:
    """(keyword, definition) pairs; continuation lines start with white space."""
    statements: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            if not statements:
                raise ValueError(f"continuation line before any statement: {line!r}")
            statements[-1].append(line.strip())
        else:
            statements.append([line.strip()])
    found = []
    for parts in statements:
        keyword, _, rest = " ".join(parts).partition(" ")
        if keyword.lower() not in _KEYWORDS:
            raise ValueError(f"unsupported schema statement {keyword!r}")
        found.append((_KEYWORDS[keyword.lower()], _collapse(rest)))
    return found


def _collapse(definition: str) -> str:
    """Runs of white space outside quoted strings become one space."""
    pieces = re.split(r"('[^']*')", definition)
    return "".join(p if p.startswith("'") else re.sub(r"\s+", " ", p) for p in pieces).strip()


def _fold(line: str) -> str:
    """LDIF folding (RFC 2849), preferably before a space so the lines stay readable."""
    chunks = []
    width = _WIDTH
    while len(line) > width:
        cut = line.rfind(" ", 1, width)
        if cut <= 0:
            cut = width
        chunks.append(line[:cut])
        line = " " + line[cut:]
        width = _WIDTH
    chunks.append(line)
    return "\n".join(chunks)


def convert(schema_text: str, name: str = NAME) -> str:
    """The cn=config LDIF entry for the schema in ``schema_text``."""
    lines = [
        "# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers",
        "# SPDX-License-Identifier: AGPL-3.0-only",
        f"# GENERATED from {name}.schema by schema2ldif.py: edit the .schema, then regenerate.",
        f"dn: cn={name},cn=schema,cn=config",
        "objectClass: olcSchemaConfig",
        f"cn: {name}",
    ]
    for attribute, definition in _statements(schema_text):
        lines.append(_fold(f"{attribute}: {definition}"))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the LDIF is stale")
    args = parser.parse_args(argv)
    with open(SCHEMA, encoding="utf-8") as handle:
        wanted = convert(handle.read())
    if args.check:
        with open(LDIF, encoding="utf-8") as handle:
            if handle.read() != wanted:
                print(f"{LDIF} is stale: run {sys.argv[0]}", file=sys.stderr)
                return 1
        return 0
    with open(LDIF, "w", encoding="utf-8") as handle:
        handle.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
