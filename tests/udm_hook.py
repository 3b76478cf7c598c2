# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The UDM hook file as shipped: assembled by udm-hooks/assemble.py (the adapter with the rule)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "libvirt_static_ids_reserve.py"
_spec = importlib.util.spec_from_file_location("assemble", REPO / "udm-hooks" / "assemble.py")
assert _spec is not None and _spec.loader is not None
assemble = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(assemble)


def assembled_hook() -> str:
    return str(assemble.assemble(assemble.ADAPTER.read_text(), assemble.RULE.read_text()))


def install_hook(python_dir: Path) -> Path:
    """The assembled hook in ``python_dir``/univention/admin/hooks.d, where UCS places it."""
    hooks_d = python_dir / "univention" / "admin" / "hooks.d"
    hooks_d.mkdir(parents=True)
    (hooks_d / NAME).write_text(assembled_hook())
    return hooks_d / NAME
