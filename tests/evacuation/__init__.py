# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Evacuation tests, a package: their helpers are imported by package name (a bare
``from conftest import`` could pick up another folder's conftest, e.g. tests/lab's)."""
