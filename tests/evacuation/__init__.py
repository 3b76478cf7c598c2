# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Evacuation tests (a package, so their module names cannot clash with other test folders: `from conftest import` picked up tests/lab's)."""
