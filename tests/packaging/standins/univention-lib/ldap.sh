# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
# shellcheck shell=bash
# Test stand-in for /usr/share/univention-lib/ldap.sh (UCS 5.x): the registration and service
# functions, carried out by $STANDIN on its recorded directory.

ucs_registerLDAPExtension () { "$STANDIN" ucs_registerLDAPExtension "$@"; }
ucs_unregisterLDAPExtension () { "$STANDIN" ucs_unregisterLDAPExtension "$@"; }
ucs_addServiceToLocalhost () { "$STANDIN" ucs_addServiceToLocalhost "$@"; }
ucs_removeServiceFromLocalhost () { "$STANDIN" ucs_removeServiceFromLocalhost "$@"; }
ucs_isServiceUnused () { "$STANDIN" ucs_isServiceUnused "$@"; }
