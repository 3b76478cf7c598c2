# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The rolling conversion of the whole domain: model, planner, NFS effects, independent checker."""
