# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What a run is: its kind, states and format, and how ``run.json`` and ``state.json`` read.

``run.json`` carries the journal format its run was written in. 0.1.0 wrote none: its
runs are format 1's vocabulary exactly, so they read as format 1. A run of a newer format
is refused (exit 2) rather than misread: rollback must undo exactly what was journaled.
Both files are checked against ``schemas/journal.schema.json`` shipped in the package.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from libvirt_static_ids.errors import JournalError, UnknownJournalFormat

FORMAT = 1
"""The journal format this version writes and the newest it reads."""


class RunKind(StrEnum):
    CONVERT = "convert"
    REPAIR = "repair"
    ORPHANS = "orphans"
    BRIDGE = "bridge"
    EVACUATE = "evacuate"


class RunState(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    ROLLING_BACK = "rolling back"
    ROLLED_BACK = "rolled back"
    INTERRUPTED = "interrupted"


ACTIVE_STATES = (RunState.RUNNING, RunState.ROLLING_BACK)


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    kind: RunKind
    params: dict[str, Any]
    started: str
    state: RunState
    interrupted_while: RunState | None
    summary: dict[str, Any]
    sequence: int = 0  # the order runs were made in; 0.1.0's runs have none

    def as_dict(self) -> dict[str, Any]:
        data = {
            "run_id": self.run_id,
            "kind": str(self.kind),
            "params": self.params,
            "started": self.started,
            "state": str(self.state),
            "summary": self.summary,
        }
        if self.interrupted_while:
            data["interrupted_while"] = str(self.interrupted_while)
        return data


def interrupted_message(run: RunInfo) -> str:
    if run.interrupted_while == RunState.ROLLING_BACK:
        return (
            f"the rollback of run {run.run_id} was interrupted: run `rollback {run.run_id}` again"
        )
    return (
        f"run {run.run_id} ({run.kind}) was interrupted: run the same `{run.kind}` again to "
        f"resume it, or `rollback {run.run_id}`"
    )


if TYPE_CHECKING:
    import jsonschema


@functools.cache
def _validator(definition: str) -> jsonschema.protocols.Validator:
    from importlib import resources  # pathlib and more: not at start-up either

    import jsonschema  # ~0.3 s to import: only commands that read a journal pay for it

    text = resources.files("libvirt_static_ids").joinpath("schemas/journal.schema.json")
    schema = json.loads(text.read_text(encoding="utf-8"))
    part = {**schema["$defs"][definition], "$defs": schema["$defs"]}
    validator: jsonschema.protocols.Validator = jsonschema.validators.validator_for(schema)(part)
    return validator


def _check(data: Any, definition: str, where: str) -> dict[str, Any]:  # decoded JSON
    from jsonschema.exceptions import best_match

    error = best_match(_validator(definition).iter_errors(data))
    if error is not None:
        at = "/".join(map(str, error.absolute_path)) or "top level"
        raise JournalError(f"{where} is not valid ({at}: {error.message})")
    assert isinstance(data, dict)  # the schema says so
    return data


def check_meta(data: object, where: str) -> dict[str, Any]:
    """``run.json``, checked; a newer format is refused before its content is looked at."""
    if isinstance(data, dict):
        found = data.get("format", FORMAT)
        if isinstance(found, int) and not isinstance(found, bool) and found > FORMAT:
            raise UnknownJournalFormat(
                f"{where} is in journal format {found}, written by a newer libvirt-static-ids; "
                f"this version reads formats up to {FORMAT}: use the newer version for this "
                "run (nothing was changed)",
                format=found,
            )
    return _check(data, "run", where)


def check_state(data: object, where: str) -> dict[str, Any]:
    """``state.json``, checked."""
    return _check(data, "state", where)
