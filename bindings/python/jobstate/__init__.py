"""jobstate: durable job state for Python, with asyncio waits.

jobstate keeps the state of asynchronous jobs (pending, running, succeeded,
partially_succeeded, failed, cancelled), their progress, results, errors and
history, durably, in an LMDB database that threads and processes share. This
package binds the C++ engine (libjobstate)::

    import jobstate

    with jobstate.Engine("./jobs-db") as engine:
        job = engine.create("acme", "alpha", "parse", {"doc": 42})
        engine.start(job)
        engine.complete(job, {"pages": 12})
        assert engine.get(job).status is jobstate.Status.SUCCEEDED

Waiting, blocking or with asyncio::

    done = engine.wait(job, timeout=30)            # in a thread
    done = await engine.wait_async(job, timeout=30)  # in a coroutine

Workers claim jobs under a lease, renew it, and fence their writes with its
epoch (docs/workers.md)::

    job = engine.claim("parse", "worker-1", account_id="acme",
                       project_id="alpha", lease_ttl=30, wait=20)
    if job is not None:
        engine.heartbeat(job, job.lease.epoch, percent=50)
        engine.complete(job, {"pages": 12}, lease_epoch=job.lease.epoch)

Batches: a parent job whose status and counts follow its children::

    batch = engine.create_batch("acme", "alpha", "batch_parse",
                                [{"kind": "parse", "source_id": "doc-1"},
                                 jobstate.BatchChild("parse", source_id="doc-2")])
    for child in engine.iter_children(batch.parent, status="failed"):
        ...

Errors are :class:`Error` subclasses, one per engine error code
(:class:`NotFound`, :class:`IllegalTransition`, :class:`Conflict`, ...).
See docs/python.md.
"""

from ._errors import (
    AlreadyExists,
    AlreadyOpen,
    Conflict,
    Corrupt,
    EngineClosed,
    Error,
    ErrorCode,
    Expired,
    Gone,
    IllegalTransition,
    InvalidArgument,
    IoError,
    LeaseLost,
    NotFound,
    StorageFull,
    TooLarge,
    UnsupportedVersion,
    WaitTimeout,
    _make_error,
)
from . import _jobstate
from ._engine import Engine, JobLike, Timeout
from ._worker import JobsToRun, Work
from ._types import (
    Batch,
    BatchChild,
    Change,
    ChangeBatch,
    Durability,
    Heartbeat,
    HistoryEvent,
    Job,
    JobError,
    JobRef,
    Lease,
    RetryPolicy,
    Page,
    Progress,
    ProgressCounts,
    PurgeResult,
    Status,
)

_jobstate._set_error_factory(_make_error)

__version__ = "0.1.0"

__all__ = [
    "Engine",
    "Job",
    "JobRef",
    "JobLike",
    "JobError",
    "Progress",
    "ProgressCounts",
    "HistoryEvent",
    "Lease",
    "RetryPolicy",
    "JobsToRun",
    "Work",
    "Heartbeat",
    "Status",
    "Durability",
    "Page",
    "Batch",
    "BatchChild",
    "PurgeResult",
    "Change",
    "ChangeBatch",
    "Timeout",
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
