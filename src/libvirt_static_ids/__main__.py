# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Allow ``python -m libvirt_static_ids``."""

from __future__ import annotations

import sys

from libvirt_static_ids.cli.main import main

sys.exit(main())
