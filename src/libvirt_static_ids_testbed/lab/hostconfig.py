# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What a lab host's private /etc holds: account files with its own ``libvirt-qemu`` numbers,
/etc/hosts naming the lab's hosts, /etc/libvirt (libvirtd.conf, qemu.conf) and /etc/pki (the
lab CA's host certificate, pki.py).

Written into the upper directory of the overlay that the host mounts on /etc, so the real files
stay untouched and the shadow tools can still replace them inside the host (a bind-mounted
single file could not be renamed over).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_ACCOUNT_FILES = ("passwd", "shadow", "group", "gshadow")
LIBVIRT_USER = "libvirt-qemu"


# The testbed's UCR domainname (slapd.Testbed.host_ucr): a lab host joined to it is this FQDN.
DOMAINNAME = "kvm.test"


@dataclass(frozen=True)
class HostSpec:
    """One lab host: its name, ``libvirt-qemu`` UID/GID, kvm group, address, libvirt host UUID."""

    name: str
    uid: int
    gid: int
    kvm_gid: int
    address: str
    host_uuid: str

    @property
    def fqdn(self) -> str:
        """``hostb.kvm.test``: a joined lab host's UCR ``hostname.domainname``."""
        return f"{self.name}.{DOMAINNAME}"


def _read_lines(path: str) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\n").split(":") for line in handle if line.strip()]
    except FileNotFoundError:
        return []


def _keep(entries: Iterable[list[str]], names: set[str], numbers: set[str]) -> list[list[str]]:
    """The machine's entries minus the lab's names and any holder of the lab's numbers."""
    return [e for e in entries if e[0] not in names and not (len(e) > 2 and e[2] in numbers)]


def account_files(spec: HostSpec, numbers: set[int]) -> dict[str, str]:
    """passwd/shadow/group/gshadow: the machine's, without anything holding a lab number,
    plus ``libvirt-qemu`` (primary group kvm, as Debian has it) and its groups."""
    taken = {str(n) for n in numbers}
    names = {LIBVIRT_USER, "kvm"}
    passwd = _keep(_read_lines("/etc/passwd"), names, taken)
    passwd.append(
        [LIBVIRT_USER, "x", str(spec.uid), str(spec.kvm_gid), "Libvirt Qemu,,,",
         "/var/lib/libvirt", "/usr/sbin/nologin"]
    )  # fmt: skip
    kept_users = {e[0] for e in passwd}
    shadow = [e for e in _read_lines("/etc/shadow") if e[0] in kept_users and e[0] not in names]
    shadow.append([LIBVIRT_USER, "!", "20000", "0", "99999", "7", "", "", ""])
    group = _keep(_read_lines("/etc/group"), names, taken)
    group += [["kvm", "x", str(spec.kvm_gid), LIBVIRT_USER], [LIBVIRT_USER, "x", str(spec.gid), ""]]
    kept_groups = {e[0] for e in group}
    gshadow = [e for e in _read_lines("/etc/gshadow") if e[0] in kept_groups and e[0] not in names]
    gshadow += [["kvm", "!", "", LIBVIRT_USER], [LIBVIRT_USER, "!", "", ""]]
    files = dict(zip(_ACCOUNT_FILES, (passwd, shadow, group, gshadow), strict=True))
    return {name: "".join(":".join(e) + "\n" for e in entries) for name, entries in files.items()}


def hosts_file(peers: Iterable[HostSpec]) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{p.address}\t{p.fqdn}\t{p.name}" for p in peers]
    return "\n".join(lines) + "\n"


def libvirtd_conf(spec: HostSpec) -> str:
    """TLS with the host certificate (``qemu://HOST/system``, as UCS's hosts) and plain TCP
    without auth (``qemu+tcp://ADDRESS/system``), only between the lab's own namespaces."""
    return (
        "listen_tls = 1\nlisten_tcp = 1\n"
        f'listen_addr = "{spec.address}"\n'
        'auth_tcp = "none"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n'
        f'host_uuid = "{spec.host_uuid}"\n'
        'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n'
    )


def qemu_conf(spec: HostSpec) -> str:
    """DAC ownership handling on (as on a KVM host), no security driver, namespaces, cgroups
    or virtlogd (none exist in the lab host)."""
    return (
        f'user = "{LIBVIRT_USER}"\ngroup = "{LIBVIRT_USER}"\n'
        "dynamic_ownership = 1\nremember_owner = 1\n"
        'security_driver = "none"\nnamespaces = [ ]\ncgroup_controllers = [ ]\n'
        'stdio_handler = "file"\n'
        f'migration_host = "{spec.address}"\n'
    )


def write_etc(
    upper: str,
    spec: HostSpec,
    peers: Iterable[HostSpec],
    numbers: set[int],
    pki: Mapping[str, bytes],
) -> None:
    """Fill the /etc overlay's upper directory (``pki``: pki.host_files)."""
    files: Mapping[str, tuple[str | bytes, int]] = {
        **{name: (text, 0o640 if "sha" in name else 0o644)
           for name, text in account_files(spec, numbers).items()},
        "hosts": (hosts_file(peers), 0o644),
        "hostname": (spec.name + "\n", 0o644),
        "libvirt/libvirtd.conf": (libvirtd_conf(spec), 0o644),
        "libvirt/qemu.conf": (qemu_conf(spec), 0o644),
        **{name: (data, 0o600 if "/private/" in name else 0o644) for name, data in pki.items()},
    }  # fmt: skip
    for name, (text, mode) in files.items():
        path = os.path.join(upper, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(text.encode() if isinstance(text, str) else text)
        os.chmod(path, mode)
