# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Recording stand-in for the UCS tools a join script calls: ``standin.py NAME ARGS...``.

NAME is ``udm``, ``ucr``, ``ldapsearch``, ``ldapadd`` (as commands on PATH) or one of the
ldap.sh / umc.sh / joinscripthelper.lib functions. Every call is appended to
``$STANDIN_STATE/calls.jsonl`` as ``[NAME, *ARGS]``, plus the app identifier from the
environment for registrations and the password file's content for ldapsearch/ldapadd. What
it changes goes to ``$STANDIN_STATE/state.json``: UDM objects by DN, plain LDAP entries by DN,
registered extensions with their files' SHA-256, the services of this host. The semantics are
those of the originals for the options join scripts use: ``udm ... create --ignore_exists``
leaves an existing object alone and succeeds, without it fails; ``remove
--ignore_not_exists``; ``ldapsearch -s base`` exits 32 when the entry is missing; ``ldapadd``
exits 68 when it exists; ``ucr shell KEY...`` prints shell assignments.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

STATE = Path(os.environ["STANDIN_STATE"])
BIND_OPTIONS = ("--binddn", "--bindpwdfile", "--bindpwd")


def load() -> dict[str, Any]:
    path = STATE / "state.json"
    if path.exists():
        return json.loads(path.read_text())
    return {"udm": {}, "ldap": {}, "extensions": {}, "services": []}


def save(state: dict[str, Any]) -> None:
    (STATE / "state.json").write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def options(args: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """``--name value`` pairs (flags known to take none get "") and the positional rest."""
    flags = {"--ignore_exists", "--ignore_not_exists"}
    found: dict[str, list[str]] = {}
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in flags:
            found.setdefault(arg, []).append("")
            i += 1
        elif arg.startswith("--"):
            found.setdefault(arg, []).append(args[i + 1])
            i += 2
        else:
            rest.append(arg)
            i += 1
    return found, rest


def ucr_values() -> dict[str, str]:
    return json.loads((STATE / "ucr.json").read_text())


def base() -> str:
    return ucr_values()["ldap/base"]


def udm(args: list[str], state: dict[str, Any]) -> int:
    module, action, *more = args
    opts, _rest = options(more)
    objects = state["udm"]
    if action == "create":
        name = next(v.split("=", 1)[1] for v in opts["--set"] if v.startswith("name="))
        dn = f"cn={name},{opts['--position'][0]}"
        if dn in objects:
            print(f"Object exists: {dn}")
            return 0 if "--ignore_exists" in opts else 1
        values: dict[str, list[str]] = {}
        for item in opts.get("--set", []) + opts.get("--append", []):
            key, value = item.split("=", 1)
            values.setdefault(key, []).append(value)
        objects[dn] = {"module": module, "values": values}
        print(f"Object created: {dn}")
        return 0
    dn = opts["--dn"][0]
    if dn not in objects:
        print(f"E: object not found: {dn}")
        return 0 if "--ignore_not_exists" in opts else 2
    if action == "remove":
        del objects[dn]
        return 0
    if action == "modify":
        values = objects[dn]["values"]
        for item in opts.get("--remove", []):
            key, value = item.split("=", 1)
            if value in values.get(key, []):
                values[key].remove(value)
        for item in opts.get("--append", []):
            key, value = item.split("=", 1)
            if value not in values.setdefault(key, []):
                values[key].append(value)
        return 0
    return 2


def ucr(args: list[str]) -> int:
    if args[0] != "shell":
        return 2
    values = ucr_values()
    for key in args[1:] or sorted(values):
        if key in values:
            print(f"{key.replace('/', '_')}={shlex.quote(values[key])}")
    return 0


def ldapsearch(args: list[str], state: dict[str, Any]) -> int:
    dn = args[args.index("-b") + 1]
    wanted = [
        a
        for i, a in enumerate(args)
        if not a.startswith("-") and args[i - 1][:2] not in ("-H", "-D", "-y", "-b", "-s")
    ]
    entry = state["ldap"].get(dn)
    if entry is None:
        return 32
    print(f"dn: {dn}")
    for attribute in wanted:
        for value in entry.get(attribute, []):
            print(f"{attribute}: {value}")
    return 0


def ldapadd(state: dict[str, Any]) -> int:
    entry: dict[str, list[str]] = {}
    for line in sys.stdin.read().splitlines():
        if line.strip():
            key, value = line.split(": ", 1)
            entry.setdefault(key.strip(), []).append(value)
    dn = entry.pop("dn")[0]
    if dn in state["ldap"]:
        print("ldap_add: Already exists (68)", file=sys.stderr)
        return 68
    state["ldap"][dn] = entry
    return 0


def register(args: list[str], state: dict[str, Any]) -> int:
    opts, _rest = options(args)
    for kind in ("--schema", "--acl", "--udm_hook", "--udm_syntax", "--udm_module"):
        for path in opts.get(kind, []):
            file = Path(path)
            if not file.is_file():
                print(f"file not found: {path}", file=sys.stderr)
                return 1
            state["extensions"].setdefault(kind[2:], {})[file.stem] = {
                "path": path,
                "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
                "ucsversionstart": opts.get("--ucsversionstart", [None])[0],
                "ucsversionend": opts.get("--ucsversionend", [None])[0],
                "app": os.environ.get("UNIVENTION_APP_IDENTIFIER"),
            }
    return 0


def unregister(args: list[str], state: dict[str, Any]) -> int:
    opts, _rest = options(args)
    for kind in ("--schema", "--acl", "--udm_hook", "--udm_syntax", "--udm_module"):
        for name in opts.get(kind, []):
            state["extensions"].get(kind[2:], {}).pop(name, None)
    return 0


def umc(name: str, args: list[str], state: dict[str, Any]) -> int:
    objects = state["udm"]
    if name == "umc_init":
        for policy in ("default-umc-all", "default-umc-users"):
            dn = f"cn={policy},cn=UMC,cn=policies,{base()}"
            objects.setdefault(dn, {"module": "policies/umc", "values": {"allow": []}})
    elif name == "umc_operation_create":
        opset, description, flavor, *operations = args
        dn = f"cn={opset},cn=operations,cn=UMC,cn=univention,{base()}"
        objects.setdefault(
            dn,
            {
                "module": "settings/umc_operationset",
                "values": {
                    "name": [opset],
                    "description": [description],
                    "flavor": [flavor],
                    "operation": operations,
                },
            },
        )
    elif name == "umc_policy_append":
        policy, *opsets = args
        allow = objects[f"cn={policy},cn=UMC,cn=policies,{base()}"]["values"]["allow"]
        for opset in opsets:
            dn = f"cn={opset},cn=operations,cn=UMC,cn=univention,{base()}"
            if dn not in allow:
                allow.append(dn)
    return 0


def service(name: str, args: list[str], state: dict[str, Any]) -> int:
    services = state["services"]
    if name == "ucs_addServiceToLocalhost" and args[0] not in services:
        services.append(args[0])
    elif name == "ucs_removeServiceFromLocalhost" and args[0] in services:
        services.remove(args[0])
    elif name == "ucs_isServiceUnused":
        return 1 if args[0] in services else 0
    return 0


def main(argv: list[str]) -> int:
    name, args = argv[0], argv[1:]
    call: list[Any] = [name, *args]
    if name == "ucs_registerLDAPExtension":
        call.append({"UNIVENTION_APP_IDENTIFIER": os.environ.get("UNIVENTION_APP_IDENTIFIER")})
    if name in ("ldapsearch", "ldapadd") and "-y" in args:
        call.append({"password": Path(args[args.index("-y") + 1]).read_text()})
    with (STATE / "calls.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(call) + "\n")
    state = load()
    if name == "ucr":
        return ucr(args)
    if name == "udm":
        code = udm(args, state)
    elif name == "ldapsearch":
        code = ldapsearch(args, state)
    elif name == "ldapadd":
        code = ldapadd(state)
    elif name == "ucs_registerLDAPExtension":
        code = register(args, state)
    elif name == "ucs_unregisterLDAPExtension":
        code = unregister(args, state)
    elif name.startswith("umc_"):
        code = umc(name, args, state)
    elif name.startswith("ucs_"):
        code = service(name, args, state)
    else:
        code = 0  # joinscripthelper functions: recorded only
    save(state)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
