# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The real-libvirt lab: two real libvirtd hosts on this machine, a real guest between them.

Each host is an ``unshare --net --mount --uts --pid`` with init.py as PID 1: private
passwd/group (``libvirt-qemu`` 109:114 on ``hosta``, 64055:64055 on ``hostb``), private
/etc/libvirt (TCP without auth, TLS with host certificates, own host_uuid), tmpfs /run and
libvirt's state, a private /dev/kvm node; one veth pair links the two, nothing else. Shared
storage: two exports with NFSv3's numeric rules (nfsfs.py), ``root_squash`` and
``no_root_squash``, mounted by each host at ``/var/lib/libvirt/images/<export>``. Guests
have no OS: their boot sector counts timer ticks at 0x7e00 (guest.py). TCG where /dev/kvm
cannot be used. Nothing here touches the machine's /etc, users or services; ``close()``
ends every process by PID and the mounts and the link vanish with the namespaces.

API (all a test needs)::

    from libvirt_static_ids_testbed.lab import Lab, LabError, missing

    if missing(): pytest.skip(missing())             # no libvirtd/qemu/FUSE/root here
    with Lab() as lab:                               # 3-8 s here; lab.timings["start"]
        a, b = lab.host("hosta"), lab.host("hostb")  # a.uid, a.gid == 109, 114
        image = lab.guest(a, "no_root_squash", "g1") # image a.uid:a.gid 0600, defined+started
        a.counter("g1")                              # the guest's tick counter (grows)
        stats = lab.migrate(a, b, "g1")              # live, persist, undefine source
        lab.migrate(b, a, "g1", flags=..., params=...)  # other migrate3 flags/params
        stats["downtime"]                            # ms, as libvirt reports it
        os.stat(lab.backing(image))                  # the file on the "server": owner, mode
        a.run(["libvirt-static-ids", "evacuate", "hosta", "--to", "hostb",
               "--dest-uri", b.uri, "--uid", "64055", "--gid", "64055"], check=False)
        a.restart_libvirtd()                         # what convert's systemctl does in a host
        a.passwd_numbers()                           # libvirt-qemu's numbers in a's files now

- ``lab.exports[name]``: ``.backing`` (server side, a Path here), ``.path`` (inside hosts),
  ``.root_squash``; ``lab.image(export, file, uid, gid, mode)`` writes a guest image there.
- ``host.run(argv, check=True, env=None, timeout=120, input=None)``: nsenter into the host's
  mount/UTS/net/PID namespaces; PATH starts with the host's ``systemctl`` shim and this venv.
- ``host.spawn(argv, log, env=None)``: the same, in the background (output to ``log`` in the
  host's directory); ``.stop()`` ends it by PID. ``systemd-run`` in a host runs the unit's
  command detached (systemd_run.py; its output in /run/lab/units/NAME.log).
- ``lab.forward(port)``: this machine's 127.0.0.1:PORT reachable at the same address inside
  every host (relay.py; e.g. a throwaway slapd as the hosts' Primary), until ``close()``.
- ``host.virsh(*args)``, ``host.connect()`` (libvirt-python via the host's socket, closed by
  the caller), ``host.uri`` (``qemu+tcp://169.254.77.N/system``: for use *inside* a host),
  ``host.tls_uri`` (``qemu://hostb.kvm.test/system``: TLS with the lab CA's host
  certificates, pki.py, the transport UCS's hosts and the tool's default destination use),
  ``host.socket_uri`` (from this process), ``host.path("/etc/passwd")`` (the host's view),
  ``host.define_guest``, ``host.start_guest``, ``host.is_running``, ``host.log_tail(name)``.
- ``lab.kvm``: True with KVM, False under TCG (also where /dev/kvm exists but the CPU shows
  no VMX/SVM: such nested KVM crawls); ``lab.close()`` is idempotent.
- The storage, seen from a host: no xattrs, so no ACLs (the tool's ``--mode acl`` falls back
  to chmod), root is 65534 on ``root_squash``, every READ/WRITE is re-checked with the
  opener's numbers (a chmod/chown takes effect at once, as on NFS), nothing cached. Writing
  through ``lab.backing(...)`` from the test is the NFS server's admin acting on the server.
- Logs, for a failing test's message: ``host.log_tail("libvirtd.out")``, ``"init.log"``,
  ``"nfsfs.log"``, ``"/var/log/libvirt/libvirtd.log"``, ``"/var/log/libvirt/qemu/NAME.log"``.
- tests/lab/conftest.py has the ``lab`` fixture (started Lab, skipped where ``missing()``) and
  ``grows(host, name)`` (the counter went up within 10 s).
"""

from __future__ import annotations

from .availability import missing
from .host import Export, LabError, LabHost
from .lab import DYNAMIC, EXPORTS, STATIC, Lab

__all__ = ["DYNAMIC", "EXPORTS", "STATIC", "Export", "Lab", "LabError", "LabHost", "missing"]
