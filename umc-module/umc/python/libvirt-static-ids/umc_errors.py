# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The edge between the core's typed errors and UMC's errors.

The core raises typed errors with stable codes; only here do they become UMC errors, so a
bad option is a 422 naming the UMC option, a directory refusal a 403, an unreachable
directory a 503, a busy host (another run holds its lock, a conversion unit runs) a 409
saying so, and nothing the core foresaw ends as a traceback (591). UMC's error module has
no class for 409 (Conflict): ``UMC_Error`` carries the status.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from univention.lib.i18n import Translation
from univention.management.console.error import (
    BadRequest,
    Forbidden,
    ServerError,
    ServiceUnavailable,
    UMC_Error,
    UnprocessableEntity,
)

from libvirt_static_ids.directory.client import DirectoryError, Reason
from libvirt_static_ids.errors import (
    InterruptedRunExists,
    LockHeld,
    PreflightRefused,
    StaticIdsError,
    UnitRunning,
    UsageError,
)

_ = Translation("univention-management-console-module-libvirt-static-ids").translate

CONFLICT = 409
# The core names options as its command line does; the UMC commands name them so.
OPTION_NAMES: Mapping[str, str] = {
    "--path": "paths",
    "HOST": "hosts",
    "--uid": "uid",
    "--gid": "gid",
}


@contextlib.contextmanager
def umc_errors() -> Iterator[None]:
    """Re-raise the core's errors as the UMC error that says what happened."""
    try:
        yield
    except UsageError as error:
        option = OPTION_NAMES.get(str(error.details.get("option")))
        if option is not None:
            raise UnprocessableEntity(
                _("The value of %s cannot be used") % (option,), result={option: error.message}
            ) from error
        # Not the user's input: this host's own setup (UCR, machine secret) is unusable.
        raise ServiceUnavailable(error.message, result=error.as_dict()) from error
    except DirectoryError as error:
        reason = error.details.get("reason")
        if reason == Reason.INSUFFICIENT_ACCESS:
            raise Forbidden(error.message, result=error.as_dict()) from error
        if reason in (Reason.UNREACHABLE, Reason.INVALID_CREDENTIALS):
            raise ServiceUnavailable(error.message, result=error.as_dict()) from error
        raise ServerError(error.message, result=error.as_dict()) from error
    except (LockHeld, UnitRunning) as error:
        raise UMC_Error(
            _("This host is busy: %s. Wait until it ends, then try again.") % (error.message,),
            status=CONFLICT,
            result=error.as_dict(),
        ) from error
    except (InterruptedRunExists, PreflightRefused) as error:
        raise BadRequest(error.message, result=error.as_dict()) from error
    except StaticIdsError as error:
        raise ServerError(error.message, result=error.as_dict()) from error
