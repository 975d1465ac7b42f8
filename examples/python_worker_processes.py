#!/usr/bin/env python3
"""Worker processes that survive the loss of one of them (kill -9).

- The supervisor creates jobs with a retry policy that reruns a job whose
  lease lapsed, and starts worker processes.
- Each worker runs the asyncio worker loop, Engine.jobs_to_run: it claims a
  job (waiting for work without a thread or polling), works on it in steps
  while the loop renews the lease in the background, and completes it
  fenced by the lease's epoch.
- Once a worker holds a job, the supervisor kills it with SIGKILL and
  starts a replacement. The dead worker's lease lapses; the engine fails
  its job with "lease_expired" and, in the same write, reruns it as
  attempt 2 after a short backoff; another worker takes it.
- The supervisor follows each job's lineage (original_job_id) to its last
  attempt, prints what happened, and exits 0 when every job succeeded.

Usage: python_worker_processes.py [DB_DIR]  (default: a temporary directory)
Run from a build tree: PYTHONPATH=<build>/bindings/python/package
"""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import jobstate
from jobstate import Status

ACCOUNT, PROJECT = "acme", "render-farm"
JOBS = 16
WORKERS = 3
STEPS = 4
STEP_SECONDS = 0.03
LEASE_SECONDS = 0.5
SCOPE = {"account_id": ACCOUNT, "project_id": PROJECT}


def run_worker(path: str, name: str) -> None:
    """Runs jobs until the supervisor stops this process."""
    engine = jobstate.Engine(path)

    async def loop() -> None:
        async with engine.jobs_to_run(
            "render", name, lease_ttl=LEASE_SECONDS, wait=2, **SCOPE
        ) as jobs:
            async for work in jobs:
                for _ in range(STEPS):
                    await asyncio.sleep(STEP_SECONDS)  # The work.
                    if work.cancelled.is_set():
                        break  # Cancelled, or the lease is lost: drop it.
                else:
                    try:
                        await work.complete({"frames": 24, "by": name})
                    except jobstate.LeaseLost:
                        pass  # Cancelled, or lost: its outcome is not ours.

    asyncio.run(loop())


def start_worker(path: str, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--worker", path, name])


def held_by(engine: jobstate.Engine, worker: str):
    """The running job `worker` holds, if any."""
    page = engine.list(**SCOPE, status=Status.RUNNING, with_history=False)
    return next((j for j in page.jobs if j.lease.worker_id == worker), None)


def last_attempt(engine: jobstate.Engine, job: jobstate.Job) -> jobstate.Job:
    """The last attempt of `job`: each retry names the attempt before it as
    its original_job_id."""
    while True:
        job = engine.wait(job, 60)
        if job.status is Status.SUCCEEDED:
            return job
        retries = engine.list(**SCOPE, original_job_id=job.id).jobs
        if not retries:
            return job  # Failed for good.
        job = retries[0]


def run_supervisor(path: str) -> int:
    engine = jobstate.Engine(path)
    retry = jobstate.RetryPolicy(
        max_attempts=3, initial_backoff=timedelta(milliseconds=50),
        retry_on=("lease_expired",),
    )
    created = [
        engine.create(ACCOUNT, PROJECT, "render", {"scene": i}, retry=retry)
        for i in range(JOBS)
    ]
    workers = {f"worker-{i}": start_worker(path, f"worker-{i}")
               for i in range(1, WORKERS + 1)}
    try:
        deadline = time.monotonic() + 60
        victim = None
        while victim is None and time.monotonic() < deadline:
            victim = held_by(engine, "worker-1")
            time.sleep(0.005)
        if victim is None:
            print("worker-1 never took a job", file=sys.stderr)
            return 1
        workers["worker-1"].kill()  # SIGKILL: no goodbye, no cleanup.
        workers.pop("worker-1").wait()
        workers["worker-4"] = start_worker(path, "worker-4")
        print(f"killed worker-1 (SIGKILL) while it held job {victim.id}")

        succeeded = 0
        for first in created:
            last = last_attempt(engine, first)
            succeeded += last.status is Status.SUCCEEDED
            if first.id == victim.id:
                print(f"  its lease lapsed; attempt {last.attempt} ({last.id}) "
                      f"{last.status.value} by {last.lease.worker_id}")
        print(f"{succeeded} of {JOBS} jobs succeeded")
        return 0 if succeeded == JOBS else 1
    finally:
        for process in workers.values():
            process.send_signal(signal.SIGTERM)
            process.wait()
        engine.close()


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) > 1:
        path = sys.argv[1]
        shutil.rmtree(path, ignore_errors=True)  # A fresh run.
        return run_supervisor(path)
    path = tempfile.mkdtemp(prefix="jobstate-worker-processes-")
    try:
        return run_supervisor(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
