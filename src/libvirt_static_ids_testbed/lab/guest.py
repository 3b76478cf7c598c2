# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The lab's guest: no OS, a boot sector that counts timer ticks, so a test sees it kept running.

The boot sector is real-mode code: ``xor ax,ax; mov ds,ax; sti; loop: inc dword [0x7e00]; hlt;
jmp loop``. Every timer interrupt wakes the ``hlt`` and adds one (about 18 a second), so the
dword at guest-physical 0x7e00 only grows while the guest runs, wherever it runs.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

IMAGE_SIZE = 16 << 20
COUNTER_ADDRESS = 0x7E00

_BOOT_CODE = bytes(
    [
        0x31, 0xC0,  # xor ax, ax
        0x8E, 0xD8,  # mov ds, ax
        0xFB,  # sti
        0x66, 0xFF, 0x06, 0x00, 0x7E,  # loop: inc dword [0x7e00]
        0xF4,  # hlt
        0xEB, 0xF8,  # jmp loop
    ]
)  # fmt: skip


def boot_sector() -> bytes:
    """512 bytes: the counting loop, zeros, the 0x55 0xAA signature the BIOS looks for."""
    return _BOOT_CODE + bytes(510 - len(_BOOT_CODE)) + b"\x55\xaa"


def image_bytes() -> bytes:
    """A whole raw disk image: the boot sector, then zeros up to 16 MiB."""
    return boot_sector() + bytes(IMAGE_SIZE - 512)


def domain_xml(name: str, image: str, *, kvm: bool, memory_mib: int = 128) -> str:
    """A persistent domain booting ``image``; cache='none' because libvirt refuses to
    live-migrate disks with another cache mode."""
    return f"""<domain type='{"kvm" if kvm else "qemu"}'>
  <name>{escape(name)}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/><bootmenu enable='no'/></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='{escape(image)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


COUNTER_COMMAND = f"xp /1wx {COUNTER_ADDRESS:#x}"
_WORD = re.compile(r":\s*(0x[0-9a-fA-F]+)")


def parse_counter(hmp_output: str) -> int:
    """The value in ``xp /1wx 0x7e00``'s answer (``0000000000007e00: 0x0000002a``)."""
    match = _WORD.search(hmp_output)
    if not match:
        raise ValueError(f"no counter in monitor output: {hmp_output!r}")
    return int(match.group(1), 16)
