# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The backing files below a disk image (qcow2 overlays, as UVMM's clones are): QEMU on the
destination opens every one of them, so each must be bridged (for reading) and probed.

Read with ``qemu-img info --backing-chain`` as the image's owner, with the format the domain
declares (``-f``, never probed: a guest that wrote a qcow2 header into its raw disk must not
make us open host files), and ``-U`` because the running QEMU holds the image's lock. As the
owner, not root: under root_squash root may not read a 0600 image, and a chain naming files
the owner cannot read is one QEMU could not open either.
"""

from __future__ import annotations

import json
import os
import subprocess

from libvirt_static_ids.errors import PreflightRefused

_TIMEOUT = 60


def chain(image: str, image_format: str | None) -> list[str]:
    """The backing files of ``image``, nearest first (none for a raw image)."""
    if image_format in (None, "raw"):
        return []
    st = os.stat(image)
    argv = ["qemu-img", "info", "--backing-chain", "--output=json", "-U", "-f", image_format, image]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            timeout=_TIMEOUT,
            user=st.st_uid,
            group=st.st_gid,
            extra_groups=[],
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PreflightRefused(
            f"cannot read the backing chain of {image}: {error}", image=image
        ) from error
    if done.returncode != 0:
        raise PreflightRefused(
            f"cannot read the backing chain of {image} (as its owner {st.st_uid}:{st.st_gid}): "
            f"{done.stderr.strip()}",
            image=image,
        )
    try:
        names = [str(layer["filename"]) for layer in json.loads(done.stdout)[1:]]
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise PreflightRefused(f"qemu-img gave no backing chain for {image}: {error}") from error
    for name in names:
        if not os.path.isabs(name) or "://" in name:
            raise PreflightRefused(
                f"{image} has a backing file that is no file path ({name})", image=image
            )
    return [os.path.realpath(name) for name in names]
