# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
# shellcheck shell=bash
# Test stand-in for /usr/share/univention-lib/base.sh (UCS 5.x): nothing the join scripts use.
