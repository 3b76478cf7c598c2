# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Stand-ins for the UCS object classes the shipped ACL and the tree depend on.

UCS's univention.schema defines ``univentionHost``, the auxiliary class every computer object
carries and the shipped ACL selects hosts by (wherever they are in the tree), and ``lock``
with ``lockTime``, UDM's allocator locks (univention/admin/locking.py writes
``objectClass: top, lock``, ``cn`` and ``lockTime``). The test slapd loads this schema
instead; the OID is from this project's arc (``.99`` is kept for
test stand-ins), never UCS's, so the stand-in can never be mistaken for the real definition.
"""

from __future__ import annotations

import os

ARC = "2.25.151284265412460993960916815576646793114.99"
LDIF = f"""\
dn: cn=ucs-standins,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: ucs-standins
olcAttributeTypes: ( {ARC}.1.1 NAME 'lockTime' DESC 'test stand-in for UCS lockTime'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcObjectClasses: ( {ARC}.2.1 NAME 'univentionHost' DESC 'test stand-in for UCS
  univentionHost' SUP top AUXILIARY MUST cn )
olcObjectClasses: ( {ARC}.2.2 NAME 'lock' DESC 'test stand-in for UCS lock' SUP top
  STRUCTURAL MUST cn MAY lockTime )
"""


def write(directory: str) -> str:
    """The schema as an LDIF file in ``directory``, for slapadd."""
    path = os.path.join(directory, "ucs-standins.ldif")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(LDIF)
    return path
