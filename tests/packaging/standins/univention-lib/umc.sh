# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
# shellcheck shell=bash
# Test stand-in for /usr/share/univention-lib/umc.sh (UCS 5.x): like the original it takes the
# bind options from the sourcing script's arguments; the functions are carried out by $STANDIN.

UMC_BIND_ARGS=("$@")

umc_init () { "$STANDIN" umc_init "${UMC_BIND_ARGS[@]}"; }
umc_operation_create () { "$STANDIN" umc_operation_create "$@"; }
umc_policy_append () { "$STANDIN" umc_policy_append "$@"; }
umc_frontend_new_hash () { "$STANDIN" umc_frontend_new_hash; }
