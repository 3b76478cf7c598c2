# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Emptying a host: access as another numeric identity, probes, bridges, live migration."""
