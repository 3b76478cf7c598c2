# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The built packages: lintian-clean, every file where UCS expects it, nothing test-only.

Proves: dpkg-buildpackage builds both packages from a copy of the tree on plain Debian 12;
lintian --fail-on error,warning passes on each; python3-libvirt-static-ids ships the core, the
C extension, the CLI and its man page and no testbed or tests, and depends only on Debian
packages; univention-libvirt-static-ids ships the listener module, the UDM hook, the UMC module
(backend, XML, JavaScript, icon, translations), the System Diagnostic plugin, schema and ACL,
executable join and unjoin scripts, the UCR variable declarations and the daily record timer;
its maintainer scripts and the join scripts are shellcheck-clean and the maintainer scripts
call the join script the UCS way, guarded for systems without the UCS helpers.
"""

from __future__ import annotations

import ast
import gettext
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import man_page
from udm_hook import assembled_hook

REPO = Path(__file__).resolve().parents[2]
CORE = "python3-libvirt-static-ids"
UCS = "univention-libvirt-static-ids"

PY = "/usr/lib/python3/dist-packages"
UMC_PY = f"{PY}/univention/management/console/modules"
UMC_JS = "/usr/share/univention-management-console-frontend/js/umc/modules"
SHARE = "/usr/share/univention-libvirt-static-ids"
JOIN = "/usr/lib/univention-install/50libvirt-static-ids.inst"
UNJOIN = "/usr/lib/univention-uninstall/50libvirt-static-ids.uinst"

CORE_FILES = {
    "/usr/bin/libvirt-static-ids",
    f"{PY}/libvirt_static_ids/__init__.py",
    f"{PY}/libvirt_static_ids/cli/main.py",
    f"{PY}/libvirt_static_ids/directory/domain_survey.py",
    f"{PY}/libvirt_static_ids/journal/store.py",
    f"{PY}/libvirt_static_ids/schemas/domain-survey.schema.json",
    "/usr/share/man/man1/libvirt-static-ids.1.gz",
}
UCS_FILES = {
    "/usr/lib/univention-directory-listener/system/libvirt-static-ids.py",
    f"{SHARE}/hooks.d/libvirt_static_ids_reserve.py",
    f"{SHARE}/libvirt-static-ids.schema",
    f"{SHARE}/66libvirt-static-ids.acl",
    JOIN,
    UNJOIN,
    f"{UMC_PY}/libvirt-static-ids/__init__.py",
    f"{UMC_PY}/diagnostic/plugins/75_libvirt_static_ids.py",
    "/usr/share/univention-management-console/modules/libvirt-static-ids.xml",
    "/usr/share/univention-management-console/i18n/de/libvirt-static-ids.mo",
    "/usr/share/locale/de/LC_MESSAGES/univention-management-console-module-libvirt-static-ids.mo",
    f"{UMC_JS}/libvirt-static-ids.js",
    f"{UMC_JS}/i18n/de/libvirt-static-ids.json",
    "/usr/share/univention-management-console-frontend/js/dijit/themes/umc/icons/scalable/"
    "libvirt-static-ids.svg",
    "/etc/univention/registry.info/variables/univention-libvirt-static-ids.cfg",
    "/etc/univention/registry.info/categories/univention-libvirt-static-ids.cfg",
    "/lib/systemd/system/libvirt-static-ids-record.service",
    "/lib/systemd/system/libvirt-static-ids-record.timer",
}


def _control(deb: Path, field: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_lintian_is_clean(debs):
    proc = subprocess.run(
        ["lintian", "--fail-on", "error,warning", "--no-tag-display-limit", debs[CORE], debs[UCS]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_core_package_contents(deb_files):
    files = deb_files[CORE]
    assert files >= CORE_FILES
    assert any(
        re.fullmatch(rf"{PY}/libvirt_static_ids/files/_walk\.cpython-3\d+-.*\.so", f) for f in files
    )
    # Test-only code and sources stay out.
    assert not [
        f for f in files if "testbed" in f or "simulated" in f or "/tests/" in f or f.endswith(".c")
    ]
    assert not [f for f in files if "univention" in f]


def test_ucs_package_contents(deb_files):
    files = deb_files[UCS]
    assert files >= UCS_FILES
    assert not [f for f in files if "/dev/" in f or "harness" in f or f.endswith(".po")]
    # Every backend file and JavaScript file of the UMC module ships (added ones included).
    module = REPO / "umc-module" / "umc"
    for path in (module / "python" / "libvirt-static-ids").rglob("*.py"):
        relative = path.relative_to(module / "python" / "libvirt-static-ids")
        assert f"{UMC_PY}/libvirt-static-ids/{relative}" in files
    for path in (module / "js").rglob("*"):
        if path.is_file() and path.suffix != ".po":
            assert f"{UMC_JS}/{path.relative_to(module / 'js')}" in files


def test_core_depends_only_on_debian_packages(debs):
    depends = _control(debs[CORE], "Depends")
    for package in ("python3-ldap", "python3-jsonschema", "python3-libvirt", "acl"):
        assert re.search(rf"(^|, ){re.escape(package)}(,| |$)", depends), depends
    # passwd (usermod, groupmod) is Priority: required: a dependency on it is one too many.
    assert "passwd" not in depends
    assert "univention" not in depends
    assert _control(debs[CORE], "Architecture") != "all"
    assert _control(debs[UCS], "Architecture") == "all"
    assert f"{CORE} (= " in _control(debs[UCS], "Depends")


def test_scripts_are_executable_and_files_identical(unpacked):
    root = unpacked[UCS]
    for script in (JOIN, UNJOIN):
        assert os.access(root / script.lstrip("/"), os.X_OK)
    pairs = {
        f"{SHARE}/libvirt-static-ids.schema": "ldap/libvirt-static-ids.schema",
        f"{SHARE}/66libvirt-static-ids.acl": "ldap/66libvirt-static-ids.acl",
        "/usr/lib/univention-directory-listener/system/libvirt-static-ids.py": (
            "listener/libvirt-static-ids.py"
        ),
    }
    for shipped, source in pairs.items():
        assert (root / shipped.lstrip("/")).read_bytes() == (REPO / source).read_bytes()
    hook = root / f"{SHARE}/hooks.d/libvirt_static_ids_reserve.py".lstrip("/")
    assert hook.read_text() == assembled_hook()


def test_the_diagnostic_plugin_is_translated(unpacked):
    """Its Translation("univention-libvirt-static-ids") finds a German catalogue for each text."""
    plugin = REPO / "diagnostic" / "plugins" / "75_libvirt_static_ids.py"
    messages = [
        node.args[0].value
        for node in ast.walk(ast.parse(plugin.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]
    assert len(messages) >= 9
    mo = unpacked[UCS] / "usr/share/locale/de/LC_MESSAGES/univention-libvirt-static-ids.mo"
    with mo.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    untranslated = [m for m in messages if catalogue.gettext(m) == m]
    assert untranslated == []


def test_js_translation_is_the_po_catalog(unpacked):
    catalog = json.loads(
        (unpacked[UCS] / UMC_JS.lstrip("/") / "i18n/de/libvirt-static-ids.json").read_text()
    )
    po = (REPO / "umc-module/umc/js/de.po").read_text()
    translated = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', po, flags=re.MULTILINE)
    assert translated
    for msgid, msgstr in translated:
        assert catalog[msgid.encode().decode("unicode_escape")] == msgstr.encode(
            "latin-1", "backslashreplace"
        ).decode("unicode_escape")


def test_timer_runs_record_daily(unpacked):
    units = unpacked[UCS] / "lib/systemd/system"
    service = (units / "libvirt-static-ids-record.service").read_text()
    timer = (units / "libvirt-static-ids-record.timer").read_text()
    assert "ExecStart=/usr/bin/libvirt-static-ids record --pending\n" in service
    assert "OnCalendar=daily" in timer
    assert "OnBootSec=" in timer  # a request its unit's host restart ended is failed soon
    assert "WantedBy=timers.target" in timer


def test_bridge_ttl_survives_a_reboot(unpacked, debs, tmp_path):
    """The packaged timer runs ``bridge close --expired`` every minute and after boot (a
    bridge's own transient timer vanishes on reboot), enabled by debhelper's snippet."""
    units = unpacked[CORE] / "lib/systemd/system"
    service = (units / "libvirt-static-ids-bridge-expire.service").read_text()
    timer = (units / "libvirt-static-ids-bridge-expire.timer").read_text()
    assert "ExecStart=/usr/bin/libvirt-static-ids --quiet bridge close --expired\n" in service
    assert "OnBootSec=" in timer and "OnUnitActiveSec=" in timer
    assert "WantedBy=timers.target" in timer
    postinst = (_control_files(debs[CORE], tmp_path) / "postinst").read_text()
    assert "libvirt-static-ids-bridge-expire.timer" in postinst


def _control_files(deb: Path, tmp_path: Path) -> Path:
    subprocess.run(["dpkg-deb", "-e", str(deb), str(tmp_path)], check=True)
    return tmp_path


def test_maintainer_scripts_join_the_ucs_way(debs, tmp_path):
    control = _control_files(debs[UCS], tmp_path)
    postinst = (control / "postinst").read_text()
    prerm = (control / "prerm").read_text()
    postrm = (control / "postrm").read_text()
    assert "call_joinscript 50libvirt-static-ids.inst" in postinst
    assert "[ -r /usr/share/univention-lib/base.sh ]" in postinst
    assert "univention-directory-listener" in postinst
    assert "univention-management-console-server" in postinst
    assert "cp /usr/lib/univention-uninstall/50libvirt-static-ids.uinst" in prerm
    assert "call_unjoinscript 50libvirt-static-ids.uinst" in postrm
    # The timer is enabled and started by debhelper's snippet.
    assert "libvirt-static-ids-record.timer" in postinst


@pytest.mark.parametrize("package", [UCS, CORE])
def test_maintainer_scripts_are_shellcheck_clean(debs, tmp_path, package):
    control = _control_files(debs[package], tmp_path)
    scripts = [p for p in control.iterdir() if p.name in ("preinst", "postinst", "prerm", "postrm")]
    if package == UCS:
        assert len(scripts) == 3
    for script in scripts:
        proc = subprocess.run(
            ["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, f"{script.name}:\n{proc.stdout}"


def test_join_scripts_are_shellcheck_clean(unpacked):
    for script in (JOIN, UNJOIN):
        proc = subprocess.run(
            ["shellcheck", str(unpacked[UCS] / script.lstrip("/"))],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout


def test_join_script_follows_ucslint_rules(unpacked):
    """ucslint 0001: "$@" on every udm call, one VERSION, the helper lib, the api line."""
    for script in (JOIN, UNJOIN):
        text = (unpacked[UCS] / script.lstrip("/")).read_text()
        assert len(re.findall(r"^VERSION=", text, flags=re.MULTILINE)) == 1
        assert ". /usr/share/univention-join/joinscripthelper.lib" in text
        assert "\njoinscript_init\n" in text
        assert "## joinscript api: bindpwdfile" in text
        for line in text.splitlines():
            if re.match(r"\s*(udm|ucs_registerLDAPExtension|ucs_unregisterLDAPExtension) ", line):
                assert '"$@"' in line, line
    assert "joinscript_save_current_version" in (unpacked[UCS] / JOIN.lstrip("/")).read_text()
    unjoin = (unpacked[UCS] / UNJOIN.lstrip("/")).read_text()
    assert "joinscript_save_current_version" not in unjoin
    assert "joinscript_remove_script_from_status_file" in unjoin


def test_man_page_documents_every_command_and_option_of_the_parser(unpacked):
    """The page is generated at build time: it says what the parser says, and man reads it."""
    page = unpacked[CORE] / "usr/share/man/man1/libvirt-static-ids.1.gz"
    text = subprocess.run(["zcat", str(page)], capture_output=True, text=True, check=True).stdout
    documented = man_page.documented(text)
    sections = documented.pop("sections")
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "EXAMPLES", "EXIT STATUS", "FILES"):
        assert section in sections
    assert documented == man_page.parsed()
    for command in ("plan", "survey", "convert", "rollback", "bridge open"):
        assert command in documented
    assert {"--suspend-vms", "--shutdown-vms"} <= documented["convert"]
    # root_squash is named where it matters (bridges kept for the NFS server's chown), but
    # it is no survey blocker: the page must not claim one.
    assert not re.search(r"root_squash[^.\n]*blocker|blocker[^.\n]*root_squash", text)
    proc = subprocess.run(
        ["man", "--warnings", "-l", "-E", "UTF-8", str(page)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MANWIDTH": "80", "PAGER": "cat"},
    )
    assert proc.returncode == 0
    assert not proc.stderr.strip(), proc.stderr


def test_ucr_variable_declarations(unpacked):
    """ucslint 0004: every variable has both descriptions, a valid Type and Categories."""
    import configparser

    types = {"str", "json", "ipv4address", "ipv6address", "ipaddress", "url_proxy", "bool"}
    types |= {"int", "uint", "pint", "portnumber", "list"}
    info = unpacked[UCS] / "etc/univention/registry.info"
    variables = configparser.ConfigParser(interpolation=None)
    variables.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    variables.read(info / "variables/univention-libvirt-static-ids.cfg", encoding="utf-8")
    categories = configparser.ConfigParser(interpolation=None)
    categories.read(info / "categories/univention-libvirt-static-ids.cfg", encoding="utf-8")
    assert variables.sections()
    for name in variables.sections():
        entry = variables[name]
        assert entry["Description[en]"] and entry["Description[de]"]
        assert entry["Type"] in types
        assert entry["Categories"]
    assert "diagnostic/check/disable/75_libvirt_static_ids" in variables.sections()
    assert "libvirt-static-ids" in categories.sections()
