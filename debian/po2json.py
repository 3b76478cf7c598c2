#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Turn a UMC JavaScript .po file into the flat msgid -> msgstr JSON UMC's frontend loads.

Usage: po2json.py IN.po OUT.json. msgfmt compiles (and checks) the catalog; the JSON is read
back from the compiled catalog so the .po syntax is parsed by gettext itself. Plural entries
become lists, with "$nplurals$" and "$plural$" from the header, as univention-l10n writes them.
"""

from __future__ import annotations

import gettext
import json
import re
import subprocess
import sys
import tempfile


def convert(po_file: str) -> dict[str, object]:
    with tempfile.NamedTemporaryFile(suffix=".mo") as mo:
        subprocess.run(["msgfmt", "--check-format", "-o", mo.name, po_file], check=True)
        with open(mo.name, "rb") as handle:
            catalog = gettext.GNUTranslations(handle)._catalog
    result: dict[str, object] = {}
    plurals: dict[str, dict[int, str]] = {}
    header = ""
    for key, value in catalog.items():
        if key == "":
            header = value
        elif isinstance(key, tuple):
            plurals.setdefault(key[0], {})[key[1]] = value
        elif value:
            result[key] = value
    for msgid, forms in plurals.items():
        result[msgid] = [forms[index] for index in sorted(forms)]
    if plurals:
        match = re.search(r"nplurals\s*=\s*(\d+);\s*plural\s*=\s*([^;\n]+)", header)
        if match:
            result["$nplurals$"] = int(match.group(1))
            result["$plural$"] = match.group(2).strip()
    return result


def main(argv: list[str]) -> int:
    po_file, json_file = argv
    with open(json_file, "w", encoding="utf-8") as handle:
        json.dump(convert(po_file), handle, ensure_ascii=False, indent=None, sort_keys=True)
        handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
