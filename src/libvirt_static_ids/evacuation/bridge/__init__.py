# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The migration bridge: a time-limited widening of disk images, exactly undone."""
