"""One Engine per database directory per process: a second Engine on a
directory this process has open is refused with AlreadyOpen, by whatever
path it is named; closing releases it."""

import os
import threading

import pytest

import jobstate
from jobstate import ErrorCode

from conftest import ACCOUNT, PROJECT


def test_already_open_is_an_error_code():
    assert issubclass(jobstate.AlreadyOpen, jobstate.Error)
    assert jobstate.AlreadyOpen.code is ErrorCode.ALREADY_OPEN
    assert int(ErrorCode.ALREADY_OPEN) == 14


def test_second_engine_on_the_same_directory_is_refused(
    engine, db_path, tmp_path
):
    link = tmp_path / "link"
    link.symlink_to(db_path, target_is_directory=True)
    for spelling in (
        db_path,
        str(db_path),
        str(db_path) + os.sep,
        link,
        os.path.relpath(db_path),
    ):
        with pytest.raises(jobstate.AlreadyOpen) as info:
            jobstate.Engine(spelling, durability="no_sync")
        assert info.value.code is ErrorCode.ALREADY_OPEN
        assert "open in this process" in str(info.value)
    # The engine that has it is unharmed.
    job = engine.create(ACCOUNT, PROJECT, "k")
    assert engine.get(job).id == job.id


def test_reopen_after_close_also_from_another_thread(db_path):
    first = jobstate.Engine(db_path, durability="no_sync")
    job = first.create(ACCOUNT, PROJECT, "k")
    first.close()
    opened = []

    def reopen():
        opened.append(jobstate.Engine(db_path, durability="no_sync"))

    thread = threading.Thread(target=reopen)
    thread.start()
    thread.join()
    with opened[0] as again:
        assert again.get(job).id == job.id
        with pytest.raises(jobstate.AlreadyOpen):
            jobstate.Engine(db_path)
    with jobstate.Engine(db_path) as last:
        assert last.get(job).id == job.id


def test_concurrent_opens_exactly_one_wins(db_path):
    barrier = threading.Barrier(8)
    engines, errors = [], []
    lock = threading.Lock()

    def open_one():
        barrier.wait()
        try:
            e = jobstate.Engine(db_path, durability="no_sync")
        except jobstate.Error as err:
            with lock:
                errors.append(err)
        else:
            with lock:
                engines.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(engines) == 1
        assert len(errors) == 7
        assert all(isinstance(err, jobstate.AlreadyOpen) for err in errors)
    finally:
        for e in engines:
            e.close()
