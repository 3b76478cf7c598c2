# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Helpers the plan tests import by name (a module of its own: ``conftest`` is ambiguous when
several test directories run together): the shipped schemas, the command, node XML pieces."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema

import libvirt_static_ids

SCHEMAS = Path(libvirt_static_ids.__file__).resolve().parent / "schemas"
CONSOLE_SCRIPT = Path(sys.executable).parent / "libvirt-static-ids"


def command() -> list[str]:
    """The installed command (or the module, where no console script is installed)."""
    if CONSOLE_SCRIPT.exists():
        return [str(CONSOLE_SCRIPT)]
    return [sys.executable, "-m", "libvirt_static_ids"]


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


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
