# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The UCS directory (python-ldap): settings, host records, requests, domain survey, agent."""
