# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Development harness of the UMC module: the demo domain and a small stand-in UMC server.

``python -m umcdev`` (see ``make umc-dev``) serves the module with the stand-ins for UMC's
JavaScript API and the real Python backend on a throwaway directory with simulated hosts.
Nothing here is shipped; the browser tests drive the same server.
"""
