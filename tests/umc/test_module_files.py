# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The module's files agree with each other and are translated.

Proves: the XML's id, icon, category and commands match the backend (every command's
function exists on Instance, progress included) and the JavaScript (file name, AMD id and
declared class); the icon is well-formed SVG; every string the frontend, the backend and
the XML show is in the German .po files, translated, with the same placeholders; no .po
keeps strings nobody uses; the JS catalogue UMC loads is built from the .po; every
stand-in for UMC's JavaScript declares UMC's own class name.
"""

from __future__ import annotations

import importlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from umcdev import po

from .umcsite import REPO

UMC = REPO / "umc-module" / "umc"
MODULE_ID = "libvirt-static-ids"
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]")


def module() -> ET.Element:
    found = ET.parse(UMC / f"{MODULE_ID}.xml").getroot().find("module")  # noqa: S314
    assert found is not None
    return found


_JS_STRING = r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"""


def _js_text(match: re.Match[str], first: int) -> str:
    single, double = match.group(first), match.group(first + 1)
    return (single if single is not None else double).replace("\\'", "'")


def _js_sources() -> str:
    """The module's JavaScript and its pages (``js/<module>/*.js``)."""
    files = sorted((UMC / "js").rglob("*.js"))
    return "\n".join(file.read_text(encoding="utf-8") for file in files)


def js_strings() -> list[str]:
    """Every _('...') of the frontend (not _.ngettext: see js_plurals)."""
    text = _js_sources()
    return [_js_text(m, 1) for m in re.finditer(r"(?<![.\w])_\(\s*" + _JS_STRING, text)]


def js_plurals() -> list[tuple[str, str]]:
    """Every _.ngettext('singular', 'plural', n, ...) of the frontend."""
    text = _js_sources()
    pattern = r"_\.ngettext\(\s*" + _JS_STRING + r"\s*,\s*" + _JS_STRING
    return [(_js_text(m, 1), _js_text(m, 3)) for m in re.finditer(pattern, text)]


def python_strings() -> list[str]:
    found = []
    for file in (UMC / "python" / MODULE_ID).glob("*.py"):
        text = file.read_text(encoding="utf-8")
        found += [m.group(1) for m in re.finditer(r'_\(\s*"((?:[^"\\]|\\.)*)"', text)]
    return found


def xml_strings() -> list[str]:
    element = module()
    return [element.findtext(tag) or "" for tag in ("name", "description", "keywords")]


def test_xml_matches_backend_and_frontend():
    element = module()
    assert element.get("id") == MODULE_ID
    assert element.get("python") == "3"
    assert [c.get("name") for c in element.iter("category")] == ["domain"]
    assert (UMC / "icons" / "scalable" / f"{element.get('icon')}.svg").is_file()
    backend = importlib.import_module(f"univention.management.console.modules.{MODULE_ID}")
    commands = {c.get("name"): c.get("function") for c in element.iter("command")}
    assert set(commands) == {
        f"{MODULE_ID}/{verb}"
        for verb in (
            "survey",
            "host",
            "dry_run",
            "convert",
            "attach",
            "request",
            "rollout_status",
            "progress",
            "settings",
            "settings_set",
        )
    }
    for function in commands.values():
        assert callable(getattr(backend.Instance, function)), function
    script = (UMC / "js" / f"{MODULE_ID}.js").read_text(encoding="utf-8")
    assert f'declare("umc.modules.{MODULE_ID}", [Module]' in script
    assert f'"umc/i18n!umc/modules/{MODULE_ID}"' in script
    page = (UMC / "js" / MODULE_ID / "RolloutPage.js").read_text(encoding="utf-8")
    assert '"./libvirt-static-ids/RolloutPage"' in script
    assert f'declare("umc.modules.{MODULE_ID}.RolloutPage", [Page]' in page
    assert f'"umc/i18n!umc/modules/{MODULE_ID}"' in page


def test_icon_is_svg():
    root = ET.parse(UMC / "icons" / "scalable" / f"{MODULE_ID}.svg").getroot()  # noqa: S314
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize(
    ("catalogue", "strings"),
    [
        (UMC / "js" / "de.po", js_strings),
        (UMC / "python" / MODULE_ID / "de.po", python_strings),
        (UMC / "de.po", xml_strings),
    ],
    ids=["frontend", "backend", "definition"],
)
def test_german_translation_is_complete(catalogue: Path, strings):
    entries = {e.msgid: e for e in po.read(catalogue) if e.msgid}
    plurals = dict(js_plurals()) if strings is js_strings else {}
    used = set(strings()) | set(plurals)
    assert used, "no strings found"
    assert sorted(used - set(entries)) == [], "untranslated"
    assert sorted(set(entries) - used) == [], "no longer used"
    for msgid in used:
        entry = entries[msgid]
        assert entry.translated, msgid
        if msgid in plurals:  # German has two forms; each keeps the placeholders
            assert entry.msgid_plural == plurals[msgid], msgid
            assert sorted(entry.msgstr_plural) == [0, 1], msgid
            for form in entry.msgstr_plural.values():
                assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(form))
        else:
            assert entry.msgid_plural is None, msgid
            assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(entry.msgstr))


def test_plurals_are_counted_with_ngettext():
    """A count in a sentence is never "host(s)": each such sentence has two forms."""
    assert len(js_plurals()) >= 6
    assert not [text for text in js_strings() if "(s)" in text or "(es)" in text]
    # UMC's ngettext gives sprintf n only when more arguments follow n than the message has
    # placeholders: a sentence with n and a mapping may have one placeholder, no more.
    assert not [plural for _one, plural in js_plurals() if len(PLACEHOLDER.findall(plural)) > 1]


def test_every_blocker_code_has_a_translated_sentence():
    """The core's blocker codes are stable: the frontend says each in the reader's language."""
    from libvirt_static_ids.host.survey import BlockerCode

    text = (UMC / "js" / f"{MODULE_ID}.js").read_text(encoding="utf-8")
    block = text[text.index("var blockerTexts") : text.index("var blockerText =")]
    mapped = set(re.findall(r"'([a-z-]+)':\s*_\(", block))
    assert mapped == {code.value for code in BlockerCode}
    catalogue = po.umc_json(po.read(UMC / "js" / "de.po"))
    for sentence in re.findall(r"_\(\s*" + _JS_STRING, block):
        assert sentence[0] or sentence[1] in catalogue


def test_the_js_catalogue_is_built_from_the_po():
    catalogue = po.umc_json(po.read(UMC / "js" / "de.po"))
    assert catalogue["Convert %s"] == "%s umstellen"
    assert catalogue["%(hosts)d host"] == ["%(hosts)d Host", "%(hosts)d Hosts"]
    assert catalogue["$nplurals$"] == 2
    assert catalogue["$plural$"] == "(n != 1)"
    singular = [value for value in catalogue.values() if isinstance(value, str)]
    assert all(singular)


def test_stand_ins_declare_umc_class_names():
    for path in (REPO / "umc-module" / "dev" / "umc" / "widgets").glob("*.js"):
        assert f'declare("umc.widgets.{path.stem}"' in path.read_text(encoding="utf-8"), path
