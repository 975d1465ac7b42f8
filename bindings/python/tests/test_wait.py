"""Blocking waits: engine.wait releases the GIL while it blocks."""

import asyncio
import threading
import time

import pytest

import jobstate
from jobstate import Status


def later(delay, fn, *args):
    t = threading.Timer(delay, fn, args)
    t.start()
    return t


def test_wait_returns_when_the_job_ends(engine, running_job):
    t = later(0.05, engine.complete, running_job, {"ok": 1})
    done = engine.wait(running_job, timeout=10)
    t.join()
    assert done.status is Status.SUCCEEDED
    assert done.result == {"ok": 1}


def test_wait_returns_at_once_when_it_holds(engine, running_job):
    engine.cancel(running_job)
    start = time.monotonic()
    assert engine.wait(running_job).status is Status.CANCELLED
    assert engine.wait(running_job, timeout=0).status is Status.CANCELLED
    assert time.monotonic() - start < 1


def test_timeout_raises_with_the_latest_snapshot(engine, running_job):
    start = time.monotonic()
    with pytest.raises(jobstate.WaitTimeout) as info:
        engine.wait(running_job, timeout=0.05)
    assert 0.04 <= time.monotonic() - start < 5
    assert info.value.job.status is Status.RUNNING
    assert info.value.job.id == running_job.id
    with pytest.raises(TimeoutError):
        engine.wait(running_job, timeout=0)


def test_conditions(engine, make_job):
    job = make_job()
    t = later(0.05, engine.start, job)
    assert engine.wait(job, 10, statuses=[Status.RUNNING]).status is Status.RUNNING
    t.join()
    t = later(0.05, engine.report_progress, job, 5)
    changed = engine.wait(job, 10, changed_after=2)
    t.join()
    assert changed.revision == 3
    assert engine.wait(job, 0, statuses="running").status is Status.RUNNING
    with pytest.raises(ValueError):
        engine.wait(job, 1, statuses=["running"], changed_after=1)
    with pytest.raises(ValueError):
        engine.wait(job, -1)


def test_wait_errors(engine, make_job):
    job = make_job()
    with pytest.raises(jobstate.NotFound):
        engine.wait(job.id, 1, account_id="acme", project_id="elsewhere")
    engine.cancel(job)
    engine.purge()
    with pytest.raises(jobstate.Gone):
        engine.wait(job, 1)


def test_the_gil_is_released_while_waiting(engine, running_job):
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    with pytest.raises(jobstate.WaitTimeout):
        engine.wait(running_job, timeout=0.3)
    stop.set()
    t.join()
    assert len(ticks) > 20


def test_close_wakes_blocked_waiters(db_path):
    engine = jobstate.Engine(db_path, durability="no_sync")
    job = engine.create("acme", "alpha", "k")
    errors = []

    def waiter():
        try:
            engine.wait(job)
        except jobstate.EngineClosed as e:
            errors.append(e)

    threads = [threading.Thread(target=waiter) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    engine.close()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert len(errors) == 4


def test_waits_see_a_running_state_that_lasted_one_commit(engine, make_job):
    # Regression: a wait for running on a job started and at once completed
    # timed out (it judged the job as it was when it looked: succeeded).
    # Asyncio waits register inside the call, so once each task has run to
    # its first suspension every wait is pending: no race with the commits.
    jobs = [make_job() for _ in range(20)]

    async def scenario():
        waits = [
            asyncio.ensure_future(
                engine.wait_async(job, timeout=20, statuses=["running"])
            )
            for job in jobs
        ]
        for _ in range(3):
            await asyncio.sleep(0)
        for job in jobs:
            engine.start(job)
            engine.complete(job, {"ok": True})
        return await asyncio.gather(*waits)

    for job in asyncio.run(scenario()):
        assert job.revision >= 2
        assert job.status in (Status.RUNNING, Status.SUCCEEDED)
