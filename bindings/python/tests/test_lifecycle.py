"""A job's life through the Python API, and the values it carries."""

import datetime
import pydoc

import pytest

import jobstate
from jobstate import Status

from conftest import ACCOUNT, PROJECT


def test_create_get_start_progress_complete(engine, make_job):
    job = make_job("parse", {"doc": 42}, source_id="doc-42", correlation_id="c-1")
    assert job.created is True
    assert job.status is Status.PENDING
    assert job.kind == "parse"
    assert job.input == {"doc": 42}
    assert job.source_id == "doc-42"
    assert job.correlation_id == "c-1"
    assert job.revision == 1
    assert job.attempt == 1
    assert job.started_at is None
    assert isinstance(job.created_at, datetime.datetime)
    assert job.created_at.tzinfo is datetime.timezone.utc
    assert job.ref == jobstate.JobRef(ACCOUNT, PROJECT, job.id)
    assert not job.is_terminal

    got = engine.get(job)
    assert got == job
    assert got.created is None
    assert engine.get(job.id, account_id=ACCOUNT, project_id=PROJECT) == job
    assert engine.get((ACCOUNT, PROJECT, job.id)) == job

    running = engine.start(job, details={"worker": 3})
    assert running.status is Status.RUNNING
    assert running.started_at is not None
    assert running.history[-1].step == "started"
    assert running.history[-1].details == {"worker": 3}

    progressed = engine.report_progress(
        running, 50, counts={"total": 4, "succeeded": 2, "pending": 2},
        progress_details={"page": 2})
    assert progressed.progress.percent == 50
    assert isinstance(progressed.progress.percent, int)
    assert progressed.progress.counts == jobstate.ProgressCounts(
        total=4, succeeded=2, pending=2)
    assert progressed.progress.details == {"page": 2}
    progressed = engine.report_progress(running, 62.5)
    assert progressed.progress.percent == 62.5

    done = engine.complete(progressed, {"pages": 12, "score": 0.1})
    assert done.status is Status.SUCCEEDED
    assert done.is_terminal
    assert done.result == {"pages": 12, "score": 0.1}
    assert done.completed_at >= done.started_at
    assert [e.step for e in done.history] == [
        "created", "started", "progress", "progress", "succeeded"]
    assert all(e.status in Status for e in done.history)


def test_fail_and_cancel(engine, make_job, running_job):
    failed = engine.fail(running_job, "E_PARSE", "page 3 is unreadable")
    assert failed.status is Status.FAILED
    assert failed.error == jobstate.JobError("E_PARSE", "page 3 is unreadable")

    pending = make_job()
    cancelled = engine.cancel(pending, "not needed")
    assert cancelled.status is Status.CANCELLED
    assert cancelled.error.code == "cancelled"
    assert cancelled.error.message == "not needed"

    partial = engine.start(make_job())
    partial = engine.complete(partial, [1, 2], status="partially_succeeded")
    assert partial.status is Status.PARTIALLY_SUCCEEDED


def test_to_dict_is_the_native_shape(engine, running_job):
    done = engine.complete(running_job, {"x": [1, 2.5, None, True, "s"]})
    d = done.to_dict()
    documented = [
        "id", "account_id", "project_id", "kind", "status", "created_at",
        "started_at", "completed_at", "source_id", "correlation_id",
        "idempotency_key", "original_job_id", "parent_id", "attempt", "input",
        "result", "error", "progress", "history", "revision"]
    assert [k for k in d if k in documented] == documented
    assert d["status"] == "succeeded"
    assert d["created_at"].endswith("Z") and len(d["created_at"]) == 27
    assert jobstate.Job.from_dict(d) == done
    assert jobstate.Job.from_dict(d).to_dict() == d
    # A fresh dict each time.
    d["result"]["x"].append(7)
    assert done.to_dict()["result"] == {"x": [1, 2.5, None, True, "s"]}


def test_idempotency_key(engine, make_job):
    first = make_job("k", {"a": 1}, idempotency_key="once")
    again = make_job("k", {"a": 1}, idempotency_key="once")
    assert first.created is True
    assert again.created is False
    assert again.id == first.id
    with pytest.raises(jobstate.AlreadyExists):
        make_job("k", {"a": 2}, idempotency_key="once")


@pytest.mark.parametrize("value", [
    0, -1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1,
    0.1, 1e308, -2.5e-300, 5e-324, 1.0, -0.0,
    "", "ünïcødé ✓ \U0001F600", "a\u0000b",
    True, False, None,
    [], {}, [1, [2, [3, {"k": [None]}]]],
    {"nested": {"deep": {"list": [1.5, "x", {"y": 2**64 - 1}]}}},
])
def test_json_values_round_trip_exactly(engine, make_job, value):
    job = make_job(input={"v": value})
    got = engine.get(job).input["v"]
    assert got == value
    assert type(got) is type(value)
    if isinstance(value, float):
        assert got.hex() == value.hex()


def test_tuples_become_lists(engine, make_job):
    assert make_job(input=(1, (2, 3))).input == [1, [2, 3]]


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, float("nan"), float("inf")])
def test_values_json_cannot_hold(make_job, value):
    with pytest.raises(jobstate.InvalidArgument):
        make_job(input={"v": value})


@pytest.mark.parametrize("value", [object(), {1: "int key"}, {1, 2}, b"bytes"])
def test_values_that_are_not_json(make_job, value):
    with pytest.raises(TypeError):
        make_job(input=value)


def test_cyclic_value(make_job):
    cycle = []
    cycle.append(cycle)
    with pytest.raises(jobstate.InvalidArgument):
        make_job(input=cycle)


def test_list_pages_and_filters(engine, make_job):
    jobs = [make_job("even" if i % 2 == 0 else "odd", {"i": i}) for i in range(7)]
    page = engine.list(ACCOUNT, PROJECT, limit=3)
    assert [j.id for j in page.jobs] == [j.id for j in reversed(jobs)][:3]
    assert page.next_cursor is not None
    rest = engine.list(ACCOUNT, PROJECT, limit=3, cursor=page.next_cursor)
    assert [j.id for j in rest.jobs] == [j.id for j in reversed(jobs)][3:6]
    assert [j.id for j in engine.iter_jobs(ACCOUNT, PROJECT, page_size=2)] == [
        j.id for j in reversed(jobs)]
    assert len(list(engine.iter_jobs(ACCOUNT, PROJECT, kind="even"))) == 4
    engine.start(jobs[0])
    running = engine.list(ACCOUNT, PROJECT, status=Status.RUNNING)
    assert [j.id for j in running.jobs] == [jobs[0].id]
    assert running.next_cursor is None
    assert engine.list(ACCOUNT, "other").jobs == []
    lean = engine.list(ACCOUNT, PROJECT, status=Status.RUNNING, with_history=False)
    assert [j.id for j in lean.jobs] == [jobs[0].id]
    assert lean.jobs[0].history == []
    assert lean.jobs[0].status is Status.RUNNING
    with pytest.raises(jobstate.InvalidArgument):
        engine.list(ACCOUNT, PROJECT, cursor="garbage")
    with pytest.raises(ValueError):
        engine.list(ACCOUNT, PROJECT, status="finished")


def test_purge_leaves_tombstones(engine, make_job):
    kept = make_job()
    gone = engine.cancel(make_job())
    result = engine.purge(older_than=0)
    assert result == jobstate.PurgeResult(purged=1, tombstones_expired=0, more=False)
    with pytest.raises(jobstate.Gone):
        engine.get(gone)
    assert engine.get(kept).status is Status.PENDING


def test_change_feed(engine, make_job):
    assert engine.last_sequence() == 0
    job = make_job()
    engine.start(job)
    assert engine.last_sequence() == 2
    batch = engine.changes(0)
    assert [c.step for c in batch.changes] == ["created", "started"]
    assert [c.sequence for c in batch.changes] == [1, 2]
    assert batch.changes[1].status is Status.RUNNING
    assert batch.changes[1].id == job.id
    assert isinstance(batch.changes[0].at, datetime.datetime)
    assert batch.last_sequence == 2
    assert engine.changes(2).changes == []
    # A watch that finds changes returns at once; one that does not returns
    # a bookmark after bookmark_after.
    assert len(engine.watch(0).changes) == 2
    bookmark = engine.watch(2, bookmark_after=0.05)
    assert bookmark.changes == [] and bookmark.last_sequence == 2


def test_context_manager_closes(db_path):
    with jobstate.Engine(db_path, durability=jobstate.Durability.NO_SYNC) as e:
        job = e.create(ACCOUNT, PROJECT, "k")
        assert not e.closed
    assert e.closed
    with pytest.raises(jobstate.EngineClosed):
        e.get(job)
    e.close()  # idempotent
    assert "closed" in repr(e)
    # Reopened, the job is there.
    with jobstate.Engine(db_path) as again:
        assert again.get(job).id == job.id


def test_options(db_path):
    with jobstate.Engine(
        db_path,
        durability="no_meta_sync",
        map_size=8 << 20,
        max_map_size=64 << 20,
        tombstone_retention=datetime.timedelta(days=1),
        feed_retention_count=1000,
        feed_retention_age=3600,
        cross_process_notifications=False,
        max_readers=16,
        max_batch=64,
        write_map=False,
        limits={"max_kind_size": 8},
    ) as e:
        with pytest.raises(jobstate.TooLarge):
            e.create(ACCOUNT, PROJECT, "much-too-long-kind")
    # Without the writable map the file grows as written, far below 8 MiB.
    assert (db_path / "data.mdb").stat().st_size < 1 << 20
    with jobstate.Engine(db_path, map_size=8 << 20) as e:
        e.create(ACCOUNT, PROJECT, "parse")
    # With it (the default), the whole map is the file's, reserved.
    assert (db_path / "data.mdb").stat().st_size >= 8 << 20
    with pytest.raises(jobstate.InvalidArgument):
        jobstate.Engine(db_path, write_map="yes")
    with pytest.raises(ValueError):
        jobstate.Engine(db_path, durability="sometimes")
    with pytest.raises(jobstate.InvalidArgument):
        jobstate.Engine(db_path, limits={"max_kindsize": 8})


def test_help_reads_well():
    text = pydoc.render_doc(jobstate.Engine, renderer=pydoc.plaintext)
    for needle in ("An open job database", "wait_async", "context manager",
                   "Raises:", "IllegalTransition"):
        assert needle in text
    assert "IllegalTransition" in pydoc.render_doc(jobstate, renderer=pydoc.plaintext)
    assert jobstate.Status.SUCCEEDED == "succeeded"
    assert jobstate.Status.CANCELLED.is_terminal
    assert not jobstate.Status.RUNNING.is_terminal
