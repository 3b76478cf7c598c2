# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The domain survey pauses Python's cycle collector while it builds (it makes no cycles) and
leaves it as it found it: on again after, also when building fails; off if it was off.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest

from libvirt_static_ids.directory import domain_survey
from libvirt_static_ids.directory.client import Settings
from libvirt_static_ids.directory.record import StoredRecord
from libvirt_static_ids.ids import DEFAULT_TARGET

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _survey():
    record = StoredRecord(
        dn="cn=kvm1,cn=computers,dc=example,dc=test",
        name="kvm1",
        has_class=True,
        state="static",
        uid=64055,
        gid=64055,
        checked=NOW,
        blockers=(),
        detail={"error": {"code": "x", "message": "y"}},
        request=None,
        problems=(),
    )
    settings = Settings(
        "cn=libvirt-static-ids,cn=univention,dc=example,dc=test", True, DEFAULT_TARGET
    )
    return domain_survey.build("dc=example,dc=test", settings, [record], [], NOW)


@pytest.fixture
def collector():
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_paused_while_building_and_on_again_after(collector, mocker):
    seen = []
    real = domain_survey._error

    def error(detail):
        seen.append(gc.isenabled())
        return real(detail)

    mocker.patch.object(domain_survey, "_error", error)
    gc.enable()
    data = _survey().as_dict()
    assert seen == [False]
    assert gc.isenabled()
    assert data["hosts"][0]["error"] == {"code": "x", "message": "y"}
    assert data["hosts"][0]["checked"] == "2026-12-01T00:00:00Z"  # no text read: from the time


def test_on_again_when_building_fails(collector, mocker):
    mocker.patch.object(domain_survey, "_error", side_effect=RuntimeError("injected"))
    gc.enable()
    with pytest.raises(RuntimeError, match="injected"):
        _survey().as_dict()
    assert gc.isenabled()


def test_left_off_when_it_was_off(collector):
    gc.disable()
    _survey().as_dict()
    assert not gc.isenabled()
