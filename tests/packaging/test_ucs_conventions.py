# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The source package as UCS's own linter (ucslint, packaging/ucslint in the UCS sources)
expects a third-party app's, checked on the source tree.

Proves: the join and unjoin scripts lie at the source package's root (where ucslint 0001 and
``dh --with univention-join`` look), are installed through debian/*.install (0001-6) and
called from postinst (0001-7) and prerm/postrm (0001-17/18); no maintainer script uses
``set -e`` (0006-4/5), each has ``#DEBHELPER#`` (0006-1) and ends in ``exit 0`` (0006-6); no
package depends on a Priority: required package (asked of this machine's dpkg); the app
identifier has the ``appid_version`` form ldap_extension looks up and the hook's
``--ucsversionstart`` is the app's RequiredUCSVersion; the admin group is never named
literally where UCS names it through UCR ``groups/default/domainadmins``.
"""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEBIAN = REPO / "debian"
PACKAGE = "univention-libvirt-static-ids"
JOIN = REPO / "50libvirt-static-ids.inst"
UNJOIN = REPO / "50libvirt-static-ids.uinst"
MAINTAINER_SCRIPTS = sorted(DEBIAN.glob(f"{PACKAGE}.p*[mt]"))


def _code(path: Path) -> str:
    """The script without its comment lines."""
    return "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
    )


def test_join_scripts_at_the_source_root_installed_and_called():
    assert JOIN.is_file() and UNJOIN.is_file()
    assert not list(DEBIAN.glob("*.inst")) and not list(DEBIAN.glob("*.uinst"))
    install = (DEBIAN / f"{PACKAGE}.install").read_text().splitlines()
    assert f"{JOIN.name} usr/lib/univention-install/" in install
    assert f"{UNJOIN.name} usr/lib/univention-uninstall/" in install
    assert f"call_joinscript {JOIN.name}" in _code(DEBIAN / f"{PACKAGE}.postinst")
    assert UNJOIN.name in _code(DEBIAN / f"{PACKAGE}.prerm")
    assert f"call_unjoinscript {UNJOIN.name}" in _code(DEBIAN / f"{PACKAGE}.postrm")


@pytest.mark.parametrize("script", MAINTAINER_SCRIPTS, ids=lambda path: path.name)
def test_maintainer_scripts_follow_ucslint_0006(script):
    code = _code(script)
    assert not re.search(r"^\s*set\s+-\w*e", code, re.M), "set -e (ucslint 0006-4)"
    assert not script.read_text().startswith(("#!/bin/sh -e", "#!/bin/bash -e"))
    assert "#DEBHELPER#" in script.read_text()
    assert code.rstrip().endswith("exit 0")


def test_no_dependency_on_a_required_package():
    control = (DEBIAN / "control").read_text()
    names = set()
    for field in re.findall(r"^(?:Pre-)?Depends:((?:.*\n(?: .*\n)*))", control, re.M):
        for item in field.replace("\n", " ").split(","):
            name = item.strip().split(" ")[0]
            if name and not name.startswith("$"):
                names.add(name)
    assert "python3-ldap" in names  # the parse found the fields
    priorities = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Priority}\n", *sorted(names)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split("\n")
    required = [line.split()[0] for line in priorities if line.endswith(" required")]
    assert required == [], f"Priority: required, never a dependency: {required}"


def test_app_identifier_and_ucs_version_agree_with_the_app():
    app = configparser.ConfigParser()
    app.read(REPO / "app" / "libvirt-static-ids.ini")
    code = _code(JOIN)
    assert 'export UNIVENTION_APP_IDENTIFIER="${SERVICE}_${APP_VERSION}"' in code
    assert f"SERVICE={app['Application']['ID']}" in code
    assert f"APP_VERSION={app['Application']['Version']}" in code
    assert f"REQUIRED_UCS={app['Application']['RequiredUCSVersion']}" in code
    assert '--ucsversionstart "$REQUIRED_UCS"' in code


def test_the_admin_group_is_never_named_literally():
    for path in (JOIN, UNJOIN, REPO / "umc-module" / "umc" / "libvirt-static-ids.xml"):
        assert "Domain Admins" not in _code(path), path
    acl = (REPO / "ldap" / "66libvirt-static-ids.acl").read_text()
    assert "configRegistry.get('groups/default/domainadmins', 'Domain Admins')" in acl
    assert acl.count("Domain Admins") == acl.count("'Domain Admins'") + 2  # + two comments
