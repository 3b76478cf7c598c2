# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The simulated KVM hosts of a rollout: each host's listener daemon and systemd, a process each.

    python tests/hostd.py LISTENER_FILE NODES_DIR NAME=ROOT ...

(tests/stubs, the stand-ins of UCS's univention modules, is on PYTHONPATH; LISTENER_FILE is
listener/libvirt-static-ids.py. Used by tests/rollout and ``make demo``.) The core is imported
once, then one child per host is forked (cheap: 20 hosts start in a second, not in 20
interpreters' start-up); each child names its
UCR in UNIVENTION_BASECONF before it imports the univention stand-ins. The parent passes
SIGTERM on to each child by its PID and waits for them. In each child, the real listener
module is loaded as the listener's loader does (tests/directory/listener_host.py) and given
the host's root and its libvirt (a test-driver node file NODES_DIR/NAME.xml). What stands in:

- replication: the daemon reads its own computer object (as the machine account) every
  0.1 s and hands the listener module a modify event when the request attribute changed;
- systemd-run: a unit's command line runs in a thread, a second unit of a name that still
  runs is refused (as systemd does); the command is parsed by the real parser and carried
  out by the same core call ``record --pending`` (the listener's unit) or ``record
  --request`` (a request's own unit) makes;
- live migration (SIMULATED, as in ``make demo``): libvirt's test driver cannot migrate, so
  the domain's XML moves from this node file to the destination's (atomically, under a lock);
- shared storage (SIMULATED): NODES_DIR/mountinfo names the images' directory an NFS mount,
  as libvirt's and evacuate's shared-storage check reads /proc/self/mountinfo;
- a failing migration (fault injection): a file NODES_DIR/fail-VM makes VM's migration fail;
- a destination's libvirt (SIMULATED): ``qemu://HOST/system`` opens HOST's node file;
- free memory (SIMULATED): the test driver reports none for a node file, so the inventory is
  given the node's memory minus its running VMs'.

Ends on SIGTERM (the test ends it by PID). Logs one line per event to stdout.

    python tests/hostd.py --live LISTENER_FILE

is one real host's listener daemon (tests/lab, started inside a lab host): the same module
loading and replication stand-in, nothing simulated: the host's own root and libvirt
(qemu:///system), and units started by ``systemd-run`` as the listener module does.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import ldap

import listener_loader
from libvirt_static_ids.cli.main import build_parser
from libvirt_static_ids.directory import agent, record
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import request as requests
from libvirt_static_ids.directory.request import HostRequest, Kind
from libvirt_static_ids.errors import OperationFailed, UnitRunning
from libvirt_static_ids.host import hypervisor, inventory
from libvirt_static_ids.host.transient_unit import TransientUnit
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.plan import host_request

POLL = 0.1

LIVE = sys.argv[1] == "--live"
MODULE_FILE, NODES = (sys.argv[2], "") if LIVE else (sys.argv[1], sys.argv[2])
LOCK = os.path.join(NODES, ".lock")
NAME = ROOT = ""  # this child's host


def say(text: str) -> None:
    print(f"{time.monotonic():.3f} {NAME}: {text}", flush=True)


def node_file(host: str) -> str:
    return os.path.join(NODES, f"{host}.xml")


def _write_atomically(path: str, tree: Any) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    tree.write(temporary, encoding="unicode")
    os.replace(temporary, path)


def host_of(uri: str) -> str:
    """``qemu://kvm03.kvm.test/system`` -> ``kvm03``. A bare name would not pass UCS's TLS
    (the host certificate names the FQDN), so it is refused here too."""
    fqdn = uri.removeprefix("qemu://").split("/")[0]
    assert "." in fqdn, f"{uri}: not the FQDN UCS's TLS checks"
    return fqdn.split(".")[0]


def simulated_migrate(domain: Any, dest_uri: str, flags: int, timeout: float | None) -> None:
    """SIMULATED live migration: the definition moves to the destination's node file."""
    assert flags == hypervisor.migrate_flags(), flags
    destination = host_of(dest_uri)
    name = domain.name()
    if os.path.exists(os.path.join(NODES, f"fail-{name}")):  # the test's fault injection
        raise OperationFailed(f"simulated: the migration of {name} to {destination} broke off")
    with open(LOCK, "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        source = ET.parse(node_file(NAME))  # noqa: S314 - the test's own file
        element = next(d for d in source.getroot().iterfind("domain") if d.findtext("name") == name)
        target = ET.parse(node_file(destination))  # noqa: S314 - the test's own file
        target.getroot().append(element)
        _write_atomically(node_file(destination), target)
        source.getroot().remove(element)
        _write_atomically(node_file(NAME), source)
    say(f"migrated {name} to {destination}")


def simulated_connect(uri: str) -> Any:
    """SIMULATED: a destination's ``qemu://HOST.DOMAINNAME/system`` is that host's node file
    (the test driver reports no QEMU numbers, so evacuate takes the request's, as it says)."""
    if uri.startswith("qemu://"):
        uri = f"test://{node_file(host_of(uri))}"
    return real_connect(uri)


real_connect = hypervisor.connect


def simulated_free_mib(conn: Any) -> int:
    """SIMULATED: the node's memory less that of its running VMs (the driver reports 0)."""
    used = sum(int(d.maxMemory()) // 1024 for d in hypervisor.running(conn))
    mib = int(conn.getInfo()[1]) - used
    return mib - mib % inventory.FREE_GRANULE_MIB


class Systemd:
    """systemd-run --no-block: the unit runs in a thread; a unit name runs once at a time."""

    def __init__(self) -> None:
        self.running: dict[str, threading.Thread] = {}

    def start(self, unit: TransientUnit) -> None:
        """``transient_unit.start``, for the listener's unit and a request's own."""
        self._run(unit.name, unit.argv)

    def _run(self, unit: str, command: Sequence[str]) -> None:
        if unit in self.running and self.running[unit].is_alive():
            raise UnitRunning(f"unit {unit} already exists", unit=unit)
        args = build_parser().parse_command_line(list(command[1:]))
        thread = threading.Thread(target=self._unit, args=(unit, args), daemon=False)
        self.running[unit] = thread
        thread.start()

    def _unit(self, unit: str, args: Any) -> None:
        import univention.uldap

        lo = univention.uldap.getMachineConnection(
            secret_file=os.path.join(ROOT, "etc", "machine.secret")
        )
        try:
            if args.pending:
                outcomes, _ = agent.handle_pending(
                    lo.lo,
                    lo.binddn,
                    HostRoot(args.root),
                    lo.base,
                    launch=self.start,
                    inventory_uri=args.connect,
                )
                say(f"unit {unit}: {len(outcomes)} request(s) handled")
                return
            wanted = requests.parse(args.request) if args.request else HostRequest(Kind.CONVERT)
            settings = directory.read_settings(lo.lo, lo.base)
            carried = host_request.carry_out(
                lo.lo,
                lo.binddn,
                HostRoot(args.root),
                settings,
                wanted,
                connect_uri=args.connect,
                hostname=NAME,
                migrate=simulated_migrate,
                restart=not args.no_restart,
                mountinfo=os.path.join(NODES, "mountinfo"),
            )
            say(f"unit {unit}: {wanted.value()} -> {'ok' if carried.ok else 'FAILED'}")
        except Exception as error:
            say(f"unit {unit} crashed: {error!r}")
        finally:
            lo.unbind()


def load_listener() -> tuple[dict[str, Any], Any]:
    """The listener module loaded as the listener's loader does: (its globals, the handler)."""
    return listener_loader.load(logging.StreamHandler(sys.stdout), logging.INFO, MODULE_FILE)


def replicate(listener_globals: dict[str, Any], stopping: threading.Event) -> None:
    """``initialize``, then a modify event whenever this host's request changed, until
    ``stopping`` is set."""
    import univention.uldap

    listener_globals["initialize"]()
    say("initialized")
    lo = univention.uldap.getMachineConnection(
        secret_file=os.path.join(ROOT, "etc", "machine.secret")
    )
    dn = lo.binddn
    old: dict[str, list[bytes]] = {}
    delivered: bytes | None = None
    while not stopping.is_set():
        found = lo.lo.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*"])
        new = found[0][1] if found else {}
        value = (new.get(record.REQUEST) or [None])[0]
        if value is not None and value != delivered:
            say(f"request {value.decode()!r}")
            listener_globals["handler"](dn, new, old, "m")
            delivered = value
        old = new
        stopping.wait(POLL)
    lo.unbind()


def host_main() -> int:
    inventory._free_mib = simulated_free_mib  # SIMULATED, see the module docstring
    hypervisor.connect = simulated_connect  # SIMULATED, see the module docstring
    listener_globals, handler = load_listener()
    handler.root = ROOT
    handler.connect = f"test://{node_file(NAME)}"
    systemd = Systemd()
    handler.start = systemd.start
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    replicate(listener_globals, stopping)
    for thread in systemd.running.values():
        thread.join()
    return 0


def live_main() -> int:
    """A real host's listener daemon: its root, its libvirt, its systemd-run (see above)."""
    global NAME, ROOT
    NAME, ROOT = socket.gethostname(), "/"
    listener_globals, _ = load_listener()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    replicate(listener_globals, stopping)
    return 0


def main() -> int:
    global NAME, ROOT
    if LIVE:
        return live_main()
    children = []
    for word in sys.argv[3:]:
        name, root = word.split("=", 1)
        pid = os.fork()
        if pid == 0:
            NAME, ROOT = name, root
            os.environ["UNIVENTION_BASECONF"] = os.path.join(root, "etc/univention/base.conf")
            log = os.open(os.path.join(NODES, "..", f"{name}.log"), os.O_WRONLY | os.O_CREAT, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            code = 1
            try:
                code = host_main()
            finally:
                sys.stdout.flush()
                os._exit(code)
        children.append(pid)

    def stop(*_: object) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    failed = 0
    for child in children:
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        failed += status != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
