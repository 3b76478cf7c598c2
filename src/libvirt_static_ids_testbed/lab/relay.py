# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A lab host's route to a service of this machine: ``127.0.0.1:PORT`` inside each host is
relayed to ``127.0.0.1:PORT`` here (the throwaway slapd standing in for the Primary).

    python -m libvirt_static_ids_testbed.lab.relay PORT HOST_PID ...

A lab host's network namespace has only its loopback and the veth link; a UCS host reaches
its Primary's LDAP over the network. Rather than link this machine's own network into the
lab, this process opens a listening socket in each host's network namespace (``setns`` for
the moment of ``bind``; a socket stays in the namespace it was made in) and copies bytes to a
connection made here. Prints ``ready`` once every socket listens; ends on SIGTERM (the lab
ends it by PID).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def listen_in(pid: int, port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` in the network namespace of ``pid``."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    theirs = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        _setns(theirs)
        try:
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen(16)
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(theirs)
    return server


def _copy(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _serve(server: socket.socket, port: int) -> None:
    while True:
        client, _ = server.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", port))
        except OSError:
            client.close()
            continue
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_copy, args=(source, sink), daemon=True).start()


def main(argv: Sequence[str]) -> int:
    port, pids = int(argv[0]), [int(pid) for pid in argv[1:]]
    servers = [listen_in(pid, port) for pid in pids]  # before any thread: setns is per thread
    for server in servers:
        threading.Thread(target=_serve, args=(server, port), daemon=True).start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    sys.exit(main(sys.argv[1:]))
