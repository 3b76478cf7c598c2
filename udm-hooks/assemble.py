# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Refresh the rule's copy inside the UDM hook file from the core's rule.

The rule lives once, in the core (libvirt_static_ids/directory/reservation.py); the hook must
run where the core is not installed, so it carries a verbatim copy between its two markers
and imports nothing of the core. Run ``python3 udm-hooks/assemble.py`` after changing the
rule (with OUTPUT: write the refreshed hook there instead, as debian/rules does); a test
fails while the copy differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADAPTER = HERE / "libvirt_static_ids_reserve.py"
RULE = HERE.parent / "src" / "libvirt_static_ids" / "directory" / "reservation.py"
BEGIN = "# >>> the rule"
END = "# <<< the rule"
FUTURE = "from __future__ import annotations\n"


def assemble(adapter: str, rule: str) -> str:
    """``adapter`` with the lines between BEGIN and END replaced by ``rule`` after its future
    import (the markers stay, so the result can be refreshed again)."""
    head, _, rest = adapter.partition(BEGIN)
    marker, _, rest = rest.partition("\n")
    _, _, tail = rest.partition(END)
    if not tail or FUTURE not in rule:
        raise ValueError("the adapter lacks the rule markers, or the rule its future import")
    body = rule.split(FUTURE, 1)[1].strip("\n")
    return f"{head}{BEGIN}{marker}\n{body}\n\n\n{END}{tail}"


def main(output: str) -> None:
    Path(output).write_text(assemble(ADAPTER.read_text(), RULE.read_text()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ADAPTER))
