"""The answers of Engine calls: a page iterates over its items, never over
its fields; records are not sequences."""

import dataclasses

import pytest

import jobstate
from jobstate import Status

from conftest import ACCOUNT, PROJECT


def test_a_page_iterates_over_its_jobs(engine, make_job):
    jobs = [make_job(input={"i": i}) for i in range(3)]
    page = engine.list(ACCOUNT, PROJECT, limit=2)
    assert [type(j) for j in page] == [jobstate.Job, jobstate.Job]
    assert [j.id for j in page] == [jobs[2].id, jobs[1].id]
    assert list(page) == page.jobs
    assert len(page) == 2
    assert page[0] == page.jobs[0] and page[-1].id == jobs[1].id
    assert page[:1] == page.jobs[:1]
    assert jobs[2] in page
    assert page and page.next_cursor is not None
    rest = engine.list(ACCOUNT, PROJECT, limit=2, cursor=page.next_cursor)
    assert [j.id for j in rest] == [jobs[0].id] and rest.next_cursor is None
    empty = engine.list(ACCOUNT, "nothing-here")
    assert len(empty) == 0 and not empty and list(empty) == []


def test_pages_of_children_too(engine):
    batch = engine.create_batch(ACCOUNT, PROJECT, "b", [{"kind": "c"}] * 3)
    page = engine.children(batch.parent, limit=2)
    assert len(page) == 2
    assert all(isinstance(c, jobstate.Job) and c.parent_id == batch.parent.id
               for c in page)


def test_a_change_batch_iterates_over_its_changes(engine, make_job):
    job = make_job()
    engine.start(job)
    batch = engine.changes(0)
    assert [c.step for c in batch] == ["created", "started"]
    assert all(isinstance(c, jobstate.Change) for c in batch)
    assert len(batch) == 2 and batch[1].status is Status.RUNNING
    assert batch.last_sequence == 2
    bookmark = engine.watch(2, bookmark_after=0.01)
    assert len(bookmark) == 0 and not bookmark
    assert bookmark.last_sequence == 2


def test_a_batch_iterates_over_its_child_ids(engine):
    batch = engine.create_batch(ACCOUNT, PROJECT, "b", [{"kind": "c"}] * 3)
    assert list(batch) == batch.child_ids
    assert len(batch) == 3
    assert all(isinstance(i, str) for i in batch)


def test_records_are_not_sequences(engine, make_job):
    make_job()
    change = engine.changes(0)[0]
    purged = engine.purge()
    for record in (change, purged):
        with pytest.raises(TypeError):
            iter(record)
        with pytest.raises(TypeError):
            len(record)
    assert purged == jobstate.PurgeResult(purged=0, tombstones_expired=0, more=False)


def test_no_answer_is_a_tuple(engine, make_job):
    job = make_job()
    answers = [
        engine.list(ACCOUNT, PROJECT),
        engine.changes(0),
        engine.changes(0)[0],
        engine.purge(),
        engine.create_batch(ACCOUNT, PROJECT, "b", [{"kind": "c"}]),
        job,
    ]
    for answer in answers:
        assert not isinstance(answer, tuple), type(answer)
        assert dataclasses.is_dataclass(answer)
        field = dataclasses.fields(answer)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(answer, field, None)
    # JobRef is the one named tuple: it is the (account_id, project_id, id)
    # a job argument may be given as.
    assert tuple(job.ref) == (ACCOUNT, PROJECT, job.id)
