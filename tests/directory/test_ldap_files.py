# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The shipped ldap/ files: the two schema forms agree, and slapd accepts both with the ACL.

Proves: the LDIF is exactly what schema2ldif.py generates from the .schema; slapd itself,
converting the .schema (slapd.conf form, as UCS includes it) to cn=config, produces the same
definitions as the shipped LDIF; slaptest accepts the .schema plus the rendered ACL in the
position UCS gives it; the OIDs sit on the fixed arc with the fixed names; the ACL template
uses only the UCR variable ldap/base and no code blocks.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import ldif
import pytest

from libvirt_static_ids_testbed import ldapfiles, ucs_acl

LDAP_DIR = Path(__file__).resolve().parents[2] / "ldap"
ARC = "2.25.151284265412460993960916815576646793114"
ATTRIBUTES = {
    1: "libvirtStaticIdsUid",
    2: "libvirtStaticIdsGid",
    3: "libvirtStaticIdsState",
    4: "libvirtStaticIdsChecked",
    5: "libvirtStaticIdsDetail",
    6: "libvirtStaticIdsRequest",
    7: "libvirtStaticIdsTargetUid",
    8: "libvirtStaticIdsTargetGid",
    9: "libvirtStaticIdsInventory",
}
CLASSES = {1: "libvirtStaticIdsHost", 2: "libvirtStaticIdsSettings"}
SLAPTEST = shutil.which("slaptest") or "/usr/sbin/slaptest"


def _generator():
    spec = importlib.util.spec_from_file_location("schema2ldif", LDAP_DIR / "schema2ldif.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _definitions(path: Path) -> dict[str, set[str]]:
    """olcAttributeTypes/olcObjectClasses of an LDIF file, "{N}" and spacing normalized."""
    with path.open("rb") as handle:
        records = ldif.LDIFRecordList(handle)
        records.parse()
    found: dict[str, set[str]] = {"olcAttributeTypes": set(), "olcObjectClasses": set()}
    for _dn, entry in records.all_records:
        for name, values in found.items():
            for value in entry.get(name, []):
                text = re.sub(r"^\{\d+\}", "", value.decode())
                values.add(re.sub(r"\s+", " ", text).strip())
    return found


def _slapd_conf(tmp_path: Path, database: str = "") -> Path:
    schemas = [f"/etc/ldap/schema/{n}.schema" for n in ("core", "cosine", "nis", "inetorgperson")]
    lines = [f"include {path}" for path in [*schemas, LDAP_DIR / "libvirt-static-ids.schema"]]
    if database:
        (tmp_path / "db").mkdir()
        lines += [
            "modulepath /usr/lib/ldap",
            "moduleload back_mdb",
            "database mdb",
            'suffix "dc=kvm,dc=test"',
            f"directory {tmp_path / 'db'}",
            database,
        ]
    conf = tmp_path / "slapd.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def test_ldif_is_generated_from_schema():
    generator = _generator()
    schema = (LDAP_DIR / "libvirt-static-ids.schema").read_text()
    assert (LDAP_DIR / "libvirt-static-ids.ldif").read_text() == generator.convert(schema)
    assert generator.main(["--check"]) == 0


def test_slapd_converts_the_schema_into_the_shipped_ldif(tmp_path):
    conf = _slapd_conf(tmp_path)
    out = tmp_path / "slapd.d"
    out.mkdir()
    proc = subprocess.run(
        [SLAPTEST, "-f", str(conf), "-F", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (converted,) = out.glob("cn=config/cn=schema/cn={*}libvirt-static-ids.ldif")
    assert _definitions(converted) == _definitions(LDAP_DIR / "libvirt-static-ids.ldif")
    assert len(_definitions(converted)["olcAttributeTypes"]) == len(ATTRIBUTES)


def test_slaptest_accepts_schema_and_acl_where_ucs_puts_it(tmp_path):
    ucr = {"ldap/base": "dc=kvm,dc=test"}
    with open(ldapfiles.acl_file(str(LDAP_DIR)), encoding="utf-8") as handle:
        ours = ldapfiles.render_template(handle.read(), ucr)
    standins = {**ucr, "groups/default/domainadmins": "Domain Admins"}
    acl = "\n".join(
        [
            ldapfiles.render_template(ucs_acl.BEFORE, standins),
            ours,
            ldapfiles.render_template(ucs_acl.AFTER, standins),
        ]
    )
    conf = _slapd_conf(tmp_path, acl)
    proc = subprocess.run(
        [SLAPTEST, "-f", str(conf), "-u"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    rules = ldapfiles.access_rules(ours)
    assert len(rules) == 4
    assert all(rule.startswith("to ") for rule in rules)


def test_oids_and_names_are_the_fixed_ones():
    text = (LDAP_DIR / "libvirt-static-ids.schema").read_text()
    found_attributes = dict(re.findall(rf"attributetype \( {ARC}\.1\.(\d+)\s+NAME '(\w+)'", text))
    found_classes = dict(re.findall(rf"objectclass \( {ARC}\.2\.(\d+)\s+NAME '(\w+)'", text))
    assert {int(k): v for k, v in found_attributes.items()} == ATTRIBUTES
    assert {int(k): v for k, v in found_classes.items()} == CLASSES
    assert "AUXILIARY" in text.split("'libvirtStaticIdsHost'")[1].split("objectclass")[0]
    assert "STRUCTURAL" in text.split("'libvirtStaticIdsSettings'")[1]


def test_acl_template_is_one_ucr_block_naming_the_admin_group_through_ucr():
    """Rendered as UCR renders it: the block's code needs nothing but configRegistry."""
    text = (LDAP_DIR / "66libvirt-static-ids.acl").read_text()
    assert re.findall(r"@%@([^@]+)@%@", text) == []
    (code,) = re.findall(r"@!@(.+?)@!@", text, re.DOTALL)
    tree = ast.parse(code)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert "Domain Admins" not in code.replace("'Domain Admins')", "")  # only as the default
    default = ldapfiles.render_template(text, {"ldap/base": "dc=x"})
    renamed = ldapfiles.render_template(
        text, {"ldap/base": "dc=x", "groups/default/domainadmins": "Domänen-Admins"}
    )
    assert default.count("[cn=Domain Admins,cn=groups,dc=x]") == 3
    assert renamed == default.replace("cn=Domain Admins,", "cn=Domänen-Admins,")
    assert default.count('filter="(objectClass=univentionHost)"') == 3
    assert "cn=computers,dc=x" not in default.replace('"cn=dc,cn=computers,dc=x"', "")
    with pytest.raises(KeyError, match="hostname"):
        ldapfiles.render_template("@%@hostname@%@", {"ldap/base": "dc=x"})
