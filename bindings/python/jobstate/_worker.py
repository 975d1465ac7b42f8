"""The asyncio worker loop: Engine.jobs_to_run (docs/python.md, Workers).

It claims a job (waiting on the event loop, without a thread or polling),
hands it to the loop's body as a :class:`Work`, renews its lease in the
background while the body runs, and makes sure the job ends: a body that
finishes it says how; one that raises, or goes on without finishing it,
fails it, so that no job is left running until its lease lapses.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from ._errors import EngineClosed, Error, IllegalTransition, LeaseLost
from ._types import JSON, Job, ProgressCounts, Status

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["JobsToRun", "Work"]

#: The error code of a job whose worker's body raised.
WORKER_ERROR = "worker_error"
#: The error code of a job the body went on from without finishing it.
NOT_FINISHED = "not_finished"
_WENT_ON = "the worker went on to its next job without finishing this one"
_ENDED = "the worker's loop ended without finishing the job"


class Work:
    """One claimed job, as :meth:`Engine.jobs_to_run` hands it to the body
    of the loop. Finish it with :meth:`complete` or :meth:`fail`; report
    progress with :meth:`progress`. Every write is fenced by the lease's
    epoch and runs on the event loop's default executor, so the loop is
    never blocked by a commit.

    ``cancelled`` is set when a heartbeat learns that the job was cancelled,
    or that the lease was lost (``lease_lost`` is then True): stop work; the
    job's outcome is no longer this worker's to write.
    """

    def __init__(self, engine: "Engine", job: Job) -> None:
        self.job = job
        self.cancelled = asyncio.Event()
        self.lease_lost = False
        self._engine = engine
        self._epoch = job.lease.epoch if job.lease else 0
        self._finished = False
        # A complete or fail under way: a heartbeat that loses to it says
        # nothing of the lease.
        self._finishing = False

    @property
    def finished(self) -> bool:
        """True once the job was completed or failed through this object,
        or found cancelled or lost: nothing is left for the loop to do."""
        return self._finished

    async def progress(
        self,
        percent: Optional[Union[int, float]] = None,
        *,
        counts: Optional[ProgressCounts] = None,
        details: JSON = None,
    ) -> None:
        """Records progress and renews the lease, in one write. Sets
        ``cancelled`` when the job was cancelled meanwhile.

        Raises:
            LeaseLost: the lease is lost (``cancelled`` is set too).
        """
        try:
            beat = await self._call(
                self._engine.heartbeat,
                self.job,
                self._epoch,
                percent,
                counts=counts,
                progress_details=details,
                with_history=False,
            )
        except LeaseLost:
            if not self._finishing:
                self._stop(lost=True)
            raise
        self.job = beat.job
        if beat.cancelled:
            self._stop(lost=False)

    async def complete(
        self, result: JSON = None, *, status: Union[Status, str] = Status.SUCCEEDED
    ) -> Job:
        """Ends the job as *status* (SUCCEEDED, the default, or
        PARTIALLY_SUCCEEDED) with *result*.

        Raises:
            LeaseLost: the lease is lost, or the job was cancelled: its
                outcome is no longer this worker's to write.
        """
        return await self._finish(
            self._engine.complete, self.job, result, status=status
        )

    async def fail(self, code: str, message: str, *, result: JSON = None) -> Job:
        """Ends the job as failed with error *code* and *message* (a retry
        policy that names *code* reruns it).

        Raises:
            LeaseLost: as :meth:`complete`.
        """
        return await self._finish(
            self._engine.fail, self.job, code, message, result=result
        )

    async def _finish(self, fn: Callable[..., Job], *args: Any, **kwargs: Any) -> Job:
        self._finishing = True
        try:
            job = await self._call(
                fn, *args, lease_epoch=self._epoch, with_history=False, **kwargs
            )
        except (LeaseLost, IllegalTransition):
            self._stop(lost=True)
            raise
        except BaseException:
            self._finishing = False  # Not written: the job is still ours.
            raise
        self._finished = True
        self.job = job
        return job

    def _stop(self, lost: bool) -> None:
        self._finished = True
        self.lease_lost = self.lease_lost or lost
        self.cancelled.set()

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))


class JobsToRun:
    """The loop :meth:`Engine.jobs_to_run` returns: an async iterator of
    :class:`Work`, and an async context manager that settles the job in
    hand when the loop ends (see there)."""

    def __init__(
        self,
        engine: "Engine",
        kinds: Union[str, Sequence[str]],
        worker_id: str,
        *,
        account_id: str,
        project_id: str,
        lease_ttl: float,
        heartbeat_every: float,
        wait: float,
    ) -> None:
        self._engine = engine
        self._claim = functools.partial(
            engine.claim_async,
            kinds,
            worker_id,
            account_id=account_id,
            project_id=project_id,
            lease_ttl=lease_ttl,
            wait=wait,
            with_history=False,
        )
        self._heartbeat_every = heartbeat_every
        self._work: Optional[Work] = None
        self._beat: Optional[asyncio.Task[None]] = None
        self._closed = False

    def __aiter__(self) -> "JobsToRun":
        return self

    async def __anext__(self) -> Work:
        await self._settle(None, _WENT_ON)
        while not self._closed:
            job = await self._claim()
            if job is None:
                continue  # The wait ended with nothing to do: wait again.
            work = Work(self._engine, job)
            self._work = work
            self._beat = asyncio.create_task(
                _keep_alive(weakref.ref(self), work, self._heartbeat_every)
            )
            return work
        raise StopAsyncIteration

    async def __aenter__(self) -> "JobsToRun":
        return self

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        await self.aclose(exc)

    async def aclose(self, exc: Optional[BaseException] = None) -> None:
        """Ends the loop: the job in hand, unless finished, fails (with the
        exception that ended the loop, when one did), and no job is claimed
        any more."""
        self._closed = True
        await self._settle(exc, _ENDED)

    async def _settle(self, exc: Optional[BaseException], unfinished: str) -> None:
        work, beat = self._work, self._beat
        self._work = self._beat = None
        if beat is not None:
            beat.cancel()
            # asyncio.wait, not await: the heartbeat's own cancellation is
            # not raised here, so that a cancel of this task, arriving
            # meanwhile, is (and ends the loop).
            await asyncio.wait([beat])
        if work is None or work.finished:
            return
        if exc is not None:
            code, message = WORKER_ERROR, f"{type(exc).__name__}: {exc}"
        else:
            code, message = NOT_FINISHED, unfinished
        try:
            await work.fail(code, message[:4096])
        except (LeaseLost, IllegalTransition, EngineClosed):
            pass  # Ended meanwhile, or the engine is closing: nothing to do.


async def _keep_alive(loop_ref: "weakref.ref[JobsToRun]", work: Work, every: float) -> None:
    """Renews `work`'s lease every `every` seconds until it is finished. A
    loop abandoned without being closed (garbage) fails its job."""
    while not work.finished:
        await asyncio.sleep(every)
        if work.finished:
            return
        if work._finishing:
            continue  # Its complete or fail is being written.
        if loop_ref() is None:
            try:
                await work.fail(NOT_FINISHED, "the worker's loop was abandoned")
            except (LeaseLost, IllegalTransition, EngineClosed):
                pass
            return
        try:
            await work.progress()
        except LeaseLost:
            return  # work.cancelled is set: the body stops.
        except EngineClosed:
            return
        except Error:
            # A full disk, an I/O error: the lease holds until it lapses,
            # so the next heartbeat tries again.
            continue
