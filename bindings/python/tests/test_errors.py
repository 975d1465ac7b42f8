"""Engine errors as exceptions: one class per code, with their context."""

import uuid

import pytest

import jobstate
from jobstate import ErrorCode, Status

from conftest import ACCOUNT, PROJECT


def test_hierarchy():
    for cls, code in [
        (jobstate.InvalidArgument, ErrorCode.INVALID_ARGUMENT),
        (jobstate.NotFound, ErrorCode.NOT_FOUND),
        (jobstate.IllegalTransition, ErrorCode.ILLEGAL_TRANSITION),
        (jobstate.Conflict, ErrorCode.CONFLICT),
        (jobstate.AlreadyExists, ErrorCode.ALREADY_EXISTS),
        (jobstate.Gone, ErrorCode.GONE),
        (jobstate.StorageFull, ErrorCode.STORAGE_FULL),
        (jobstate.Corrupt, ErrorCode.CORRUPT),
        (jobstate.UnsupportedVersion, ErrorCode.UNSUPPORTED_VERSION),
        (jobstate.TooLarge, ErrorCode.TOO_LARGE),
        (jobstate.Expired, ErrorCode.EXPIRED),
        (jobstate.EngineClosed, ErrorCode.ENGINE_CLOSED),
        (jobstate.IoError, ErrorCode.IO_ERROR),
    ]:
        assert issubclass(cls, jobstate.Error)
        assert cls.code is code
    assert issubclass(jobstate.InvalidArgument, ValueError)
    assert issubclass(jobstate.NotFound, LookupError)
    assert issubclass(jobstate.WaitTimeout, TimeoutError)
    assert issubclass(jobstate.IoError, OSError)


def test_not_found(engine, make_job):
    job = make_job()
    with pytest.raises(jobstate.NotFound) as info:
        engine.get(job.id, account_id=ACCOUNT, project_id="elsewhere")
    assert info.value.code is ErrorCode.NOT_FOUND
    assert info.value.message
    assert info.value.current_status is None
    with pytest.raises(jobstate.NotFound):
        engine.start(str(uuid.uuid4()), account_id=ACCOUNT, project_id=PROJECT)


def test_illegal_transition_carries_the_current_status(engine, running_job):
    engine.cancel(running_job, "stop")
    with pytest.raises(jobstate.IllegalTransition) as info:
        engine.complete(running_job, {"late": True})
    assert info.value.current_status is Status.CANCELLED
    assert info.value.current_revision == 3
    assert "cancelled" in str(info.value)


def test_conflict_carries_the_current_revision(engine, running_job):
    engine.report_progress(running_job, 10)
    with pytest.raises(jobstate.Conflict) as info:
        engine.complete(running_job, expected_revision=running_job.revision)
    assert info.value.current_revision == 3
    assert info.value.current_status is Status.RUNNING
    done = engine.complete(running_job, expected_revision=3)
    assert done.revision == 4


def test_invalid_arguments(engine, make_job, running_job):
    with pytest.raises(jobstate.InvalidArgument) as info:
        engine.get("not-a-uuid", account_id=ACCOUNT, project_id=PROJECT)
    assert "UUID" in str(info.value)
    with pytest.raises(jobstate.InvalidArgument):
        engine.report_progress(running_job, 101)
    with pytest.raises(jobstate.InvalidArgument):
        engine.create("", PROJECT, "k")
    with pytest.raises(jobstate.InvalidArgument):
        engine.complete(running_job, status=Status.FAILED)  # no error given
    with pytest.raises(ValueError):
        engine.complete(running_job, status="done")
    with pytest.raises(TypeError):
        engine.get(42)
    with pytest.raises(TypeError):
        engine.get("0193c3c2-0000-7000-8000-000000000000")  # no tenancy


def test_too_large(db_path):
    with jobstate.Engine(db_path, durability="no_sync",
                         limits={"max_json_size": 64}) as e:
        with pytest.raises(jobstate.TooLarge) as info:
            e.create(ACCOUNT, PROJECT, "k", {"blob": "x" * 100})
        assert isinstance(info.value, ValueError)


def test_gone(engine, make_job):
    job = engine.cancel(make_job())
    engine.purge()
    with pytest.raises(jobstate.Gone):
        engine.get(job)
    with pytest.raises(jobstate.Gone):
        engine.rerun(job)


def test_expired(db_path):
    with jobstate.Engine(db_path, durability="no_sync", feed_retention_count=2) as e:
        for _ in range(5):
            e.create(ACCOUNT, PROJECT, "k")
        with pytest.raises(jobstate.Expired):
            e.changes(0)
        latest = e.last_sequence()
        assert e.changes(latest).changes == []


def test_storage_full(db_path):
    size = 4 << 20
    with jobstate.Engine(db_path, durability="no_sync", map_size=size,
                         max_map_size=size) as e:
        blob = "x" * (512 << 10)
        with pytest.raises(jobstate.StorageFull):
            for _ in range(64):
                e.create(ACCOUNT, PROJECT, "k", {"blob": blob})


def test_engine_closed(db_path):
    e = jobstate.Engine(db_path, durability="no_sync")
    job = e.create(ACCOUNT, PROJECT, "k")
    e.close()
    for call in (lambda: e.get(job), lambda: e.start(job),
                 lambda: e.create(ACCOUNT, PROJECT, "k"),
                 lambda: e.wait(job, timeout=1), e.last_sequence):
        with pytest.raises(jobstate.EngineClosed):
            call()
