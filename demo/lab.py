# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``make demo``, first part: the real thing, where this machine allows it.

Two real libvirt hosts on this machine (namespaces; libvirt-qemu 109:114 on hosta, 64055:64055
on hostb), shared storage with NFS's numeric rules, real QEMU guests whose memory holds a tick
counter. The KB's live migration is refused first; then the tool evacuates hosta (guests keep
running: the counter goes on), converts it, and the guests live-migrate back without any
bridge. libvirt's own reported downtime is printed for each migration. Where the lab cannot
run (no libvirtd, QEMU, FUSE or root), it says so and the simulated demos that follow show the
tool instead.
"""

from __future__ import annotations

import json
import os
import sys
import time

import libvirt

from libvirt_static_ids_testbed.lab import Lab, LabError, LabHost, missing

GUESTS = ("web", "db")


def say(text: str) -> None:
    print(text, flush=True)


def owner(lab: Lab, image: str) -> str:
    st = os.stat(lab.backing(image))
    return f"{st.st_uid}:{st.st_gid} {st.st_mode & 0o7777:04o}"


def downtime(host: LabHost, name: str) -> str:
    """The completed migration job's downtime as libvirt measured it (``domjobinfo
    --completed``), asked on the host the guest arrived at."""
    conn = host.connect()
    try:
        stats = conn.lookupByName(name).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    finally:
        conn.close()
    return f"{stats['downtime']} ms" if "downtime" in stats else "not reported"


def tool(host: LabHost, *argv: str) -> int:
    say(f"  [{host.name}]$ libvirt-static-ids {' '.join(argv)}")
    done = host.run(["libvirt-static-ids", *argv], check=False)
    for line in (done.stdout + done.stderr).strip().splitlines():
        say(f"    {line}")
    return done.returncode


def refused_first(lab: Lab, a: LabHost, b: LabHost) -> None:
    say("\n== 1. The KB's failure: live migration hosta (109) -> hostb (64055), root_squash NFS")
    image = lab.guest(a, "root_squash", "kb")
    time.sleep(0.5)
    before = a.counter("kb")
    say(f"  guest kb runs on hosta, image {owner(lab, image)}, counter {before}")
    say("  $ virsh migrate --live --persistent --undefinesource kb qemu+tcp://hostb/system")
    try:
        lab.migrate(a, b, "kb")
        raise LabError("the migration was expected to be refused")
    except libvirt.libvirtError as error:
        text = str(error)
        cause = text.find("Could not open")
        say(f"  refused by libvirt: {'...' + text[cause:] if cause >= 0 else text}")
    time.sleep(0.3)
    after = a.counter("kb")
    say(f"  kb still runs on hosta: counter {before} -> {after}; image {owner(lab, image)}")
    a.virsh("destroy", "kb")
    a.virsh("undefine", "kb")


def evacuate_convert_back(lab: Lab, a: LabHost, b: LabHost) -> None:
    say("\n== 2. Evacuate hosta with the tool (no_root_squash NFS), guests keep running")
    images = {name: lab.guest(a, "no_root_squash", name) for name in GUESTS}
    time.sleep(0.5)
    counters = {name: a.counter(name) for name in GUESTS}
    for name in GUESTS:
        say(f"  {name} on hosta: image {owner(lab, images[name])}, counter {counters[name]}")
    began = time.monotonic()
    code = tool(a, "evacuate", "hosta", "--to", "hostb", "--desturi", b.uri)
    took = time.monotonic() - began
    if code != 0:
        raise LabError(f"evacuate exited {code}")
    for name in GUESTS:
        say(
            f"  {name} on hostb: counter {counters[name]} -> {b.counter(name)}, "
            f"image {owner(lab, images[name])}, downtime {downtime(b, name)}"
        )
    say(f"  evacuation took {took:.1f} s; hosta runs no guest now")

    say("\n== 3. Convert the emptied hosta (usermod, groupmod, restart libvirtd, repair)")
    began = time.monotonic()
    if tool(a, "convert") != 0:
        raise LabError("convert failed")
    say(f"  hosta's libvirt-qemu is now {':'.join(map(str, a.passwd_numbers()))} "
        f"({time.monotonic() - began:.1f} s)")  # fmt: skip

    say("\n== 4. Live migration back hostb -> hosta: no bridge, nothing widened")
    for name in GUESTS:
        before = b.counter(name)
        began = time.monotonic()
        stats = lab.migrate(b, a, name)
        say(
            f"  {name}: counter {before} -> {a.counter(name)} on hosta, image "
            f"{owner(lab, images[name])}, migration {time.monotonic() - began:.1f} s, "
            f"downtime {stats.get('downtime', '?')} ms"
        )
    bridges = json.loads(a.run(["libvirt-static-ids", "bridge", "status", "--json"]).stdout)
    say(f"  open bridges on hosta: {len(bridges['bridges'])}")


def main() -> int:
    libvirt.registerErrorHandler(lambda _context, _error: None, None)  # errors are shown here
    reason = missing()
    if reason:
        say(f"The real-libvirt lab cannot run here ({reason}): the simulated demos follow.")
        return 0
    say("Starting two real libvirt hosts (namespaces on this machine) ...")
    began = time.monotonic()
    lab = Lab()
    try:
        lab.start()
    except LabError as error:
        say(f"The real-libvirt lab did not start ({error}): the simulated demos follow.")
        return 0
    try:
        a, b = lab.host("hosta"), lab.host("hostb")
        for host in (a, b):
            say(f"  {host.name}: libvirt-qemu {':'.join(map(str, host.passwd_numbers()))}, "
                f"{host.uri}")  # fmt: skip
        engine = "KVM" if lab.kvm else "TCG (no usable KVM here)"
        say(f"  up in {lab.timings['start']:.1f} s; guests run under {engine}")
        refused_first(lab, a, b)
        evacuate_convert_back(lab, a, b)
    except (LabError, libvirt.libvirtError) as error:
        say(f"lab demo failed: {error}")
        return 1
    finally:
        lab.close()
    say(f"\nLab demo finished in {time.monotonic() - began:.0f} s "
        f"(teardown {lab.timings['teardown']:.1f} s).\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
