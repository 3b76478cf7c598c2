# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Directory tests (a package, so their module names cannot clash with other test folders)."""
