# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Read gettext .po files, and turn one into the JSON catalogue UMC's JavaScript loads.

UMC's build converts ``umc/js/<lang>.po`` into ``js/umc/modules/i18n/<lang>/<id>.json``: a
flat msgid -> msgstr object, plural forms as lists with ``$nplurals$``/``$plural$`` taken
from the header. The harness serves that JSON from the .po directly, so the .po stays the
only source; the tests use the parser to check that every string is translated.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')
_CONTINUATION = re.compile(r'^(".*")\s*$')
_PLURAL_FORMS = re.compile(r"nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*([^;]+);?")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    msgctxt: str | None = None
    fuzzy: bool = False

    @property
    def translated(self) -> bool:
        if self.fuzzy:
            return False
        if self.msgid_plural is not None:
            return bool(self.msgstr_plural) and all(self.msgstr_plural.values())
        return bool(self.msgstr)


def _string(literal: str) -> str:
    """A .po string literal ("..." with C escapes) as text."""
    value = ast.literal_eval(literal)
    if not isinstance(value, str):
        raise ValueError(f"not a string literal: {literal}")
    return value


def parse(text: str) -> list[Entry]:
    """Every entry of a .po file, the header (msgid "") included."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None
    last: str | None = None
    fuzzy = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            current, target, last, fuzzy = None, None, None, False
            continue
        if line.startswith("#"):
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
            continue
        keyword = _KEYWORD.match(line)
        if keyword:
            name, index, literal = keyword.groups()
            if name == "msgctxt" or (name == "msgid" and last != "msgctxt"):
                current = Entry(fuzzy=fuzzy)
                entries.append(current)
                fuzzy = False
            elif current is None:
                raise ValueError(f"line {number}: {name} outside an entry")
            if name.startswith("msgstr"):
                target = ("msgstr", None) if index is None else ("msgstr_plural", int(index))
            else:
                target = (name, None)
            _append(current, target, _string(literal))
            last = name
            continue
        continuation = _CONTINUATION.match(line)
        if continuation and current is not None and target is not None:
            _append(current, target, _string(continuation.group(1)))
            continue
        raise ValueError(f"line {number}: cannot parse {raw!r}")
    return entries


def _append(entry: Entry, target: tuple[str, int | None], text: str) -> None:
    name, index = target
    if name == "msgstr_plural" and index is not None:
        entry.msgstr_plural[index] = entry.msgstr_plural.get(index, "") + text
    else:
        setattr(entry, name, (getattr(entry, name) or "") + text)


def read(path: Path) -> list[Entry]:
    return parse(path.read_text(encoding="utf-8"))


def umc_json(entries: list[Entry]) -> dict[str, Any]:
    """The catalogue as UMC's JavaScript i18n expects it; untranslated entries left out."""
    catalogue: dict[str, Any] = {}
    header = next((e for e in entries if e.msgid == "" and e.msgctxt is None), None)
    plural_forms = _PLURAL_FORMS.search(header.msgstr) if header else None
    for entry in entries:
        if entry.msgid == "" or not entry.translated:
            continue
        if entry.msgid_plural is not None:
            forms = [entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)]
            catalogue[entry.msgid] = forms
        else:
            catalogue[entry.msgid] = entry.msgstr
    if plural_forms and any(isinstance(v, list) for v in catalogue.values()):
        catalogue["$nplurals$"] = int(plural_forms.group(1))
        catalogue["$plural$"] = plural_forms.group(2).strip()
    return catalogue
