# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The command line: argument parsing per command family, exit codes, JSON and human output."""
