"""rerun: a new attempt of a terminal job."""

import pytest

import jobstate
from jobstate import Status

from conftest import ACCOUNT, PROJECT


def test_rerun_makes_a_new_attempt(engine, make_job):
    job = make_job("parse", {"doc": 7}, source_id="doc-7", correlation_id="c-1")
    engine.start(job)
    failed = engine.fail(job, "E", "flaky")
    again = engine.rerun(failed, details={"why": "retry"})
    assert again.id != job.id
    assert again.status is Status.PENDING
    assert again.attempt == 2
    assert again.original_job_id == job.id
    assert again.kind == "parse"
    assert again.input == {"doc": 7}
    assert again.source_id == "doc-7"
    assert again.correlation_id == "c-1"
    assert again.history[0].details == {"why": "retry"}
    # The original is untouched.
    assert engine.get(job) == failed
    third = engine.rerun(engine.cancel(again), correlation_id="c-2")
    assert third.attempt == 3
    assert third.original_job_id == again.id
    assert third.correlation_id == "c-2"
    reruns = engine.list(ACCOUNT, PROJECT, original_job_id=job.id).jobs
    assert [j.id for j in reruns] == [again.id]


@pytest.mark.parametrize("state", ["pending", "running"])
def test_rerun_needs_a_terminal_job(engine, make_job, state):
    job = make_job()
    if state == "running":
        job = engine.start(job)
    with pytest.raises(jobstate.IllegalTransition) as info:
        engine.rerun(job)
    assert info.value.current_status == state
