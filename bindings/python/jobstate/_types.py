"""Value types: statuses, jobs and the answers of Engine calls."""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import (
    Any,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    Union,
    overload,
)

from . import _jobstate
from ._errors import _invalid

__all__ = [
    "Status",
    "Durability",
    "JobRef",
    "JobError",
    "ProgressCounts",
    "Progress",
    "HistoryEvent",
    "Lease",
    "Job",
    "Heartbeat",
    "Page",
    "BatchChild",
    "Batch",
    "PurgeResult",
    "Change",
    "ChangeBatch",
]

#: Any JSON value: None, bool, int, float, str, list or dict.
JSON = Any


class Status(str, enum.Enum):
    """The status of a job.

    ``PENDING → RUNNING → SUCCEEDED | PARTIALLY_SUCCEEDED | FAILED |
    CANCELLED``, and ``PENDING → CANCELLED``. The last four are terminal: a
    job never changes again once there. Members compare equal to their wire
    names (``Status.RUNNING == "running"``).
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True for SUCCEEDED, PARTIALLY_SUCCEEDED, FAILED and CANCELLED."""
        return self not in (Status.PENDING, Status.RUNNING)

    def __str__(self) -> str:
        return self.value


class Durability(str, enum.Enum):
    """What an acknowledged change survives (``Engine(durability=...)``)."""

    #: fsync every commit: survives a crash of the process and the machine.
    FULL = "full"
    #: Data synced, meta page not: a machine crash may lose the last commits.
    NO_META_SYNC = "no_meta_sync"
    #: No fsync: survives a crash of the process, not of the machine.
    NO_SYNC = "no_sync"

    def __str__(self) -> str:
        return self.value


class JobRef(NamedTuple):
    """Names a job: its account, project and id. Every method of
    :class:`~jobstate.Engine` that takes a job accepts a :class:`Job`, a
    ``JobRef`` or an ``(account_id, project_id, id)`` tuple."""

    account_id: str
    project_id: str
    id: str


# Timestamps are read and written by the engine's own code (RFC 3339, UTC,
# six fraction digits); Python only turns microseconds into datetimes.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _parse_time(text: Optional[str]) -> Optional[datetime]:
    if text is None:
        return None
    return _EPOCH + timedelta(microseconds=_jobstate._parse_timestamp(text))


def _format_time(t: Optional[datetime]) -> Optional[str]:
    if t is None:
        return None
    since_epoch = t.astimezone(timezone.utc) - _EPOCH
    return _jobstate._format_timestamp(since_epoch // timedelta(microseconds=1))


@dataclass(frozen=True)
class JobError:
    """Why a job failed or was cancelled: a code for programs and a message
    for people."""

    code: str
    message: str

    def to_dict(self) -> Dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class ProgressCounts:
    """Counters of a job made of parts (a batch's children, a file's pages).

    Each part is counted once: ``total = succeeded + failed + cancelled +
    pending``. ``succeeded`` includes ``partially_succeeded``; ``pending``
    (not finished yet) includes ``running``.
    """

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    pending: int = 0
    running: int = 0
    partially_succeeded: int = 0

    @property
    def finished(self) -> int:
        """The parts that have finished: ``total - pending``, which is
        ``succeeded + failed + cancelled`` (the engine accepts only counters
        that add up: :meth:`Engine.report_progress`)."""
        return self.total - self.pending

    @classmethod
    def from_dict(cls, d: Mapping[str, int]) -> "ProgressCounts":
        """From the JSON shape; members this version does not know are
        ignored."""
        return cls(**{k: v for k, v in d.items() if k in _COUNT_FIELDS})

    def to_dict(self) -> Dict[str, int]:
        return {name: getattr(self, name) for name in _COUNT_FIELDS}


_COUNT_FIELDS = tuple(f.name for f in fields(ProgressCounts))


@dataclass(frozen=True)
class Progress:
    """How far a job has come; every part is optional."""

    percent: Optional[Union[int, float]] = None
    counts: Optional[ProgressCounts] = None
    details: JSON = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "percent": self.percent,
            "counts": self.counts.to_dict() if self.counts is not None else None,
            "details": copy.deepcopy(self.details),
        }


@dataclass(frozen=True)
class HistoryEvent:
    """One event of a job's timeline (every change appends one)."""

    step: str
    timestamp: datetime
    duration_ms: int
    status: Status
    details: JSON = None
    #: The epoch of the lease the job ran under when the event was written
    #: (its claim, progress, end); 0 when under none.
    epoch: int = 0

    def to_dict(self) -> Dict[str, Any]:
        d = {
            "step": self.step,
            "timestamp": _format_time(self.timestamp),
            "duration_ms": self.duration_ms,
            "status": self.status.value,
            "details": copy.deepcopy(self.details),
        }
        if self.epoch:
            d["epoch"] = self.epoch
        return d


@dataclass(frozen=True)
class Lease:
    """A worker's hold on a running job, taken by :meth:`Engine.claim` and
    renewed by :meth:`Engine.heartbeat` (docs/workers.md). Pass ``epoch`` as
    ``lease_epoch=`` on every write of the job; a lease not renewed by
    ``expires_at`` fails the job with error code ``"lease_expired"``."""

    worker_id: str
    epoch: int
    expires_at: datetime
    ttl: timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """When and how the engine reruns a job that failed (docs/workers.md):
    each retry is a new pending job (``original_job_id`` the attempt before,
    ``attempt`` + 1), claimable after a backoff of ``initial_backoff`` ×
    ``multiplier`` ** (attempt − 1), at most ``max_backoff``, moved by up
    to ``jitter`` of itself at random. ``retry_on`` names the error codes
    that retry (empty: every failure); a cancelled job never retries.
    ``max_attempts`` counts the first attempt: 1 never retries."""

    max_attempts: int = 1
    #: A timedelta, or seconds.
    initial_backoff: Union[timedelta, int, float] = timedelta(seconds=1)
    max_backoff: Union[timedelta, int, float] = timedelta(minutes=5)
    multiplier: float = 2.0
    jitter: float = 0.2
    retry_on: Tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RetryPolicy":
        """The policy whose native JSON shape is ``d``."""
        return cls(
            max_attempts=d["max_attempts"],
            initial_backoff=timedelta(milliseconds=d["initial_backoff_ms"]),
            max_backoff=timedelta(milliseconds=d["max_backoff_ms"]),
            multiplier=d["multiplier"],
            jitter=d["jitter"],
            retry_on=tuple(d.get("retry_on", ())),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The native JSON shape ("initial_backoff_ms", ...). TypeError for
        a member of the wrong type."""
        if not isinstance(self.max_attempts, int) or isinstance(self.max_attempts, bool):
            raise TypeError("RetryPolicy.max_attempts must be an int")
        for name in ("multiplier", "jitter"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"RetryPolicy.{name} must be a number")
        if isinstance(self.retry_on, (str, bytes)) or not all(
            isinstance(code, str) for code in self.retry_on
        ):
            raise TypeError("RetryPolicy.retry_on must be a sequence of str")
        return {
            "max_attempts": self.max_attempts,
            "initial_backoff_ms": _whole_millis(self.initial_backoff),
            "max_backoff_ms": _whole_millis(self.max_backoff),
            "multiplier": self.multiplier,
            "jitter": self.jitter,
            "retry_on": list(self.retry_on),
        }


def _whole_millis(d: Union[timedelta, int, float]) -> int:
    """``d`` (a timedelta, or seconds) in whole milliseconds, rounded up (a
    negative one stays negative, for the engine to refuse)."""
    if isinstance(d, timedelta):
        micros = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
        return -((-micros) // 1000)
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        if d != d or d in (float("inf"), float("-inf")):
            raise _invalid(f"a backoff must be finite, got {d!r}")
        return -int((-d * 1000) // 1)
    raise TypeError("a backoff must be a number of seconds or a timedelta")


def _millis_or_none(ms: Optional[int]) -> Optional[timedelta]:
    return None if ms is None else timedelta(milliseconds=ms)


@dataclass(frozen=True, eq=True)
class Job:
    """A snapshot of a job: a plain value that never changes under you
    (every change makes a new snapshot).

    Timestamps are timezone-aware :class:`~datetime.datetime` objects in UTC,
    with microsecond precision. ``input``, ``result`` and the ``details``
    are JSON values (dicts, lists, str, int, float, bool or None).
    :meth:`to_dict` gives the native JSON shape (docs/c-api.md), the same as
    the C API's.

    ``is_batch`` is True for a batch's parent, whose status and
    ``progress.counts`` follow its children.

    ``created`` is set on the job :meth:`Engine.create` returns: True when
    it made the job, False when an idempotency key matched an existing one.
    It is None on every other snapshot and is not part of ``to_dict()``.
    """

    id: str
    account_id: str
    project_id: str
    kind: str
    status: Status
    created_at: datetime
    started_at: Optional[datetime]
    completed_at: Optional[datetime]
    source_id: Optional[str]
    correlation_id: Optional[str]
    idempotency_key: Optional[str]
    original_job_id: Optional[str]
    parent_id: Optional[str]
    attempt: int
    is_batch: bool
    input: JSON
    result: JSON
    error: Optional[JobError]
    progress: Progress
    history: List[HistoryEvent]
    revision: int
    #: Set by a claim; kept when the job ends (the last worker that held it).
    lease: Optional[Lease] = None
    #: Not claimable before this time (set at create, or by a retry).
    run_after: Optional[datetime] = None
    #: Running longer fails the job with error code "deadline_exceeded".
    run_timeout: Optional[timedelta] = None
    #: Pending this long after it became claimable, the job is cancelled
    #: with error code "expired".
    pending_ttl: Optional[timedelta] = None
    #: How the engine retries the job when it fails.
    retry: Optional[RetryPolicy] = None
    created: Optional[bool] = field(default=None, compare=False)
    # The JSON shape the job was read from: to_dict() returns a copy of it,
    # so that members newer than this package pass through unchanged.
    _data: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, d: Dict[str, Any], created: Optional[bool] = None) -> "Job":
        """The job whose native JSON shape is ``d`` (as :meth:`to_dict`
        gives it). ``d`` is copied."""
        return cls._from_native(copy.deepcopy(d), created)

    @classmethod
    def _from_native(cls, d: Dict[str, Any], created: Optional[bool] = None) -> "Job":
        """Like from_dict, taking ownership of ``d`` (a fresh dict from the
        engine)."""
        p = d.get("progress") or {}
        counts = p.get("counts")
        err = d.get("error")
        lease = d.get("lease")
        return cls(
            id=d["id"],
            account_id=d["account_id"],
            project_id=d["project_id"],
            kind=d["kind"],
            status=Status(d["status"]),
            created_at=_parse_time(d["created_at"]),  # type: ignore[arg-type]
            started_at=_parse_time(d.get("started_at")),
            completed_at=_parse_time(d.get("completed_at")),
            source_id=d.get("source_id"),
            correlation_id=d.get("correlation_id"),
            idempotency_key=d.get("idempotency_key"),
            original_job_id=d.get("original_job_id"),
            parent_id=d.get("parent_id"),
            attempt=d["attempt"],
            is_batch=bool(d.get("is_batch", False)),
            input=d.get("input"),
            result=d.get("result"),
            error=JobError(err["code"], err["message"]) if err else None,
            progress=Progress(
                percent=p.get("percent"),
                counts=ProgressCounts.from_dict(counts) if counts is not None else None,
                details=p.get("details"),
            ),
            history=[
                HistoryEvent(
                    step=e["step"],
                    timestamp=_parse_time(e["timestamp"]),  # type: ignore[arg-type]
                    duration_ms=e["duration_ms"],
                    status=Status(e["status"]),
                    details=e.get("details"),
                    epoch=e.get("epoch", 0),
                )
                for e in d.get("history", [])
            ],
            revision=d["revision"],
            lease=Lease(
                worker_id=lease["worker_id"],
                epoch=lease["epoch"],
                expires_at=_parse_time(lease["expires_at"]),  # type: ignore[arg-type]
                ttl=timedelta(milliseconds=lease["ttl_ms"]),
            )
            if lease
            else None,
            run_after=_parse_time(d.get("run_after")),
            run_timeout=_millis_or_none(d.get("run_timeout_ms")),
            pending_ttl=_millis_or_none(d.get("pending_ttl_ms")),
            retry=RetryPolicy.from_dict(d["retry"]) if d.get("retry") else None,
            created=created,
            _data=d,
        )

    def to_dict(self) -> Dict[str, Any]:
        """The native JSON shape of the job, as a new dict (every member
        present, in the documented order: docs/c-api.md)."""
        return copy.deepcopy(self._data)

    @property
    def ref(self) -> JobRef:
        """The job's (account_id, project_id, id)."""
        return JobRef(self.account_id, self.project_id, self.id)

    @property
    def is_terminal(self) -> bool:
        """True once the job has reached a terminal status."""
        return self.status.is_terminal

    @property
    def counts(self) -> Optional[ProgressCounts]:
        """``progress.counts``: on a batch's parent, its children's counters
        (``total``, ``pending``, ``running``, ``succeeded``,
        ``partially_succeeded``, ``failed``, ``cancelled``), kept up to date
        with every child's change. None when the job has none."""
        return self.progress.counts

    def __hash__(self) -> int:
        return hash((self.id, self.revision))

    def __repr__(self) -> str:
        return (
            f"Job(id={self.id!r}, account_id={self.account_id!r}, "
            f"project_id={self.project_id!r}, kind={self.kind!r}, "
            f"status={self.status.value!r}, revision={self.revision})"
        )


@dataclass(frozen=True)
class Heartbeat:
    """What :meth:`Engine.heartbeat` answers: the job after its lease was
    renewed, or, when ``cancelled``, as it was cancelled (nothing written:
    stop work)."""

    job: Job
    cancelled: bool


@dataclass(frozen=True)
class Page:
    """One page of :meth:`Engine.list` or :meth:`Engine.children`, newest
    job first.

    A page is a sequence of its jobs: ``for job in page``, ``len(page)``,
    ``page[0]`` (and an empty page is false). ``next_cursor`` leads to the
    next page.
    """

    jobs: List[Job]
    #: Pass as ``cursor=`` for the next page; None on the last page.
    next_cursor: Optional[str]

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    @overload
    def __getitem__(self, index: int) -> Job: ...

    @overload
    def __getitem__(self, index: slice) -> List[Job]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[Job, List[Job]]:
        return self.jobs[index]


@dataclass(frozen=True)
class BatchChild:
    """One child of a batch, for :meth:`Engine.create_batch` (which also
    takes plain dicts with these keys). The child shares its parent's
    account and project."""

    kind: str
    input: JSON = None
    source_id: Optional[str] = None
    correlation_id: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": self.kind,
            "input": self.input,
            "source_id": self.source_id,
            "correlation_id": self.correlation_id,
        }


@dataclass(frozen=True)
class Batch:
    """The answer of :meth:`Engine.create_batch`.

    Iterating a batch, and ``len(batch)``, go through its children's ids
    (``child_ids``).
    """

    #: The parent job (``is_batch`` True); its status and ``counts`` follow
    #: its children.
    parent: Job
    #: The children's ids, in the order they were given. Get a child with
    #: ``engine.get((parent.account_id, parent.project_id, child_id))``, or
    #: page through them with :meth:`Engine.children`.
    child_ids: List[str]
    #: False when the parent's idempotency key matched an existing batch,
    #: returned unchanged.
    created: bool

    def __iter__(self) -> Iterator[str]:
        return iter(self.child_ids)

    def __len__(self) -> int:
        return len(self.child_ids)


@dataclass(frozen=True)
class PurgeResult:
    """The answer of :meth:`Engine.purge` (a record, not a sequence)."""

    purged: int  #: Jobs removed (tombstones left).
    tombstones_expired: int  #: Old tombstones forgotten.
    more: bool  #: True when max_jobs stopped it early: call again.


@dataclass(frozen=True)
class Change:
    """One committed change, as the change feed reports it (a record, not a
    sequence)."""

    sequence: int  #: Global, gap-free, in commit order.
    at: datetime  #: Commit time (UTC).
    id: str
    account_id: str
    project_id: str
    status: Status  #: Status after the change.
    revision: int  #: Revision after the change.
    step: str  #: "created", "started", ..., "purged".

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Change":
        return cls(
            sequence=d["sequence"],
            at=_parse_time(d["at"]),  # type: ignore[arg-type]
            id=d["id"],
            account_id=d["account_id"],
            project_id=d["project_id"],
            status=Status(d["status"]),
            revision=d["revision"],
            step=d["step"],
        )


@dataclass(frozen=True)
class ChangeBatch:
    """A page of the change feed.

    A batch is a sequence of its changes: ``for change in batch``,
    ``len(batch)``, ``batch[0]`` (and an empty batch, such as a watch's
    bookmark, is false). ``last_sequence`` is where to resume.
    """

    changes: List[Change]
    #: Resume from here (pass it as ``after`` next time). On an empty batch
    #: from a watch it is a bookmark: the latest sequence committed.
    last_sequence: int

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> List[Change]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[Change, List[Change]]:
        return self.changes[index]

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ChangeBatch":
        return cls([Change.from_dict(c) for c in d["changes"]], d["last_sequence"])
