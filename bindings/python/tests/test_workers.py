"""Workers (docs/workers.md): claim under a lease, heartbeat, the lease epoch
fencing a worker's writes, expiry, and a claim that waits for work, blocking
and with asyncio."""

import asyncio
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

import jobstate
from jobstate import Status

from conftest import ACCOUNT, PROJECT

SCOPE = {"account_id": ACCOUNT, "project_id": PROJECT}


def test_claim_takes_the_oldest_job_of_its_kinds(engine, make_job):
    first = make_job("parse")
    make_job("ocr")
    second = make_job("embed")
    assert engine.claim(["nothing"], "w", **SCOPE) is None
    got = engine.claim(["parse", "embed"], "w1", lease_ttl=60, **SCOPE)
    assert got.id == first.id
    assert got.status is Status.RUNNING
    assert got.lease.worker_id == "w1"
    assert got.lease.epoch == 1
    assert got.lease.ttl == timedelta(seconds=60)
    assert got.history[-1].step == "claimed"
    assert got.history[-1].epoch == 1
    assert engine.get(got) == got
    assert engine.claim(("parse", "embed"), "w1", **SCOPE).id == second.id
    assert engine.claim("parse", "w1", **SCOPE) is None


def test_heartbeat_renews_and_reports_a_cancel(engine, make_job):
    make_job("parse")
    job = engine.claim("parse", "w", **SCOPE)
    beat = engine.heartbeat(job, job.lease.epoch)
    assert not beat.cancelled
    assert beat.job.revision == job.revision + 1
    assert beat.job.lease.expires_at >= job.lease.expires_at
    assert len(beat.job.history) == len(job.history)
    beat = engine.heartbeat(job, job.lease.epoch, 40, progress_details={"page": 4})
    assert beat.job.progress.percent == 40
    assert beat.job.history[-1].step == "progress"
    engine.cancel(job, "not needed")
    beat = engine.heartbeat(job, job.lease.epoch)
    assert beat.cancelled
    assert beat.job.status is Status.CANCELLED


def test_a_stale_epoch_is_fenced_off(engine, make_job):
    make_job("parse")
    job = engine.claim("parse", "w", **SCOPE)
    with pytest.raises(jobstate.LeaseLost) as info:
        engine.complete(job, {"pages": 1}, lease_epoch=job.lease.epoch + 1)
    assert info.value.code is jobstate.ErrorCode.LEASE_LOST
    assert info.value.current_status is Status.RUNNING
    with pytest.raises(jobstate.LeaseLost):
        engine.report_progress(job, 10, lease_epoch=7)
    with pytest.raises(jobstate.LeaseLost):
        engine.fail(job, "x", "y", lease_epoch=7)
    with pytest.raises(jobstate.LeaseLost):
        engine.cancel(job, lease_epoch=7)
    with pytest.raises(jobstate.LeaseLost):
        engine.heartbeat(job, 7)
    assert engine.get(job) == job
    done = engine.complete(job, {"pages": 1}, lease_epoch=job.lease.epoch)
    assert done.status is Status.SUCCEEDED
    assert done.history[-1].epoch == 1


def test_a_lapsed_lease_fails_the_job(engine, make_job):
    job = make_job("parse")
    claimed = engine.claim("parse", "w", lease_ttl=0.05, **SCOPE)
    assert claimed.id == job.id
    time.sleep(0.1)
    engine.expire_leases()  # or the engine's own timer, whichever is first
    failed = engine.wait(job, timeout=10)
    assert failed.status is Status.FAILED
    assert failed.error.code == "lease_expired"
    assert failed.history[-1].step == "lease_expired"
    with pytest.raises(jobstate.LeaseLost):
        engine.complete(job, lease_epoch=claimed.lease.epoch)
    assert engine.expire_leases() == 0


def test_bad_claims_are_refused(engine, make_job):
    job = make_job("parse")
    with pytest.raises(jobstate.InvalidArgument):
        engine.claim([], "w", **SCOPE)
    with pytest.raises(jobstate.InvalidArgument):
        engine.claim("parse", "", **SCOPE)
    with pytest.raises(jobstate.InvalidArgument):
        engine.claim("parse", "w", lease_ttl=0, **SCOPE)
    with pytest.raises(jobstate.InvalidArgument):
        engine.claim("parse", "w", lease_ttl=-1, **SCOPE)
    with pytest.raises(jobstate.InvalidArgument):
        engine.claim("parse", "w", wait=float("inf"), **SCOPE)
    assert engine.get(job).status is Status.PENDING


def test_a_waiting_claim_takes_a_job_created_later(engine, make_job):
    got = []
    worker = threading.Thread(
        target=lambda: got.append(engine.claim("parse", "w", wait=10, **SCOPE))
    )
    worker.start()
    time.sleep(0.05)
    job = make_job("parse")
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert got[0].id == job.id
    started = time.monotonic()
    assert engine.claim("parse", "w", wait=0.05, **SCOPE) is None
    assert time.monotonic() - started >= 0.05


def test_claim_async_waits_on_the_loop(engine, make_job):
    async def main():
        waiting = asyncio.ensure_future(
            engine.claim_async("parse", "w", wait=10, **SCOPE)
        )
        await asyncio.sleep(0.05)
        job = make_job("parse")
        got = await asyncio.wait_for(waiting, 20)
        assert got.id == job.id
        assert await engine.claim_async("parse", "w", **SCOPE) is None
        # Cancelling the task ends the wait; no job is taken.
        sleeper = asyncio.ensure_future(
            engine.claim_async("parse", "w", wait=10, **SCOPE)
        )
        await asyncio.sleep(0.05)
        sleeper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeper
        later = make_job("parse")
        await asyncio.sleep(0.05)
        assert engine.get(later).status is Status.PENDING

    asyncio.run(main())


def test_closing_answers_a_waiting_claim(db_path):
    engine = jobstate.Engine(db_path, durability="no_sync")
    errors = []

    def claim():
        try:
            engine.claim("parse", "w", wait=60, **SCOPE)
        except jobstate.EngineClosed as e:
            errors.append(e)

    worker = threading.Thread(target=claim)
    worker.start()
    time.sleep(0.05)
    engine.close()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert len(errors) == 1


# ---------------------------------------------------- schedules and retries


def _now():
    return datetime.now(timezone.utc)


def test_a_job_is_not_claimable_before_run_after(engine, make_job):
    later = make_job("parse", run_after=_now() + timedelta(hours=1))
    assert later.run_after > _now()
    assert engine.claim("parse", "w", **SCOPE) is None
    soon = make_job("parse", run_after=_now() + timedelta(milliseconds=300))
    began = time.monotonic()
    got = engine.claim("parse", "w", wait=20, **SCOPE)
    assert got.id == soon.id
    assert time.monotonic() - began >= 0.2
    assert engine.get(later).status is Status.PENDING


def test_time_limits_end_the_job(engine, make_job):
    unclaimed = make_job("parse", pending_ttl=0.2)
    assert unclaimed.pending_ttl == timedelta(milliseconds=200)
    slow = make_job("embed", run_timeout=timedelta(milliseconds=200))
    engine.claim("embed", "w", lease_ttl=60, **SCOPE)
    expired = engine.wait(unclaimed, 20)
    assert expired.status is Status.CANCELLED
    assert expired.error.code == "expired"
    failed = engine.wait(slow, 20)
    assert failed.status is Status.FAILED
    assert failed.error.code == "deadline_exceeded"


def test_a_failure_the_policy_names_is_retried(engine, make_job):
    policy = jobstate.RetryPolicy(
        max_attempts=2,
        initial_backoff=timedelta(seconds=30),
        jitter=0.0,
        retry_on=("flaky",),
    )
    first = make_job("parse", retry=policy, run_timeout=600)
    assert first.retry == policy
    job = engine.claim("parse", "w", **SCOPE)
    engine.fail(job, "flaky", "try again", lease_epoch=job.lease.epoch)
    (second,) = engine.list(**SCOPE, original_job_id=first.id).jobs
    assert second.attempt == 2
    assert second.retry == policy
    assert second.run_timeout == timedelta(minutes=10)
    assert second.run_after >= _now() + timedelta(seconds=25)
    assert engine.claim("parse", "w", **SCOPE) is None
    assert second.to_dict()["retry"]["retry_on"] == ["flaky"]


def test_the_default_policy_and_bad_values(db_path):
    policy = jobstate.RetryPolicy(max_attempts=3)
    with jobstate.Engine(db_path, default_retry=policy) as engine:
        job = engine.create(ACCOUNT, PROJECT, "parse")
        assert job.retry == policy
        with pytest.raises(jobstate.InvalidArgument):
            engine.create(ACCOUNT, PROJECT, "parse", run_timeout=0)
        with pytest.raises(jobstate.InvalidArgument):
            engine.create(
                ACCOUNT, PROJECT, "parse",
                retry=jobstate.RetryPolicy(max_attempts=0),
            )
        with pytest.raises(TypeError):
            engine.create(ACCOUNT, PROJECT, "parse", retry={"max_attempts": 2})
        with pytest.raises(TypeError):
            engine.create(ACCOUNT, PROJECT, "parse", run_after="tomorrow")
        # Backoffs in seconds, as every other duration of the package.
        seconds = jobstate.RetryPolicy(
            max_attempts=2, initial_backoff=2, max_backoff=7.5
        )
        made = engine.create(ACCOUNT, PROJECT, "parse", retry=seconds)
        assert made.retry.initial_backoff == timedelta(seconds=2)
        assert made.retry.max_backoff == timedelta(seconds=7.5)
        with pytest.raises(TypeError):
            engine.create(
                ACCOUNT, PROJECT, "parse",
                retry=jobstate.RetryPolicy(initial_backoff="1s"),
            )
        with pytest.raises(jobstate.InvalidArgument):
            engine.create(
                ACCOUNT, PROJECT, "parse",
                retry=jobstate.RetryPolicy(max_backoff=float("inf")),
            )
    with pytest.raises(jobstate.InvalidArgument):
        jobstate.Engine(db_path, default_retry=jobstate.RetryPolicy(jitter=2.0))


# ------------------------------------------------------ the asyncio loop


def _loop(engine, **kwargs):
    kwargs.setdefault("lease_ttl", 0.6)
    return engine.jobs_to_run("parse", "w-async", **SCOPE, **kwargs)


def test_the_loop_claims_heartbeats_and_completes(engine, make_job):
    first = make_job("parse")
    second = make_job("parse")

    async def main():
        done = []
        async with _loop(engine, wait=5) as jobs:
            async for work in jobs:
                # Longer than the lease: only the heartbeats keep it.
                await asyncio.sleep(1.0)
                assert not work.cancelled.is_set()
                await work.progress(50)
                done.append(await work.complete({"ok": True}))
                if len(done) == 2:
                    break
        return done

    done = asyncio.run(main())
    assert [j.id for j in done] == [first.id, second.id]
    for j in done:
        job = engine.get(j)
        assert job.status is Status.SUCCEEDED
        assert job.result == {"ok": True}
        assert job.lease.worker_id == "w-async"


def test_a_body_that_raises_fails_its_job(engine, make_job):
    job = make_job("parse")

    async def main():
        async with _loop(engine) as jobs:
            async for work in jobs:
                raise RuntimeError("the model went away")

    with pytest.raises(RuntimeError):
        asyncio.run(main())
    failed = engine.get(job)
    assert failed.status is Status.FAILED
    assert failed.error.code == "worker_error"
    assert "RuntimeError: the model went away" in failed.error.message


def test_a_job_left_unfinished_fails_and_a_cancel_reaches_the_body(
    engine, make_job
):
    skipped = make_job("parse")
    cancelled = make_job("parse")

    async def main():
        seen = []
        async with _loop(engine, heartbeat_every=0.1) as jobs:
            async for work in jobs:
                seen.append(work.job.id)
                if work.job.id == skipped.id:
                    continue  # Goes on without finishing it.
                await asyncio.get_running_loop().run_in_executor(
                    None, engine.cancel, work.job, "not needed"
                )
                await asyncio.wait_for(work.cancelled.wait(), 10)
                assert not work.lease_lost
                with pytest.raises(jobstate.LeaseLost):
                    await work.complete()
                break
        return seen

    assert asyncio.run(main()) == [skipped.id, cancelled.id]
    assert engine.get(skipped).error.code == "not_finished"
    assert engine.get(cancelled).status is Status.CANCELLED


def test_the_loop_refuses_a_heartbeat_as_long_as_the_lease(engine):
    with pytest.raises(jobstate.InvalidArgument):
        engine.jobs_to_run(
            "parse", "w", **SCOPE, lease_ttl=1, heartbeat_every=1
        )


def test_cancelling_the_loops_task_ends_it_between_jobs(engine, make_job):
    for _ in range(3):
        make_job("parse")

    async def main():
        me = asyncio.current_task()
        got = []
        with pytest.raises(asyncio.CancelledError):
            async with _loop(engine, lease_ttl=30, wait=1) as jobs:
                async for work in jobs:
                    got.append(work.job.id)
                    if len(got) == 1:
                        # Arrives while the loop settles this job.
                        asyncio.get_running_loop().call_soon(me.cancel)
                        continue
                    await work.complete({})
        return got

    assert len(asyncio.run(main())) == 1


def test_a_completed_job_never_reads_as_lost(engine, make_job):
    for _ in range(20):
        make_job("parse")

    async def main():
        lost = 0
        async with _loop(engine, lease_ttl=0.3, heartbeat_every=0.01) as jobs:
            async for work in jobs:
                await asyncio.sleep(0.03)
                await work.complete({})
                await asyncio.sleep(0.02)
                lost += work.lease_lost
                if work.job.id == last.id:
                    break
        return lost

    last = engine.list(**SCOPE, limit=1).jobs[0]
    assert asyncio.run(main()) == 0


def test_bad_loop_and_policy_arguments_say_why(engine):
    with pytest.raises(jobstate.InvalidArgument):
        engine.jobs_to_run("parse", "w", **SCOPE, wait=0)
    for bad in (
        jobstate.RetryPolicy(retry_on="boom"),
        jobstate.RetryPolicy(max_attempts="2"),
        jobstate.RetryPolicy(max_attempts=True),
        jobstate.RetryPolicy(multiplier="2"),
    ):
        with pytest.raises(TypeError):
            engine.create(ACCOUNT, PROJECT, "parse", retry=bad)

    async def claim():
        return await engine.claim_async([], "w", **SCOPE)

    with pytest.raises(jobstate.InvalidArgument) as info:
        asyncio.run(claim())
    assert "kinds" in str(info.value)
