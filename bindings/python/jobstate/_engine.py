"""The Engine: an open job database."""

from __future__ import annotations

import asyncio
import atexit
import math
import os
import threading
import weakref
from datetime import datetime, timedelta
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    Iterator,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from . import _jobstate
from ._errors import WaitTimeout, _invalid
from ._worker import JobsToRun
from ._types import (
    JSON,
    Batch,
    BatchChild,
    ChangeBatch,
    Durability,
    Heartbeat,
    Job,
    JobError,
    JobRef,
    Page,
    ProgressCounts,
    PurgeResult,
    RetryPolicy,
    Status,
    _format_time,
)

__all__ = ["Engine", "JobLike", "Timeout"]

#: What names a job: a Job, a JobRef, an (account_id, project_id, id) tuple,
#: or a job id string together with account_id= and project_id=.
JobLike = Union[Job, JobRef, Tuple[str, str, str], str]
#: A duration: seconds (int or float) or a timedelta.
Timeout = Union[int, float, timedelta]

_T = TypeVar("_T")

# Engines still open, closed at interpreter exit: their threads must be gone
# before Python finalizes (a completion then could no longer take the GIL).
_open_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()
_open_engines_lock = threading.Lock()


@atexit.register
def _close_open_engines() -> None:
    """Runs at interpreter exit, before finalization, while daemon threads
    still run. First the native module parks, for good, every other thread
    that would enter it or come back to Python from the engine (CPython would
    end them inside it once finalization begins: src/module.cpp), then every
    engine is closed (its threads end)."""
    _jobstate._at_exit()
    with _open_engines_lock:
        engines = list(_open_engines)
    for engine in engines:
        engine.close()


def _seconds(value: Optional[Timeout], what: str) -> Optional[float]:
    """A duration in seconds (inf allowed); InvalidArgument when negative or
    NaN, TypeError when not a number or timedelta."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond the floats
            seconds = math.inf if value > 0 else -math.inf
    else:
        raise TypeError(f"{what} must be a number of seconds or a timedelta")
    if math.isnan(seconds) or seconds < 0:
        raise _invalid(f"{what} must be 0 or more seconds, got {value!r}")
    return seconds


def _timeout_ms(timeout: Optional[Timeout]) -> int:
    """None → wait forever (-1); else whole milliseconds, rounded up."""
    seconds = _seconds(timeout, "timeout")
    if seconds is None or math.isinf(seconds):
        return -1
    return min(math.ceil(seconds * 1000), 2**62)


def _millis(value: Timeout, what: str) -> int:
    """A finite duration in whole milliseconds, rounded up."""
    seconds = _seconds(value, what)
    if seconds is None or math.isinf(seconds):
        raise _invalid(f"{what} must be a finite number of seconds")
    return min(math.ceil(seconds * 1000), 2**62)


def _whole_seconds(value: Optional[Timeout], what: str) -> Optional[int]:
    seconds = _seconds(value, what)
    if seconds is None:
        return None
    if math.isinf(seconds):
        raise _invalid(f"{what} must be a finite number of seconds")
    return math.ceil(seconds)


def _enum_value(cls: Any, value: Any, what: str) -> str:
    """The wire name of a Status or Durability given as a member or its
    name; InvalidArgument for anything else."""
    try:
        return str(cls(value).value)
    except ValueError:
        names = ", ".join(m.value for m in cls)
        raise _invalid(f"{what} must be one of {names}; got {value!r}") from None


def _condition(
    statuses: Optional[Iterable[Union[Status, str]]], changed_after: Optional[int]
) -> Optional[Dict[str, Any]]:
    if statuses is not None and changed_after is not None:
        raise _invalid("give statuses or changed_after, not both")
    if statuses is not None:
        if isinstance(statuses, (str, Status)):
            statuses = [statuses]
        return {"status_in": [_enum_value(Status, s, "statuses") for s in statuses]}
    if changed_after is not None:
        return {"changed_after": changed_after}
    return None  # terminal


def _status_name(
    status: Union[Status, str, None], what: str = "status"
) -> Optional[str]:
    return None if status is None else _enum_value(Status, status, what)


_COUNT_NAMES = (
    "total",
    "succeeded",
    "failed",
    "cancelled",
    "pending",
    "running",
    "partially_succeeded",
)


def _progress_counts(
    counts: Union[ProgressCounts, Mapping[str, int]]
) -> Dict[str, int]:
    """The counters of a progress report. A ProgressCounts is taken as it
    is. A mapping may leave out ``pending`` or ``total``, derived from the
    others (``total = succeeded + failed + cancelled + pending``), and
    ``running`` and ``partially_succeeded`` (0); the engine then checks that
    they add up (InvalidArgument)."""
    if isinstance(counts, ProgressCounts):
        return counts.to_dict()
    if not isinstance(counts, Mapping):
        raise TypeError(
            "counts must be a ProgressCounts or a dict, got "
            f"{type(counts).__name__}"
        )
    given = dict(counts)
    unknown = [k for k in given if k not in _COUNT_NAMES]
    if unknown:
        raise _invalid(
            f"progress.counts has no member {unknown[0]!r} (its members: "
            f"{', '.join(_COUNT_NAMES)})"
        )
    for name, value in given.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _invalid(
                f"progress.counts.{name} must be an integer, 0 or more; "
                f"got {value!r}"
            )
    out = {name: given.get(name, 0) for name in _COUNT_NAMES}
    finished = out["succeeded"] + out["failed"] + out["cancelled"]
    if "pending" not in given:
        if "total" not in given:
            raise _invalid(
                "progress.counts needs total or pending (the other is "
                "derived: total = succeeded + failed + cancelled + pending)"
            )
        if finished > out["total"]:
            raise _invalid(
                f"progress.counts: succeeded + failed + cancelled is "
                f"{finished}, more than total {out['total']}"
            )
        out["pending"] = out["total"] - finished
    elif "total" not in given:
        out["total"] = finished + out["pending"]
    return out


def _create_request(
    account_id: str,
    project_id: str,
    kind: str,
    input: JSON,
    source_id: Optional[str],
    correlation_id: Optional[str],
    idempotency_key: Optional[str],
    details: JSON,
    schedule: "_Schedule",
) -> Dict[str, Any]:
    """The create request (also a batch's parent) as the engine reads it."""
    request = {
        "account_id": account_id,
        "project_id": project_id,
        "kind": kind,
        "input": input,
        "source_id": source_id,
        "correlation_id": correlation_id,
        "idempotency_key": idempotency_key,
        "details": details,
    }
    request.update(schedule.members())
    return request


class _Schedule(NamedTuple):
    """The scheduling arguments of create and create_batch."""

    run_after: Optional[datetime] = None
    run_timeout: Optional[Timeout] = None
    pending_ttl: Optional[Timeout] = None
    retry: Optional[RetryPolicy] = None

    def members(self) -> Dict[str, Any]:
        """The create request's members for those given."""
        out: Dict[str, Any] = {}
        if self.run_after is not None:
            if not isinstance(self.run_after, datetime):
                raise TypeError("run_after must be a datetime")
            out["run_after"] = _format_time(self.run_after)
        if self.run_timeout is not None:
            out["run_timeout_ms"] = _millis(self.run_timeout, "run_timeout")
        if self.pending_ttl is not None:
            out["pending_ttl_ms"] = _millis(self.pending_ttl, "pending_ttl")
        if self.retry is not None:
            out["retry"] = _retry_members(self.retry, "retry")
        return out


def _retry_members(policy: RetryPolicy, what: str) -> Dict[str, Any]:
    if not isinstance(policy, RetryPolicy):
        raise TypeError(f"{what} must be a RetryPolicy")
    return policy.to_dict()


def _every_page(fetch: Callable[[Optional[str]], Page]) -> Iterator[Job]:
    """The jobs of every page that fetch(cursor) gives, from the first."""
    cursor: Optional[str] = None
    while True:
        page = fetch(cursor)
        yield from page.jobs
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


class Engine:
    """An open job database.

    ``Engine(path, ...)`` opens (creating when missing) the database in
    directory *path*. Use it as a context manager, or call :meth:`close`::

        with jobstate.Engine("/var/lib/myapp/jobs") as engine:
            job = engine.create("acme", "alpha", "parse", {"doc": 42})
            engine.start(job)
            engine.complete(job, {"pages": 12})

    Thread-safe: share one Engine between threads (open a database once per
    process). Every call releases the GIL while the engine works, so
    concurrent changes from several threads are committed together (group
    commit). A change returns only once it is durable under *durability*;
    on error nothing was written and a :class:`jobstate.Error` subclass is
    raised.

    Jobs are named by account, project and id: each method that acts on a
    job takes a :class:`Job`, a :class:`JobRef`, an ``(account_id,
    project_id, id)`` tuple, or an id string with ``account_id=`` and
    ``project_id=`` keywords.

    Arguments: every invalid value raises :class:`InvalidArgument` (also a
    ``ValueError``) before anything is written: a status or durability name
    that does not exist, a negative or NaN duration, a negative count, a str
    that UTF-8 cannot encode (a lone surrogate; the message says where),
    counters that do not add up. An argument of the wrong type raises
    ``TypeError``.

    Waiting costs no thread: :meth:`wait` blocks the calling thread (without
    the GIL); ``await`` :meth:`wait_async` suspends a coroutine until the
    engine's commit of the awaited change resolves it (no polling, no thread
    per waiter). Cancelling the awaiting task cancels the engine wait.

    Args:
        path: the database directory (a str may hold undecodable bytes as
            ``os.fsdecode`` gives them: it is encoded with ``os.fsencode``).
        durability: a :class:`Durability` (default FULL: fsync each commit).
        map_size: initial size of the memory map, in bytes.
        max_map_size: the map grows up to this; beyond, StorageFull.
        tombstone_retention: how long a purged job answers Gone (seconds or
            timedelta).
        feed_retention_count: most changes the change feed keeps.
        feed_retention_age: oldest change the feed keeps (seconds or
            timedelta).
        cross_process_notifications: wake waiters here when another process
            commits (default True).
        max_readers: concurrent readers across processes.
        max_batch: most changes committed in one transaction.
        write_map: write through a writable memory map (default True; the
            file then takes ``map_size`` of disk at once, reserved).
        limits: size limits, any of ``max_id_size``, ``max_kind_size``,
            ``max_json_size``, ``max_text_size``, ``max_history``,
            ``max_page_size``, ``max_batch_children``.
        default_retry: the :class:`RetryPolicy` of a job created without
            one (batch children never get one); default: none.

    Raises:
        InvalidArgument: bad options.
        UnsupportedVersion, Corrupt, IoError: the database cannot be opened.
        AlreadyOpen: another Engine of this process has the database open
            (one Engine per database per process: share it, or close it
            first).
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        durability: Union[Durability, str] = Durability.FULL,
        map_size: Optional[int] = None,
        max_map_size: Optional[int] = None,
        tombstone_retention: Optional[Timeout] = None,
        feed_retention_count: Optional[int] = None,
        feed_retention_age: Optional[Timeout] = None,
        cross_process_notifications: Optional[bool] = None,
        max_readers: Optional[int] = None,
        max_batch: Optional[int] = None,
        write_map: Optional[bool] = None,
        limits: Optional[Mapping[str, int]] = None,
        default_retry: Optional[RetryPolicy] = None,
    ) -> None:
        self._path = os.fspath(path)
        options: Dict[str, Any] = {
            "durability": _enum_value(Durability, durability, "durability")
        }
        for key, value in (
            ("map_size", map_size),
            ("max_map_size", max_map_size),
            (
                "tombstone_retention_seconds",
                _whole_seconds(tombstone_retention, "tombstone_retention"),
            ),
            ("feed_retention_count", feed_retention_count),
            (
                "feed_retention_age_seconds",
                _whole_seconds(feed_retention_age, "feed_retention_age"),
            ),
            ("cross_process_notifications", cross_process_notifications),
            ("max_readers", max_readers),
            ("max_batch", max_batch),
            ("write_map", write_map),
            ("limits", dict(limits) if limits is not None else None),
            (
                "default_retry",
                _retry_members(default_retry, "default_retry")
                if default_retry is not None
                else None,
            ),
        ):
            if value is not None:
                options[key] = value
        native_path = os.fsencode(self._path)
        if b"\0" in native_path:
            raise _invalid("path contains a NUL character")
        self._native = _jobstate.Engine(native_path, options)
        with _open_engines_lock:
            _open_engines.add(self)

    # ------------------------------------------------------------ lifetime

    @property
    def path(self) -> str:
        """The database directory."""
        return self._path

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return bool(self._native.closed)

    def close(self) -> None:
        """Closes the database. Calls in progress in other threads finish
        first; blocked waits raise EngineClosed, pending :meth:`wait_async`
        awaits raise EngineClosed; later calls raise EngineClosed. Changes
        already acknowledged are durable. Idempotent."""
        self._native.close()
        with _open_engines_lock:
            _open_engines.discard(self)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<jobstate.Engine {self._path!r} ({state})>"

    # ----------------------------------------------------------------- jobs

    @staticmethod
    def _ref(
        job: JobLike, account_id: Optional[str], project_id: Optional[str]
    ) -> Tuple[str, str, str]:
        if isinstance(job, str):
            if account_id is None or project_id is None:
                raise TypeError(
                    "a job id string needs account_id= and project_id="
                )
            return account_id, project_id, job
        if account_id is not None or project_id is not None:
            raise TypeError("account_id= and project_id= go with a job id string only")
        if isinstance(job, Job):
            return job.account_id, job.project_id, job.id
        if isinstance(job, tuple) and len(job) == 3:
            return str(job[0]), str(job[1]), str(job[2])
        raise TypeError(
            "expected a Job, a JobRef, an (account_id, project_id, id) tuple "
            f"or a job id string, got {type(job).__name__}"
        )

    @staticmethod
    def _options(
        expected_revision: Optional[int],
        details: JSON,
        with_history: bool,
        lease_epoch: Optional[int] = None,
    ) -> Optional[Dict[str, Any]]:
        if (
            expected_revision is None
            and details is None
            and with_history
            and lease_epoch is None
        ):
            return None
        return {
            "expected_revision": expected_revision,
            "lease_epoch": lease_epoch,
            "details": details,
            "with_history": with_history,
        }

    def create(
        self,
        account_id: str,
        project_id: str,
        kind: str,
        input: JSON = None,
        *,
        source_id: Optional[str] = None,
        correlation_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        details: JSON = None,
        run_after: Optional[datetime] = None,
        run_timeout: Optional[Timeout] = None,
        pending_ttl: Optional[Timeout] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> Job:
        """Creates a pending job and returns it.

        *input* (any JSON value) is kept so that :meth:`rerun` can reproduce
        the job. With an *idempotency_key* already used in this project, the
        job first created with it is returned unchanged (``job.created`` is
        then False). *details* are recorded on the "created" history event.

        Scheduling and time limits (docs/workers.md): the job is not
        claimable before *run_after* (a datetime); running longer than
        *run_timeout* (seconds or timedelta) fails it with error code
        "deadline_exceeded"; still pending *pending_ttl* after it became
        claimable cancels it with code "expired". *retry* (a
        :class:`RetryPolicy`; default: the engine's ``default_retry``)
        makes the engine rerun it when it fails.

        Raises:
            InvalidArgument, TooLarge: bad or oversized values.
            AlreadyExists: the key was used for a different kind or input.
            Gone: the key's job was purged.
            StorageFull, EngineClosed.
        """
        data, created = self._native.create(
            _create_request(
                account_id, project_id, kind, input, source_id,
                correlation_id, idempotency_key, details,
                _Schedule(run_after, run_timeout, pending_ttl, retry),
            )
        )
        return Job._from_native(data, created=created)

    def create_batch(
        self,
        account_id: str,
        project_id: str,
        kind: str,
        children: Sequence[Union[BatchChild, Mapping[str, Any]]],
        input: JSON = None,
        *,
        source_id: Optional[str] = None,
        correlation_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        details: JSON = None,
    ) -> Batch:
        """Creates a batch: a pending parent job and its pending children,
        in one commit, and returns ``Batch(parent, child_ids, created)``.

        *children* are :class:`BatchChild` values or dicts with ``kind``
        (required), ``input``, ``source_id`` and ``correlation_id``; each
        becomes an ordinary job of this account and project whose
        ``parent_id`` is the parent's id (start, complete, cancel, wait on
        each of them). The parent (``is_batch`` True) follows its children:
        its ``counts`` move with every child's change, it becomes RUNNING
        when the first child starts and terminal when the last one finishes
        (docs/batches.md); it cannot be started or completed by hand.
        Cancelling it cancels the unfinished children; rerunning it makes a
        new batch of the children that did not succeed. The other arguments
        are the parent's, as in :meth:`create`; with an *idempotency_key*
        already used, the existing batch is returned (``created`` False).

        Raises:
            InvalidArgument: no children, a malformed child (the message
                names it, e.g. ``children[3]``).
            TooLarge: more children than ``limits["max_batch_children"]``
                (default 100,000), or an oversized value.
            AlreadyExists, Gone, StorageFull, EngineClosed: as :meth:`create`.
        """
        if isinstance(children, (str, bytes, Mapping)):
            raise TypeError("children must be a sequence of BatchChild or dicts")
        items = []
        for child in children:
            if isinstance(child, BatchChild):
                items.append(child.to_dict())
            elif isinstance(child, Mapping):
                items.append(dict(child))
            else:
                raise TypeError(
                    "a child must be a BatchChild or a dict, got "
                    f"{type(child).__name__}"
                )
        request = _create_request(
            account_id, project_id, kind, input, source_id, correlation_id,
            idempotency_key, details, _Schedule(),
        )
        request["children"] = items
        data, child_ids, created = self._native.create_batch(request)
        return Batch(Job._from_native(data, created=created), child_ids, created)

    def children(
        self,
        parent: JobLike,
        *,
        status: Union[Status, str, None] = None,
        limit: int = 50,
        cursor: Optional[str] = None,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Page:
        """One page of a batch's children, newest first; with *status*, only
        those with that status (read through their own index). Pass
        ``page.next_cursor`` as *cursor* for the next page. A batch of any
        size is read a page at a time. See also :meth:`iter_children`.

        Raises:
            NotFound, Gone: no such parent (or it was purged).
            InvalidArgument: the parent is not a batch; a bad cursor, limit
                (1 to max_page_size) or id.
        """
        page = self._native.list_children(
            *self._ref(parent, account_id, project_id),
            {"status": _status_name(status), "limit": limit, "cursor": cursor},
        )
        return Page([Job._from_native(j) for j in page["jobs"]], page["next_cursor"])

    def iter_children(
        self,
        parent: JobLike,
        *,
        status: Union[Status, str, None] = None,
        page_size: int = 100,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Iterator[Job]:
        """Every child of a batch (with *status*, those with that status),
        newest first, read a page at a time (see :meth:`children`)."""
        ref = self._ref(parent, account_id, project_id)
        status = _status_name(status)  # checked now, not at the first next()
        return _every_page(
            lambda cursor: self.children(
                ref, status=status, limit=page_size, cursor=cursor
            )
        )

    def get(
        self,
        job: JobLike,
        *,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """The current snapshot of a job.

        Raises:
            NotFound: no such job in this account and project.
            Gone: the job was purged.
            InvalidArgument: a malformed id.
        """
        return Job._from_native(self._native.get(*self._ref(job, account_id, project_id)))

    def start(
        self,
        job: JobLike,
        *,
        expected_revision: Optional[int] = None,
        details: JSON = None,
        with_history: bool = True,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """pending → running. Returns the new snapshot.

        With *expected_revision*, fails with Conflict unless the job's
        revision is exactly that (compare-and-set). *details* are recorded on
        the history event. With ``with_history=False`` the snapshot comes
        back without its history (``history`` empty), so the write costs
        the same however long the history is; every mutation takes it.

        Raises:
            IllegalTransition: the job is not pending (``current_status``
                says what it is).
            Conflict, NotFound, Gone, StorageFull, EngineClosed.
        """
        return Job._from_native(
            self._native.start(
                *self._ref(job, account_id, project_id),
                self._options(expected_revision, details, with_history),
            )
        )

    def report_progress(
        self,
        job: JobLike,
        percent: Optional[Union[int, float]] = None,
        *,
        counts: Optional[Union[ProgressCounts, Mapping[str, int]]] = None,
        progress_details: JSON = None,
        expected_revision: Optional[int] = None,
        details: JSON = None,
        with_history: bool = True,
        lease_epoch: Optional[int] = None,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """Records the progress of a running job, replacing the previous.

        *percent* is 0 to 100; *progress_details* any JSON kept with the
        progress. *details* go on the history event.

        *counts* count the job's parts, each once: ``total = succeeded +
        failed + cancelled + pending`` (``pending``: not finished yet,
        including ``running``; ``succeeded`` includes
        ``partially_succeeded``). A :class:`ProgressCounts` is taken as it
        is; a dict may leave out ``pending`` or ``total``, which is derived
        from the others (``{"total": 5, "succeeded": 2}`` has 3 pending),
        and ``running`` and ``partially_succeeded`` (0). Counters that do not
        add up are refused.

        *lease_epoch* (here and on every write of a job) is a worker's
        fence: the epoch of the lease :meth:`claim` gave. With it the write
        fails with LeaseLost, changing nothing, unless the job still runs
        under that lease.

        Raises:
            IllegalTransition: the job is not running.
            LeaseLost: *lease_epoch* given, and the lease is lost.
            InvalidArgument: percent outside 0..100; counters that do not
                add up (or neither total nor pending), unknown or negative.
            TooLarge, Conflict, NotFound, Gone, StorageFull, EngineClosed.
        """
        progress = {
            "percent": percent,
            "counts": None if counts is None else _progress_counts(counts),
            "details": progress_details,
        }
        return Job._from_native(
            self._native.report_progress(
                *self._ref(job, account_id, project_id),
                progress,
                self._options(expected_revision, details, with_history, lease_epoch),
            )
        )

    def complete(
        self,
        job: JobLike,
        result: JSON = None,
        *,
        status: Union[Status, str] = Status.SUCCEEDED,
        error: Optional[Union[JobError, Tuple[str, str], Mapping[str, str]]] = None,
        expected_revision: Optional[int] = None,
        details: JSON = None,
        with_history: bool = True,
        lease_epoch: Optional[int] = None,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """running → succeeded (the default), partially_succeeded or failed.

        *result* (any JSON) is stored as the job's result. *error* (a
        :class:`JobError`, a ``(code, message)`` tuple or a dict) is required
        when *status* is FAILED; see also :meth:`fail`.

        Raises:
            IllegalTransition: the job is not running (e.g. it was cancelled
                meanwhile: ``current_status`` is CANCELLED).
            LeaseLost: *lease_epoch* given, and the lease is lost (see
                :meth:`report_progress`).
            InvalidArgument, TooLarge, Conflict, NotFound, Gone,
            StorageFull, EngineClosed.
        """
        err: Optional[Dict[str, str]]
        if error is None:
            err = None
        elif isinstance(error, JobError):
            err = error.to_dict()
        elif isinstance(error, tuple):
            if len(error) != 2:
                raise _invalid(
                    f"error must be a (code, message) pair; got {len(error)} items"
                )
            err = {"code": error[0], "message": error[1]}
        else:
            err = dict(error)
        completion = {"status": _status_name(status), "result": result, "error": err}
        return Job._from_native(
            self._native.complete(
                *self._ref(job, account_id, project_id),
                completion,
                self._options(expected_revision, details, with_history, lease_epoch),
            )
        )

    def fail(
        self,
        job: JobLike,
        code: str,
        message: str,
        *,
        result: JSON = None,
        expected_revision: Optional[int] = None,
        details: JSON = None,
        with_history: bool = True,
        lease_epoch: Optional[int] = None,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """running → failed, with an error code and message. Shorthand for
        ``complete(job, result, status=Status.FAILED, error=(code,
        message))``."""
        return self.complete(
            job,
            result,
            status=Status.FAILED,
            error=(code, message),
            expected_revision=expected_revision,
            details=details,
            with_history=with_history,
            lease_epoch=lease_epoch,
            account_id=account_id,
            project_id=project_id,
        )

    def cancel(
        self,
        job: JobLike,
        reason: str = "",
        *,
        expected_revision: Optional[int] = None,
        details: JSON = None,
        with_history: bool = True,
        lease_epoch: Optional[int] = None,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """pending or running → cancelled; *reason* becomes the job's error
        message (code "cancelled"). A worker learns of it by waiting with
        ``changed_after=job.revision``. Cancelling a batch's parent cancels,
        in the same commit, every child that has not finished.

        Raises:
            IllegalTransition: the job is terminal already.
            LeaseLost: *lease_epoch* given, and the lease is lost.
            TooLarge, Conflict, NotFound, Gone, StorageFull, EngineClosed.
        """
        return Job._from_native(
            self._native.cancel(
                *self._ref(job, account_id, project_id),
                reason,
                self._options(expected_revision, details, with_history, lease_epoch),
            )
        )

    def rerun(
        self,
        job: JobLike,
        *,
        correlation_id: Optional[str] = None,
        details: JSON = None,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """Creates a new pending job from a terminal one: same account,
        project, kind, input and source; ``original_job_id`` is the original's
        id and ``attempt`` one more. The original is untouched. Rerunning a
        batch's parent makes a new batch of the children that did not
        succeed (all of them when every one did), each with its own
        ``original_job_id``.

        Raises:
            IllegalTransition: the job is not terminal.
            NotFound, Gone, StorageFull, EngineClosed.
        """
        options = None
        if correlation_id is not None or details is not None:
            options = {"correlation_id": correlation_id, "details": details}
        return Job._from_native(
            self._native.rerun(*self._ref(job, account_id, project_id), options)
        )

    # -------------------------------------------------------------- workers

    @staticmethod
    def _claim_request(
        kinds: Union[str, Sequence[str]],
        worker_id: str,
        account_id: str,
        project_id: str,
        lease_ttl: Timeout,
        wait: Optional[Timeout],
        details: JSON,
        with_history: bool,
    ) -> Dict[str, Any]:
        return {
            "account_id": account_id,
            "project_id": project_id,
            "kinds": [kinds] if isinstance(kinds, str) else list(kinds),
            "worker_id": worker_id,
            "lease_ttl_ms": _millis(lease_ttl, "lease_ttl"),
            "wait_ms": 0 if wait is None else _millis(wait, "wait"),
            "details": details,
            "with_history": with_history,
        }

    def claim(
        self,
        kinds: Union[str, Sequence[str]],
        worker_id: str,
        *,
        account_id: str,
        project_id: str,
        lease_ttl: Timeout = 30,
        wait: Optional[Timeout] = None,
        details: JSON = None,
        with_history: bool = True,
    ) -> Optional[Job]:
        """Takes the pending job of one of *kinds* in the project that
        became claimable first (at creation, or at its ``run_after``; then
        the oldest) and moves it to running under a lease for *worker_id*
        (docs/workers.md); None when there is none. With *wait* (seconds, up
        to a day), waits that long for a job to become claimable first,
        without polling.

        The job's ``lease`` holds the ``epoch`` to pass as ``lease_epoch=``
        on every later write of it; renew the lease with :meth:`heartbeat`
        within *lease_ttl*, or the job fails with error code
        ``"lease_expired"``.

        Raises:
            InvalidArgument: no kinds, an empty worker_id, a lease_ttl or
                wait out of range.
            TooLarge, StorageFull, EngineClosed.
        """
        data = self._native.claim(
            self._claim_request(
                kinds, worker_id, account_id, project_id, lease_ttl, wait,
                details, with_history,
            )
        )
        return None if data is None else Job._from_native(data)

    async def claim_async(
        self,
        kinds: Union[str, Sequence[str]],
        worker_id: str,
        *,
        account_id: str,
        project_id: str,
        lease_ttl: Timeout = 30,
        wait: Optional[Timeout] = None,
        details: JSON = None,
        with_history: bool = True,
    ) -> Optional[Job]:
        """:meth:`claim` for asyncio, waiting on the event loop without a
        thread. Cancelling the awaiting task ends the wait; a claim that was
        already committing then still takes its job, whose lease will lapse
        unless someone heartbeats it."""
        request = self._claim_request(
            kinds, worker_id, account_id, project_id, lease_ttl, wait, details,
            with_history,
        )
        data = await _await_native(
            lambda loop, settle: self._native.claim_async(request, loop, settle)
        )
        return None if data is None else Job._from_native(data)

    def jobs_to_run(
        self,
        kinds: Union[str, Sequence[str]],
        worker_id: str,
        *,
        account_id: str,
        project_id: str,
        lease_ttl: Timeout = 30,
        heartbeat_every: Optional[Timeout] = None,
        wait: Timeout = 60,
    ) -> JobsToRun:
        """An asyncio worker loop: claims the jobs of *kinds* one after
        another (waiting for work on the event loop, without a thread or
        polling) and hands each to the body as a :class:`Work`, whose lease
        is renewed in the background every *heartbeat_every* seconds
        (default: a third of *lease_ttl*) until the body finishes it::

            async with engine.jobs_to_run("parse", "worker-1",
                                          account_id="acme",
                                          project_id="alpha") as jobs:
                async for work in jobs:
                    pages = await parse(work.job.input)
                    await work.complete({"pages": pages})

        *wait* must be more than 0 (each claim would answer at once, and the
        loop spin). A job always ends: when the body raises, the ``async
        with`` fails the job in hand with error code ``"worker_error"`` (and
        the exception as its message) before the exception goes on; a body that
        goes on to the next job without finishing this one fails it with
        ``"not_finished"``; a loop abandoned without ``async with`` fails its
        job at the next heartbeat. ``work.cancelled`` is set when the job
        was cancelled or its lease lost: stop work. *wait* bounds each
        claim's long-poll (it then claims again); end the loop by leaving it
        (``break``) or by cancelling its task.
        """
        ttl = _millis(lease_ttl, "lease_ttl") / 1000
        every = (
            ttl / 3
            if heartbeat_every is None
            else _millis(heartbeat_every, "heartbeat_every") / 1000
        )
        if every <= 0 or every >= ttl:
            raise _invalid("heartbeat_every must be more than 0 and less than lease_ttl")
        if _millis(wait, "wait") <= 0:
            # Each claim would answer at once: the loop would spin.
            raise _invalid("wait must be more than 0 seconds")
        return JobsToRun(
            self,
            kinds,
            worker_id,
            account_id=account_id,
            project_id=project_id,
            lease_ttl=ttl,
            heartbeat_every=every,
            wait=_millis(wait, "wait") / 1000,
        )

    def heartbeat(
        self,
        job: JobLike,
        lease_epoch: int,
        percent: Optional[Union[int, float]] = None,
        *,
        counts: Optional[Union[ProgressCounts, Mapping[str, int]]] = None,
        progress_details: JSON = None,
        details: JSON = None,
        with_history: bool = True,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Heartbeat:
        """Renews the lease of epoch *lease_epoch* for its ttl from now.
        With *percent*, *counts* or *progress_details* it also records
        progress (as :meth:`report_progress` does, in the same write; then
        *details* go on the progress event); without, no history event is
        added. ``cancelled`` in the answer says the job was cancelled while
        this lease held it: nothing was written; stop work.

        Raises:
            LeaseLost: the lease lapsed, or the job ended or is not under
                this epoch (``current_status`` says what it is).
            InvalidArgument, TooLarge, Conflict, NotFound, Gone,
            StorageFull, EngineClosed.
        """
        progress: Optional[Dict[str, Any]] = None
        if percent is not None or counts is not None or progress_details is not None:
            progress = {
                "percent": percent,
                "counts": None if counts is None else _progress_counts(counts),
                "details": progress_details,
            }
        data, cancelled = self._native.heartbeat(
            *self._ref(job, account_id, project_id),
            progress,
            self._options(None, details, with_history, lease_epoch),
        )
        return Heartbeat(Job._from_native(data), bool(cancelled))

    def expire_leases(self) -> int:
        """Ends every job that ran out of time, as the engine does by
        itself on its timers: a lapsed lease fails its job
        (``"lease_expired"``), a passed run_timeout too
        (``"deadline_exceeded"``), a passed pending_ttl cancels it
        (``"expired"``). Returns how many it ended. For tools and tests."""
        return int(self._native.expire_leases())

    def list(
        self,
        account_id: str,
        project_id: str,
        *,
        status: Union[Status, str, None] = None,
        kind: Optional[str] = None,
        parent_id: Optional[str] = None,
        original_job_id: Optional[str] = None,
        limit: int = 50,
        cursor: Optional[str] = None,
        with_history: bool = True,
    ) -> Page:
        """One page of a project's jobs, newest first, filtered (filters
        combine with AND). Pass ``page.next_cursor`` as *cursor* for the next
        page; pages never repeat or skip a job. See also :meth:`iter_jobs`.
        With ``with_history=False`` each job's ``history`` is empty: no
        history event is decoded (the record's checksum is still checked).

        Raises:
            InvalidArgument: a bad cursor, limit (1 to max_page_size) or id.
        """
        page = self._native.list(
            {
                "account_id": account_id,
                "project_id": project_id,
                "status": _status_name(status),
                "kind": kind,
                "parent_id": parent_id,
                "original_job_id": original_job_id,
                "limit": limit,
                "cursor": cursor,
                "with_history": with_history,
            }
        )
        return Page([Job._from_native(j) for j in page["jobs"]], page["next_cursor"])

    def iter_jobs(
        self,
        account_id: str,
        project_id: str,
        *,
        status: Union[Status, str, None] = None,
        kind: Optional[str] = None,
        parent_id: Optional[str] = None,
        original_job_id: Optional[str] = None,
        page_size: int = 100,
    ) -> Iterator[Job]:
        """Every job of a project matching the filters, newest first, read a
        page at a time (see :meth:`list`)."""
        status = _status_name(status)  # checked now, not at the first next()
        return _every_page(
            lambda cursor: self.list(
                account_id,
                project_id,
                status=status,
                kind=kind,
                parent_id=parent_id,
                original_job_id=original_job_id,
                limit=page_size,
                cursor=cursor,
            )
        )

    def purge(self, older_than: Timeout = 0, *, max_jobs: int = 10000) -> PurgeResult:
        """Removes terminal jobs completed more than *older_than* ago
        (seconds or timedelta), leaving tombstones (a purged job answers
        Gone), and forgets tombstones older than the retention. At most
        *max_jobs* per call: call again while ``result.more``."""
        r = self._native.purge(
            {
                "older_than_seconds": _whole_seconds(older_than, "older_than"),
                "max_jobs": max_jobs,
            }
        )
        return PurgeResult(r["purged"], r["tombstones_expired"], r["more"])

    # ---------------------------------------------------------------- waits

    def wait(
        self,
        job: JobLike,
        timeout: Optional[Timeout] = None,
        *,
        statuses: Optional[Iterable[Union[Status, str]]] = None,
        changed_after: Optional[int] = None,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """Blocks until the job is terminal (or, with *statuses*, has one of
        them; or, with *changed_after*, its revision exceeds that one) and
        returns the job. Returns at once when the condition already holds.

        *timeout*: seconds or a timedelta; None (the default) waits forever,
        0 checks once. The GIL is released while waiting; Ctrl-C interrupts
        the wait (KeyboardInterrupt). A batch's parent changes with each of
        its children, so ``changed_after=parent.revision`` follows a batch.

        Raises:
            WaitTimeout: the timeout passed first (``.job`` is the latest
                snapshot).
            NotFound, Gone (also when purged during the wait), EngineClosed
            (also when the engine closes during the wait), InvalidArgument.
        """
        data, timed_out = self._native.wait(
            *self._ref(job, account_id, project_id),
            _condition(statuses, changed_after),
            _timeout_ms(timeout),
        )
        result = Job._from_native(data)
        if timed_out:
            raise WaitTimeout(result)
        return result

    async def wait_async(
        self,
        job: JobLike,
        timeout: Optional[Timeout] = None,
        *,
        statuses: Optional[Iterable[Union[Status, str]]] = None,
        changed_after: Optional[int] = None,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Job:
        """:meth:`wait` for asyncio: ``job = await engine.wait_async(job)``.

        The wait is registered with the engine, which resolves it from its
        own thread through ``loop.call_soon_threadsafe`` when the change
        commits: no polling, no thread per waiter, so thousands may be
        pending at once. Cancelling the awaiting task (e.g. through
        ``asyncio.wait_for`` or ``asyncio.timeout``) cancels the engine wait.

        Raises:
            WaitTimeout, NotFound, Gone, EngineClosed, InvalidArgument: as
            :meth:`wait`.
        """
        ref = self._ref(job, account_id, project_id)
        condition = _condition(statuses, changed_after)
        timeout_ms = _timeout_ms(timeout)
        data, timed_out = await _await_native(
            lambda loop, settle: self._native.wait_async(
                *ref, condition, timeout_ms, loop, settle
            )
        )
        result = Job._from_native(data)
        if timed_out:
            raise WaitTimeout(result)
        return result

    # ---------------------------------------------------------- change feed

    def changes(self, after: int = 0, limit: int = 1000) -> ChangeBatch:
        """Up to *limit* changes with sequence > *after*, in commit order.

        Raises:
            Expired: the feed no longer holds sequence after + 1 (list the
                jobs again, then resume from :meth:`last_sequence`).
            InvalidArgument: *after* beyond the latest sequence, *limit* 0.
        """
        return ChangeBatch.from_dict(self._native.changes(after, limit))

    @staticmethod
    def _watch_request(
        after: int,
        limit: int,
        account_id: Optional[str],
        project_id: Optional[str],
        bookmark_after: Optional[Timeout],
    ) -> Dict[str, Any]:
        return {
            "after": after,
            "limit": limit,
            "account_id": account_id,
            "project_id": project_id,
            "bookmark_after_ms": _timeout_ms(bookmark_after),
        }

    def watch(
        self,
        after: int = 0,
        *,
        limit: int = 1000,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
        bookmark_after: Optional[Timeout] = 30.0,
    ) -> ChangeBatch:
        """Blocks until changes with sequence > *after* commit (of
        *account_id* / *project_id* when given), and returns up to *limit* of
        them; or, when none came for *bookmark_after* seconds, an empty batch
        whose ``last_sequence`` is the latest sequence (resume from it).

        Raises:
            Expired, InvalidArgument, EngineClosed: as :meth:`changes`.
        """
        return ChangeBatch.from_dict(
            self._native.watch(
                self._watch_request(after, limit, account_id, project_id, bookmark_after)
            )
        )

    async def watch_async(
        self,
        after: int = 0,
        *,
        limit: int = 1000,
        account_id: Optional[str] = None,
        project_id: Optional[str] = None,
        bookmark_after: Optional[Timeout] = 30.0,
    ) -> ChangeBatch:
        """:meth:`watch` for asyncio, like :meth:`wait_async`."""
        request = self._watch_request(after, limit, account_id, project_id, bookmark_after)
        return ChangeBatch.from_dict(
            await _await_native(
                lambda loop, settle: self._native.watch_async(request, loop, settle)
            )
        )

    def last_sequence(self) -> int:
        """The latest sequence committed to the change feed (0 before any)."""
        return int(self._native.last_sequence())


async def _await_native(
    start: Callable[[asyncio.AbstractEventLoop, Callable[[Any], None]], Any]
) -> Any:
    """Starts a native asynchronous operation and awaits its outcome.

    The engine hands the outcome to ``settle`` on this loop (through
    call_soon_threadsafe, from its own thread); cancelling the awaiting task
    cancels the native operation, whose outcome is then ignored.
    """
    loop = asyncio.get_running_loop()
    future: "asyncio.Future[Any]" = loop.create_future()

    def settle(outcome: Any) -> None:
        if future.done():  # cancelled meanwhile
            return
        try:
            value = outcome.result()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiter
            future.set_exception(exc)
        else:
            future.set_result(value)

    handle = start(loop, settle)
    try:
        return await future
    except asyncio.CancelledError:
        handle.cancel()
        raise
