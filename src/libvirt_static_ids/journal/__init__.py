# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The write-ahead journal: versioned run files, typed records, one run lifecycle, the lock."""
