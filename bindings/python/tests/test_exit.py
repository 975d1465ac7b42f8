"""Interpreter exit while other threads are calling the engine.

A daemon thread that is inside an engine call when the interpreter exits
must not take the process down: CPython ends such a thread when it next asks
for the GIL (pthread_exit in 3.11), and that must never happen inside a C++
frame that cannot unwind ("terminate called without an active exception",
SIGABRT). Each scenario runs in a fresh interpreter, several times.
"""

import os
import subprocess
import sys
import textwrap
import time

import pytest

# What every script starts with: an engine in `path`, one job, and a daemon
# thread started by the scenario's `spin(engine, job)` (then main returns).
PRELUDE = """
import asyncio, sys, threading, time
import jobstate

path = sys.argv[1]
engine = jobstate.Engine(path, durability="no_sync")
job = engine.create("acme", "alpha", "k")
"""

EPILOGUE = """
started = threading.Event()

def run():
    started.set()
    spin(engine, job)

for _ in range(THREADS):
    threading.Thread(target=run, daemon=True).start()
started.wait()
time.sleep(0.05)
"""

SCENARIOS = {
    "create": """
def spin(engine, job):
    while True:
        try:
            engine.create("acme", "alpha", "k", {"x": 1})
        except jobstate.Error:
            pass
""",
    "list": """
def spin(engine, job):
    while True:
        try:
            engine.list("acme", "alpha", limit=10)
        except jobstate.Error:
            pass
""",
    "wait": """
def spin(engine, job):
    while True:
        try:
            engine.wait(job, timeout=0.01)
        except jobstate.Error:
            pass
""",
    "wait_forever": """
def spin(engine, job):
    while True:
        try:
            engine.wait(job)
        except jobstate.Error:
            pass
""",
    "wait_async": """
def spin(engine, job):
    async def main():
        while True:
            try:
                await engine.wait_async(job, timeout=0.01)
            except jobstate.Error:
                pass
    asyncio.run(main())
""",
    "wait_async_forever": """
def spin(engine, job):
    async def main():
        while True:
            try:
                await engine.wait_async(job)
            except jobstate.Error:
                pass
    asyncio.run(main())
""",
    "mixed": """
def spin(engine, job):
    i = 0
    while True:
        i += 1
        try:
            if i % 3 == 0:
                engine.get(job)
            elif i % 3 == 1:
                engine.create("acme", "alpha", "k")
            else:
                engine.changes(0, 5)
        except jobstate.Error:
            pass
""",
}

RUNS = 5


def script(body, threads=4):
    return textwrap.dedent(PRELUDE + body + EPILOGUE).replace(
        "THREADS", str(threads))


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_exit_is_clean_while_daemon_threads_call_the_engine(tmp_path, scenario):
    code = script(SCENARIOS[scenario])
    deadline = time.monotonic() + 60
    for run in range(RUNS):
        if run > 0 and time.monotonic() > deadline:
            break  # bounded in time on a slow (sanitized) build
        path = tmp_path / f"db{run}"
        proc = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True, text=True, timeout=60, env=os.environ.copy())
        assert proc.returncode == 0, (
            f"run {run}: exit code {proc.returncode}\n{proc.stderr}")
        assert "terminate" not in proc.stderr, proc.stderr
        assert "Fatal Python error" not in proc.stderr, proc.stderr


def test_exit_is_clean_while_daemon_threads_open_engines(tmp_path):
    # Each daemon opens engines over and over, with an asyncio wait pending on
    # each (its engine thread completes it, taking the GIL): an engine may be
    # opened, or completing a wait, as the interpreter exits.
    code = script("""
def spin(engine, job):
    async def main():
        n = 0
        while True:
            n += 1
            try:
                e = jobstate.Engine(
                    f"{path}-{threading.get_ident()}-{n % 2}", durability="no_sync")
                j = e.create("acme", "alpha", "k")
                try:
                    await e.wait_async(j, timeout=0.002)
                except jobstate.WaitTimeout:
                    pass
                e.close()
            except jobstate.Error:
                pass
    asyncio.run(main())
""", threads=2)
    for run in range(3):
        proc = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / f"db{run}")],
            capture_output=True, text=True, timeout=60, env=os.environ.copy())
        assert proc.returncode == 0, (
            f"run {run}: exit code {proc.returncode}\n{proc.stderr}")
        assert "terminate" not in proc.stderr, proc.stderr
