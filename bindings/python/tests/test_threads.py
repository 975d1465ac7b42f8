"""Many threads on one engine: the GIL is released, commits are shared."""

import threading

import jobstate
from jobstate import Status

from conftest import ACCOUNT, PROJECT


def test_concurrent_workers(engine):
    n_threads, per_thread = 8, 25
    errors = []

    def work(t):
        try:
            for i in range(per_thread):
                job = engine.create(ACCOUNT, PROJECT, "work", {"t": t, "i": i})
                engine.start(job)
                engine.report_progress(job, 50)
                engine.complete(job, {"t": t, "i": i})
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    done = list(engine.iter_jobs(ACCOUNT, PROJECT, status=Status.SUCCEEDED))
    assert len(done) == n_threads * per_thread
    assert all(j.result == j.input for j in done)
    assert engine.last_sequence() == n_threads * per_thread * 4


def test_claim_race_has_one_winner(engine):
    for _ in range(20):
        job = engine.create(ACCOUNT, PROJECT, "race")
        winners, losers = [], []
        barrier = threading.Barrier(4)

        def claim():
            barrier.wait()
            try:
                winners.append(engine.start(job, expected_revision=1))
            except (jobstate.IllegalTransition, jobstate.Conflict) as e:
                losers.append(e)

        threads = [threading.Thread(target=claim) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1
        assert len(losers) == 3
        assert all(e.current_status is Status.RUNNING for e in losers)


def test_waiters_and_workers(engine):
    jobs = [engine.create(ACCOUNT, PROJECT, "w") for _ in range(20)]
    seen = []
    lock = threading.Lock()

    def waiter(job):
        done = engine.wait(job, timeout=30)
        with lock:
            seen.append(done.status)

    def worker(chunk):
        for job in chunk:
            engine.start(job)
            engine.complete(job)

    waiters = [threading.Thread(target=waiter, args=(j,)) for j in jobs]
    workers = [threading.Thread(target=worker, args=(jobs[i::4],)) for i in range(4)]
    for t in waiters + workers:
        t.start()
    for t in waiters + workers:
        t.join(60)
    assert seen == [Status.SUCCEEDED] * 20
