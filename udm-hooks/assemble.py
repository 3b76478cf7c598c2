# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Write the UDM hook file UDM gets: the adapter with the rule's code in place of its import.

The rule lives once, in the core (libvirt_static_ids/directory/reservation.py); the hook must
run where the core is not installed, so it carries a verbatim copy made here at build time.
Usage: ``python3 udm-hooks/assemble.py OUTPUT`` (debian/rules, the tests).
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
    """``adapter`` with the lines from BEGIN to END replaced by ``rule`` after its future import."""
    head, _, rest = adapter.partition(BEGIN)
    _, _, tail = rest.partition(END)
    if not tail or FUTURE not in rule:
        raise ValueError("the adapter lacks the rule markers, or the rule its future import")
    tail = tail.split("\n", 1)[1]
    body = rule.split(FUTURE, 1)[1].strip("\n")
    return (
        f"{head}# --- the rule, from libvirt_static_ids/directory/reservation.py ---\n"
        f"{body}\n# --- end of the rule ---\n{tail}"
    )


def main(output: str) -> None:
    Path(output).write_text(assemble(ADAPTER.read_text(), RULE.read_text()))


if __name__ == "__main__":
    main(sys.argv[1])
