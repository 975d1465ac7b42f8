"""Exceptions: one class per engine error code, under :class:`Error`."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ._types import Job, Status

__all__ = [
    "ErrorCode",
    "Error",
    "InvalidArgument",
    "NotFound",
    "IllegalTransition",
    "Conflict",
    "AlreadyExists",
    "Gone",
    "StorageFull",
    "Corrupt",
    "UnsupportedVersion",
    "TooLarge",
    "Expired",
    "EngineClosed",
    "IoError",
    "AlreadyOpen",
    "LeaseLost",
    "WaitTimeout",
]


class ErrorCode(enum.IntEnum):
    """The engine's error codes: the values of C++ ``jobstate::errc`` and of
    the C API's ``JOBSTATE_*`` status codes."""

    INVALID_ARGUMENT = 1
    NOT_FOUND = 2
    ILLEGAL_TRANSITION = 3
    CONFLICT = 4
    ALREADY_EXISTS = 5
    GONE = 6
    STORAGE_FULL = 7
    CORRUPT = 8
    UNSUPPORTED_VERSION = 9
    TOO_LARGE = 10
    EXPIRED = 11
    ENGINE_CLOSED = 12
    IO_ERROR = 13
    ALREADY_OPEN = 14
    LEASE_LOST = 15


class Error(Exception):
    """Base class of every error the engine reports.

    Attributes:
        code: the :class:`ErrorCode` (``None`` for :class:`WaitTimeout`).
        message: the full message, ready to show a person.
        detail: the particulars (the job or value concerned); may be empty.
        current_status: the :class:`~jobstate.Status` of the job concerned
            when the failure concerns an existing job (set on
            :class:`IllegalTransition` and :class:`Conflict`), else ``None``.
        current_revision: that job's revision, or ``None``.
    """

    code: Optional[ErrorCode] = None

    def __init__(
        self,
        message: str,
        *,
        detail: str = "",
        current_status: Optional["Status"] = None,
        current_revision: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.current_status = current_status
        self.current_revision = current_revision


class InvalidArgument(Error, ValueError):
    """Bad input (a malformed request, id or value); nothing was written."""

    code = ErrorCode.INVALID_ARGUMENT


class NotFound(Error, LookupError):
    """No such job in this account and project."""

    code = ErrorCode.NOT_FOUND


class IllegalTransition(Error):
    """The job's status does not allow the change (e.g. completing a job
    that was cancelled meanwhile). ``current_status`` says what it is now."""

    code = ErrorCode.ILLEGAL_TRANSITION


class Conflict(Error):
    """The job's revision is not the expected one (compare-and-set).
    ``current_revision`` says what it is now."""

    code = ErrorCode.CONFLICT


class AlreadyExists(Error):
    """The idempotency key was used for a different request."""

    code = ErrorCode.ALREADY_EXISTS


class Gone(Error):
    """The job was purged; only a tombstone is left."""

    code = ErrorCode.GONE


class StorageFull(Error):
    """The database reached its size limit (``max_map_size``)."""

    code = ErrorCode.STORAGE_FULL


class Corrupt(Error):
    """Stored data failed its integrity checks."""

    code = ErrorCode.CORRUPT


class UnsupportedVersion(Error):
    """The database was written by another schema version."""

    code = ErrorCode.UNSUPPORTED_VERSION


class TooLarge(Error, ValueError):
    """A value exceeds a documented limit (see ``Engine(limits=...)``)."""

    code = ErrorCode.TOO_LARGE


class Expired(Error):
    """The change feed no longer holds that sequence: list the jobs again,
    then resume from :meth:`Engine.last_sequence`."""

    code = ErrorCode.EXPIRED


class EngineClosed(Error):
    """The engine is closing or closed."""

    code = ErrorCode.ENGINE_CLOSED


class IoError(Error, OSError):
    """The storage layer failed (disk, permissions)."""

    code = ErrorCode.IO_ERROR


class AlreadyOpen(Error):
    """The database is already open in this process (by another
    :class:`Engine`, or by an integrity check): share that engine, or close
    it first."""

    code = ErrorCode.ALREADY_OPEN


class LeaseLost(Error):
    """A worker's lease on the job lapsed or was superseded: stop working on
    it and claim another."""

    code = ErrorCode.LEASE_LOST


class WaitTimeout(Error, TimeoutError):
    """A wait's timeout passed before its condition held.

    ``job`` is the job's latest snapshot, exactly as :meth:`Engine.get`
    would return it.
    """

    def __init__(self, job: "Job") -> None:
        super().__init__(
            f"timed out waiting for job {job.id} (status {job.status.value})"
        )
        self.job = job


_BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        IllegalTransition,
        Conflict,
        AlreadyExists,
        Gone,
        StorageFull,
        Corrupt,
        UnsupportedVersion,
        TooLarge,
        Expired,
        EngineClosed,
        IoError,
        AlreadyOpen,
        LeaseLost,
    )
}


def _invalid(detail: str) -> InvalidArgument:
    """An InvalidArgument raised by the package itself, worded as the
    engine's (``message`` is the code's text, then the *detail*)."""
    return InvalidArgument(
        f"invalid argument: fix the request; nothing was changed ({detail})",
        detail=detail,
    )


def _make_error(
    code: int,
    message: str,
    detail: str,
    status: Optional[str],
    revision: Optional[int],
) -> Error:
    """The exception for an engine error (called by the native module)."""
    from ._types import Status

    cls: Any = _BY_CODE.get(code, Error)  # type: ignore[call-overload]
    return cls(
        message,
        detail=detail,
        current_status=Status(status) if status is not None else None,
        current_revision=revision,
    )
