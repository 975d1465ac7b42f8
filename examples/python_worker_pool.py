#!/usr/bin/env python3
"""A small worker pool and a waiting client, on one jobstate database.

- Worker threads claim jobs (Engine.claim: the first claimable job, moved to
  running under a lease; with wait=, a claim sleeps until a job becomes claimable,
  without polling), work on them step by step, renewing the lease with a
  heartbeat that also reports progress and says when the client cancelled
  the job, and complete them fenced by the lease's epoch (a worker whose
  lease lapsed cannot overwrite anything). A worker that dies leaves its
  job running only until the lease lapses; then the job fails with
  "lease_expired" and can be rerun (docs/workers.md).
- The client is an asyncio program: it submits jobs, cancels one of them once
  a worker has started it, and awaits them all with Engine.wait_async (no
  thread and no polling per waiting job). Then it submits a batch (a parent
  and its children, which the workers take like any job) and follows the
  whole batch through its parent, one long-poll after another, as the
  parent's counters move with each child.

Usage: python_worker_pool.py [DB_DIR]   (default: ./jobstate-python-demo)
Run from a build tree: PYTHONPATH=<build>/bindings/python/package
"""

import asyncio
import sys
import threading
import time

import jobstate
from jobstate import Status

ACCOUNT, PROJECT = "acme", "demo"
WORKERS = 3
JOBS = 12
BATCH_CHILDREN = 4
STEPS = 5
STEP_SECONDS = 0.02
LEASE_SECONDS = 5


def worker(name: str, engine: jobstate.Engine, stop: threading.Event,
           log: list) -> None:
    """Claims jobs (waiting for work without polling), works on each step by
    step under its lease, and completes it, fenced by the lease's epoch."""
    while not stop.is_set():
        job = engine.claim("square", name, account_id=ACCOUNT,
                           project_id=PROJECT, lease_ttl=LEASE_SECONDS,
                           wait=0.2)
        if job is None:
            continue  # nothing to do for now
        epoch = job.lease.epoch
        for step in range(1, STEPS + 1):
            time.sleep(STEP_SECONDS)
            # Renews the lease and reports progress in one write; says when
            # the client cancelled the job meanwhile.
            beat = engine.heartbeat(job, epoch, 100 * step // STEPS)
            if beat.cancelled:
                log.append((job.id, f"noticed the cancel at step {step}"))
                break
        else:
            try:
                engine.complete(job, {"worker": name, "square": job.input["n"] ** 2},
                                lease_epoch=epoch)
                log.append((job.id, f"completed by {name}"))
            except (jobstate.IllegalTransition, jobstate.LeaseLost) as e:
                # The client cancelled it between the last step and now.
                log.append((job.id, f"lost the race to {e.current_status}"))


async def client(engine: jobstate.Engine) -> dict:
    """Submits jobs, cancels one, awaits them all."""
    jobs = [
        await asyncio.to_thread(engine.create, ACCOUNT, PROJECT, "square", {"n": n})
        for n in range(JOBS)
    ]
    # Cancel one job while a worker is on it: wait until it runs first.
    victim = jobs[JOBS // 2]
    await engine.wait_async(victim, timeout=60, statuses=[Status.RUNNING])
    try:
        await asyncio.to_thread(engine.cancel, victim, "the client changed its mind")
    except jobstate.IllegalTransition:
        pass  # it finished first
    finished = await asyncio.gather(
        *(engine.wait_async(job, timeout=60) for job in jobs))
    return {job.id: job for job in finished}


async def batch_client(engine: jobstate.Engine) -> tuple:
    """Submits a batch and follows it through its parent; returns the
    finished parent and the counters seen on the way."""
    batch = await asyncio.to_thread(
        engine.create_batch, ACCOUNT, PROJECT, "squares",
        [jobstate.BatchChild("square", {"n": n}, source_id=f"n-{n}")
         for n in range(BATCH_CHILDREN)])
    parent = batch.parent
    seen = []
    while not parent.is_terminal:
        # Wakes at each child's change: the parent's revision moves with it.
        parent = await engine.wait_async(parent, timeout=60,
                                         changed_after=parent.revision)
        seen.append(parent.counts.finished)
    return parent, seen


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "./jobstate-python-demo"
    with jobstate.Engine(path, durability=jobstate.Durability.NO_SYNC) as engine:
        stop = threading.Event()
        log: list = []
        threads = [threading.Thread(target=worker, args=(f"w{i}", engine, stop, log))
                   for i in range(WORKERS)]
        for t in threads:
            t.start()

        started = time.monotonic()
        finished = asyncio.run(client(engine))
        parent, seen = asyncio.run(batch_client(engine))
        elapsed = time.monotonic() - started

        stop.set()
        for t in threads:
            t.join()

    by_status: dict = {}
    for job in finished.values():
        by_status.setdefault(job.status, []).append(job)
        line = f"  {job.id}  {job.status.value:<10} attempt {job.attempt}"
        if job.status is Status.SUCCEEDED:
            line += f"  result {job.result}"
        elif job.error:
            line += f"  ({job.error.message})"
        print(line)
    for job_id, what in log:
        if "completed" not in what:
            print(f"  worker log: {job_id}: {what}")
    print(f"{len(finished)} jobs in {elapsed:.2f} s: " + ", ".join(
        f"{len(v)} {k.value}" for k, v in sorted(by_status.items())))

    print(f"batch {parent.id}: {parent.status.value}, children finished as "
          f"the parent saw them: {seen}, counts {parent.counts}")

    ok = (len(finished) == JOBS
          and all(j.is_terminal for j in finished.values())
          and len(by_status.get(Status.SUCCEEDED, [])) >= JOBS - 1
          and parent.status is Status.SUCCEEDED
          and parent.counts.succeeded == BATCH_CHILDREN)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
