# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Helpers the plan tests import by name (a module of its own: ``conftest`` is ambiguous when
several test directories run together): libvirt test-driver node XML pieces."""

from __future__ import annotations

import os

DOMAIN_XML = """  <domain type='test'>
    <name>{name}</name>
    <memory>{kib}</memory>
    <os><type>hvm</type></os>
    <devices>
{disks}
    </devices>
  </domain>"""


def file_disk(path: str | os.PathLike[str], dev: str, *, readonly: bool = False) -> str:
    extra = "<readonly/>" if readonly else ""
    return (
        f"      <disk type='file' device='disk'><source file='{os.fspath(path)}'/>"
        f"<target dev='{dev}'/>{extra}</disk>"
    )
