# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The App Center definition in app/: required keys, German texts, everything it names exists.

Proves: libvirt-static-ids.ini parses as the App Center reads it (section [Application],
localised overrides in [de]) and has ID, Code, Name, Version and the presentation keys; the
short descriptions fit the App Center's ~90 characters; the logo, the READMEs (English and
German, with the rolling procedure), the UMC module it names and every package it installs
exist in the tree and in debian/control.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app"
REQUIRED = ("ID", "Code", "Name", "Version")
PRESENTATION = ("Logo", "Description", "LongDescription", "Vendor", "Contact", "License")


def _ini() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str.lower  # type: ignore[assignment,method-assign]  # case-insensitive
    parser.read(APP / "libvirt-static-ids.ini", encoding="utf-8")
    return parser


def _packages() -> set[str]:
    control = (REPO / "debian" / "control").read_text()
    return set(re.findall(r"^Package: (\S+)$", control, flags=re.MULTILINE))


def test_required_keys():
    ini = _ini()
    assert ini.sections() == ["Application", "de"]
    app = ini["Application"]
    for key in (*REQUIRED, *PRESENTATION, "DefaultPackages", "UMCModuleName", "ServerRole"):
        assert app.get(key), key
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", app["id"])
    assert len(app["code"]) == 2
    assert app["id"] == "libvirt-static-ids"
    assert re.fullmatch(r"\d+\.\d+\.\d+", app["version"])
    version = re.search(r"\((\S+)\)", (REPO / "debian" / "changelog").read_text().splitlines()[0])
    assert version and version.group(1) == app["version"]
    for section in ("Application", "de"):
        assert len(ini[section]["description"]) <= 90
    for key in ("name", "description", "longdescription"):
        assert ini["de"].get(key) and ini["de"][key] != app[key]


def test_named_files_and_packages_exist():
    app = _ini()["Application"]
    assert (APP / app["logo"]).is_file()
    assert (APP / app["logo"]).read_text().lstrip().startswith("<?xml")
    for package in app["defaultpackages"].split(","):
        assert package.strip() in _packages()
    module = app["umcmodulename"]
    assert (REPO / "umc-module" / "umc" / f"{module}.xml").is_file()
    assert f'id="{module}"' in (REPO / "umc-module" / "umc" / f"{module}.xml").read_text()
    roles = {"domaincontroller_master", "domaincontroller_backup", "domaincontroller_slave"}
    assert roles <= {r.strip() for r in app["serverrole"].split(",")}


def test_readmes_describe_the_procedure():
    for name, words in (
        ("README_EN", ("survey --domain", "evacuate", "convert", "rollback", "downtime")),
        ("README_DE", ("survey --domain", "evacuate", "convert", "rollback", "Ausfallzeit")),
        *(
            (name, ("univention-app install", "UCS 5.2", "rollout --dry-run", "root_squash"))
            for name in ("README_EN", "README_DE", "../README.md")
        ),
    ):
        text = (APP / name).read_text(encoding="utf-8")
        for word in words:
            assert word in text, (name, word)
