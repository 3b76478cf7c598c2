# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""One host's files: the tree walk (C), each entry's metadata, ACLs and libvirt xattrs, repair."""
