# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The rolling plan's tests (a package, so its conftest never shadows another directory's)."""
