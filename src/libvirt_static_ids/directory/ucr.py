# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Read Univention Configuration Registry values without importing univention.

The core must run (and be tested) off UCS, so it parses UCR's text layers itself, the way
``univention.config_registry`` does: ``key: value`` lines, higher layers win, and
``UNIVENTION_BASECONF`` names a single custom file that replaces all layers.
"""

from __future__ import annotations

import os
import re

from libvirt_static_ids.hostroot import HostRoot

# Highest priority first, as UCR's ReadOnlyConfigRegistry.LAYER_PRIORITIES.
LAYERS = (
    "etc/univention/base-forced.conf",
    "etc/univention/base-schedule.conf",
    "etc/univention/base-ldap.conf",
    "etc/univention/base.conf",
    "etc/univention/base-defaults.conf",
)
_COMMENT = re.compile(r"^[^:]*#.*$")


def parse(text: str) -> dict[str, str]:
    """The variables of one layer file."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        key, separator, value = _COMMENT.sub("", raw).partition(": ")
        if separator and key:
            values[key] = value.strip()
    return values


def _read(path: str) -> dict[str, str]:
    for candidate in (path, path + ".bak"):  # UCR falls back to the backup of a torn file
        try:
            with open(candidate, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        if text.count("\n") >= 1:
            return parse(text)
    return {}


def load(root: HostRoot) -> dict[str, str]:
    """All variables of the host at ``root``; empty when it is no UCS system."""
    custom = os.environ.get("UNIVENTION_BASECONF")
    if custom:
        return _read(custom)
    merged: dict[str, str] = {}
    for layer in reversed(LAYERS):
        merged.update(_read(root.join(layer)))
    return merged


def qualified(root: HostRoot, name: str) -> str:
    """``kvm2`` -> ``kvm2.<domainname>`` on UCS (the KB's ``$HOSTNAME.$DOMAINNAME``): libvirt's
    TLS checks the destination's certificate, which names its FQDN. Off UCS, or for a name
    with a dot or a port, ``name`` as given."""
    domain = load(root).get("domainname")
    return f"{name}.{domain}" if domain and "." not in name and ":" not in name else name
