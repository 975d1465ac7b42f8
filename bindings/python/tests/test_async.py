"""asyncio waits: resolved by the engine's commits, cancellable."""

import asyncio
import gc
import threading
import time

import pytest

import jobstate
from jobstate import Status

from conftest import ACCOUNT, PROJECT


def run(coro):
    """Runs coro on a fresh loop and fails on any error the loop reports
    (e.g. a result set on a cancelled future)."""
    loop_errors = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, ctx: loop_errors.append(ctx))
        return await coro

    result = asyncio.run(main())
    assert loop_errors == []
    return result


def test_wait_async_resolves_on_commit(engine, running_job):
    async def main():
        waiting = asyncio.ensure_future(engine.wait_async(running_job, timeout=10))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        await asyncio.to_thread(engine.complete, running_job, {"ok": True})
        return await waiting

    done = run(main())
    assert done.status is Status.SUCCEEDED
    assert done.result == {"ok": True}


def test_wait_async_already_satisfied(engine, running_job):
    engine.cancel(running_job)
    assert run(engine.wait_async(running_job)).status is Status.CANCELLED
    assert run(engine.wait_async(running_job, 0, statuses=["cancelled"])).is_terminal


def test_wait_async_timeout(engine, running_job):
    async def main():
        start = time.monotonic()
        with pytest.raises(jobstate.WaitTimeout) as info:
            await engine.wait_async(running_job, timeout=0.05)
        assert time.monotonic() - start >= 0.04
        return info.value.job

    assert run(main()).status is Status.RUNNING


def test_wait_async_errors(engine, make_job):
    job = make_job()

    async def main():
        with pytest.raises(jobstate.NotFound):
            await engine.wait_async(job.id, 1, account_id=ACCOUNT, project_id="x")
        with pytest.raises(jobstate.InvalidArgument):
            await engine.wait_async("nope", 1, account_id=ACCOUNT, project_id=PROJECT)

    run(main())


def test_cancelling_the_task_cancels_the_engine_wait(engine, running_job):
    async def main():
        task = asyncio.ensure_future(engine.wait_async(running_job))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # asyncio.wait_for cancels on its timeout.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(engine.wait_async(running_job), 0.05)
        # The engine's answers to the cancelled waits arrive and are ignored
        # (the loop's exception handler would see a set_result on a cancelled
        # future); a completion later reaches no one.
        await asyncio.sleep(0.05)
        await asyncio.to_thread(engine.complete, running_job)
        await asyncio.sleep(0.05)
        return await engine.wait_async(running_job, 1)

    assert run(main()).status is Status.SUCCEEDED


def test_many_concurrent_waits(engine, make_job):
    jobs = [make_job(input={"i": i}) for i in range(100)]
    waiters_per_job = 10  # 1,000 waits

    async def main():
        waits = [
            asyncio.ensure_future(engine.wait_async(job, timeout=60))
            for job in jobs
            for _ in range(waiters_per_job)
        ]
        # Some will be cancelled; the rest complete.
        cancelled = waits[::7]
        await asyncio.sleep(0.05)
        for w in cancelled:
            w.cancel()

        def finish_all():
            for job in jobs:
                engine.start(job)
                engine.complete(job, {"i": job.input["i"]})

        start = time.monotonic()
        await asyncio.to_thread(finish_all)
        results = await asyncio.gather(*waits, return_exceptions=True)
        return results, cancelled, waits, time.monotonic() - start

    results, cancelled, waits, elapsed = run(main())
    assert len(results) == 1000
    cancelled_ids = {id(w) for w in cancelled}
    for w, r in zip(waits, results):
        if id(w) in cancelled_ids:
            assert isinstance(r, asyncio.CancelledError)
        else:
            assert isinstance(r, jobstate.Job), r
            assert r.status is Status.SUCCEEDED
            assert r.result == r.input
    assert elapsed < 60


def test_close_aborts_pending_async_waits(db_path):
    engine = jobstate.Engine(db_path, durability="no_sync")
    job = engine.create(ACCOUNT, PROJECT, "k")

    async def main():
        waits = [asyncio.ensure_future(engine.wait_async(job)) for _ in range(50)]
        await asyncio.sleep(0.02)
        await asyncio.to_thread(engine.close)
        return await asyncio.gather(*waits, return_exceptions=True)

    results = run(main())
    assert all(isinstance(r, jobstate.EngineClosed) for r in results), results

    async def after_close():
        with pytest.raises(jobstate.EngineClosed):
            await engine.wait_async(job)

    run(after_close())


def test_a_closed_loop_is_left_alone(engine, running_job):
    # The loop goes away while its wait is pending; the engine's answer later
    # finds it closed and is dropped, without harm.
    loop = asyncio.new_event_loop()
    task = loop.create_task(engine.wait_async(running_job))
    loop.run_until_complete(asyncio.sleep(0.02))
    assert not task.done()
    loop.close()
    engine.complete(running_job)
    time.sleep(0.05)
    del task
    gc.collect()
    assert engine.wait(running_job, 1).status is Status.SUCCEEDED


def test_waits_from_loops_in_several_threads(engine, make_job):
    jobs = [make_job() for _ in range(8)]
    results = []
    lock = threading.Lock()

    def client(job):
        async def main():
            return await engine.wait_async(job, timeout=30)

        r = asyncio.run(main())
        with lock:
            results.append(r)

    threads = [threading.Thread(target=client, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    time.sleep(0.05)
    for job in jobs:
        engine.cancel(job, "bye")
    for t in threads:
        t.join(30)
    assert sorted(r.id for r in results) == sorted(j.id for j in jobs)
    assert all(r.status is Status.CANCELLED for r in results)


def test_watch_async(engine, make_job):
    async def main():
        waiting = asyncio.ensure_future(engine.watch_async(0, account_id=ACCOUNT))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        job = await asyncio.to_thread(make_job)
        batch = await waiting
        assert [c.id for c in batch.changes] == [job.id]
        # A bookmark when nothing comes.
        empty = await engine.watch_async(batch.last_sequence, bookmark_after=0.05)
        assert empty.changes == [] and empty.last_sequence == batch.last_sequence
        # Cancellable too.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(engine.watch_async(batch.last_sequence), 0.05)

    run(main())


def test_an_abandoned_coroutine_is_finalized_on_a_python_thread(engine, running_job):
    # Nothing but the engine's pending wait refers to this task once its loop
    # is closed: the engine must not finalize the coroutine (run its
    # `finally`) on its own thread, but hand that to the main thread.
    finalized_in = []

    async def waiter():
        try:
            await engine.wait_async(running_job)
        finally:
            finalized_in.append(threading.current_thread())

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)  # "destroyed but pending"
    loop.create_task(waiter())
    loop.run_until_complete(asyncio.sleep(0.02))
    loop.close()
    engine.complete(running_job)
    deadline = time.monotonic() + 10
    while not finalized_in and time.monotonic() < deadline:
        time.sleep(0.01)  # the main thread runs pending calls between bytecodes
        gc.collect()
    assert finalized_in == [threading.main_thread()]
