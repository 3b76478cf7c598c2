# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""One KVM host: accounts, processes, libvirt, survey, convert, downtime, rollback, orphans."""
