"""Batches: a parent and its children, counters, derived status, cancel
cascade, rerun, paging children, errors, and waits on the parent."""

import asyncio
import threading

import pytest

import jobstate
from jobstate import Batch, BatchChild, ProgressCounts, Status

from conftest import ACCOUNT, PROJECT


def make_batch(engine, n=3, **kwargs):
    return engine.create_batch(
        ACCOUNT,
        PROJECT,
        "batch_parse",
        [{"kind": "parse", "input": {"i": i}, "source_id": f"doc-{i}"} for i in range(n)],
        {"files": n},
        **kwargs,
    )


def child(engine, batch, i):
    return engine.get((ACCOUNT, PROJECT, batch.child_ids[i]))


def test_create_batch(engine):
    batch = engine.create_batch(
        ACCOUNT,
        PROJECT,
        "batch_parse",
        [BatchChild("parse", {"file": "a"}, source_id="doc-a", correlation_id="c-a"),
         {"kind": "parse", "source_id": "doc-b"}],
        {"files": 2},
        source_id="folder-1",
        idempotency_key="batch-1",
    )
    assert isinstance(batch, Batch)
    assert batch.created is True
    parent = batch.parent
    assert parent.is_batch and parent.created is True
    assert parent.status is Status.PENDING
    assert parent.kind == "batch_parse" and parent.input == {"files": 2}
    assert parent.source_id == "folder-1"
    assert parent.counts == ProgressCounts(total=2, pending=2)
    assert parent.counts.finished == 0
    assert len(batch.child_ids) == 2 and len(set(batch.child_ids)) == 2
    a, b = (engine.get((ACCOUNT, PROJECT, i)) for i in batch.child_ids)
    assert (a.kind, a.input, a.source_id, a.correlation_id) == (
        "parse", {"file": "a"}, "doc-a", "c-a")
    assert b.source_id == "doc-b" and b.input is None
    assert a.parent_id == parent.id and b.parent_id == parent.id
    assert not a.is_batch and a.status is Status.PENDING

    # The parent's idempotency key stands for the whole batch.
    again = engine.create_batch(
        ACCOUNT, PROJECT, "batch_parse", [{"kind": "parse"}], {"files": 2},
        source_id="folder-1", idempotency_key="batch-1")
    assert again.created is False and again.parent.created is False
    assert again.parent.id == parent.id
    assert again.child_ids == batch.child_ids


def test_children_roll_up_into_parent(engine):
    batch = make_batch(engine, 4)
    parent = batch.parent
    first = engine.start(child(engine, batch, 0))
    p = engine.get(parent)
    assert p.status is Status.RUNNING
    assert p.counts.running == 1 and p.counts.pending == 4
    engine.complete(first, {"pages": 3})
    engine.complete(engine.start(child(engine, batch, 1)),
                    status=Status.PARTIALLY_SUCCEEDED)
    engine.fail(engine.start(child(engine, batch, 2)), "bad_pdf", "no pages")
    p = engine.get(parent)
    assert p.status is Status.RUNNING
    assert p.counts == ProgressCounts(total=4, succeeded=2, failed=1, pending=1,
                                      partially_succeeded=1)
    assert p.progress.percent == 75
    engine.cancel(child(engine, batch, 3), "skip")
    p = engine.get(parent)
    assert p.status is Status.PARTIALLY_SUCCEEDED and p.is_terminal
    c = p.counts
    assert c.succeeded + c.failed + c.cancelled + c.pending == c.total == 4
    assert c.finished == 4


@pytest.mark.parametrize(
    "outcomes, expected",
    [
        (["succeeded", "succeeded"], Status.SUCCEEDED),
        (["failed", "failed"], Status.FAILED),
        (["failed", "cancelled"], Status.FAILED),
        (["cancelled", "cancelled"], Status.CANCELLED),
        (["succeeded", "failed"], Status.PARTIALLY_SUCCEEDED),
        (["succeeded", "partially_succeeded"], Status.PARTIALLY_SUCCEEDED),
        (["succeeded", "cancelled"], Status.PARTIALLY_SUCCEEDED),
    ],
)
def test_derived_status(engine, outcomes, expected):
    batch = make_batch(engine, len(outcomes))
    for i, outcome in enumerate(outcomes):
        c = child(engine, batch, i)
        if outcome == "cancelled":
            engine.cancel(c)
        elif outcome == "failed":
            engine.fail(engine.start(c), "e", "failed")
        else:
            engine.complete(engine.start(c), status=outcome)
    assert engine.get(batch.parent).status is expected


def test_parent_cannot_be_driven_by_hand(engine):
    batch = make_batch(engine, 2)
    with pytest.raises(jobstate.IllegalTransition) as e:
        engine.start(batch.parent)
    assert e.value.current_status is Status.PENDING
    engine.start(child(engine, batch, 0))
    with pytest.raises(jobstate.IllegalTransition):
        engine.complete(batch.parent)
    with pytest.raises(jobstate.IllegalTransition):
        engine.report_progress(batch.parent, 50)


def test_cancel_parent_cancels_unfinished_children(engine):
    batch = make_batch(engine, 3)
    engine.complete(engine.start(child(engine, batch, 0)))
    engine.start(child(engine, batch, 1))
    cancelled = engine.cancel(batch.parent, "user stopped it")
    assert cancelled.status is Status.CANCELLED
    assert cancelled.counts == ProgressCounts(total=3, succeeded=1, cancelled=2)
    statuses = [child(engine, batch, i).status for i in range(3)]
    assert statuses == [Status.SUCCEEDED, Status.CANCELLED, Status.CANCELLED]
    err = child(engine, batch, 2).error
    assert err.code == "cancelled" and "user stopped it" in err.message
    with pytest.raises(jobstate.IllegalTransition):
        engine.cancel(batch.parent)
    # A worker still holding a cancelled child learns it on completion.
    with pytest.raises(jobstate.IllegalTransition) as e:
        engine.complete(child(engine, batch, 1).ref)
    assert e.value.current_status is Status.CANCELLED


def test_rerun_batch_reruns_what_did_not_succeed(engine):
    batch = make_batch(engine, 3)
    engine.complete(engine.start(child(engine, batch, 0)))
    engine.fail(engine.start(child(engine, batch, 1)), "e", "failed")
    engine.cancel(child(engine, batch, 2))
    done = engine.get(batch.parent)
    with pytest.raises(jobstate.IllegalTransition):
        engine.rerun(make_batch(engine, 1).parent)  # not terminal

    again = engine.rerun(done)
    assert again.is_batch and again.id != done.id
    assert again.original_job_id == done.id and again.attempt == 2
    assert again.status is Status.PENDING
    assert again.counts == ProgressCounts(total=2, pending=2)
    kids = list(engine.iter_children(again))
    assert sorted(k.original_job_id for k in kids) == sorted(batch.child_ids[1:])
    assert {k.source_id for k in kids} == {"doc-1", "doc-2"}
    assert all(k.parent_id == again.id and k.attempt == 2 for k in kids)
    # The old batch is untouched.
    assert engine.get(done).revision == done.revision


def test_paging_children(engine):
    batch = make_batch(engine, 7)
    for i in (0, 2, 4):
        engine.fail(engine.start(child(engine, batch, i)), "e", "failed")
    seen = []
    cursor = None
    pages = 0
    while True:
        page = engine.children(batch.parent, limit=3, cursor=cursor)
        assert len(page.jobs) <= 3
        seen += [j.id for j in page.jobs]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert sorted(seen) == sorted(batch.child_ids) and len(seen) == 7
    failed = engine.children(batch.parent, status=Status.FAILED, limit=2)
    assert len(failed.jobs) == 2 and failed.next_cursor is not None
    assert {j.id for j in engine.iter_children(batch.parent, status="failed",
                                               page_size=2)} == {
        batch.child_ids[i] for i in (0, 2, 4)}
    assert engine.children(batch.parent, status="running").jobs == []
    # By id string, and through list(parent_id=...).
    by_id = engine.children(batch.parent.id, account_id=ACCOUNT, project_id=PROJECT,
                            limit=10)
    assert len(by_id.jobs) == 7
    listed = engine.list(ACCOUNT, PROJECT, parent_id=batch.parent.id, limit=10)
    assert [j.id for j in listed.jobs] == [j.id for j in by_id.jobs]


def test_batch_errors(engine, make_job):
    with pytest.raises(jobstate.InvalidArgument):
        engine.create_batch(ACCOUNT, PROJECT, "b", [])
    with pytest.raises(jobstate.InvalidArgument, match=r"children\[1\]"):
        engine.create_batch(ACCOUNT, PROJECT, "b", [{"kind": "p"}, {"input": 1}])
    with pytest.raises(jobstate.InvalidArgument, match="idempotency_key"):
        engine.create_batch(ACCOUNT, PROJECT, "b",
                            [{"kind": "p", "idempotency_key": "k"}])
    with pytest.raises(TypeError):
        engine.create_batch(ACCOUNT, PROJECT, "b", [("p", None)])
    with pytest.raises(TypeError):
        engine.create_batch(ACCOUNT, PROJECT, "b", {"kind": "p"})
    make_batch(engine, 1, idempotency_key="k1")
    with pytest.raises(jobstate.AlreadyExists):
        engine.create_batch(ACCOUNT, PROJECT, "batch_parse", [{"kind": "p"}],
                            {"files": 99}, idempotency_key="k1")
    with pytest.raises(jobstate.NotFound):
        engine.children((ACCOUNT, PROJECT, "01932c07-8a1b-7c3d-9e4f-0123456789ab"))
    batch = make_batch(engine, 1)
    with pytest.raises(jobstate.NotFound):
        engine.children(("acme", "other-project", batch.parent.id))
    with pytest.raises(jobstate.InvalidArgument, match="not a batch"):
        engine.children(make_job())
    with pytest.raises(jobstate.InvalidArgument):
        engine.children(batch.parent, limit=0)
    with pytest.raises(jobstate.InvalidArgument):
        engine.children(batch.parent, cursor="garbage")
    with pytest.raises(ValueError):
        engine.children(batch.parent, status="done")
    engine.cancel(batch.parent)
    engine.purge()
    with pytest.raises(jobstate.Gone):
        engine.children(batch.parent)


def test_too_many_children(db_path):
    with jobstate.Engine(db_path, durability="no_sync",
                         limits={"max_batch_children": 3}) as engine:
        with pytest.raises(jobstate.TooLarge, match="max_batch_children"):
            make_batch(engine, 4)
        assert engine.last_sequence() == 0  # nothing written
        assert len(make_batch(engine, 3).child_ids) == 3


def test_concurrent_children_from_threads(engine):
    batch = make_batch(engine, 40)
    errors = []

    def worker(ids):
        try:
            for i, job_id in enumerate(ids):
                ref = (ACCOUNT, PROJECT, job_id)
                engine.start(ref)
                if i % 3 == 0:
                    engine.fail(ref, "e", "failed")
                else:
                    engine.complete(ref)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(batch.child_ids[k::4],))
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    p = engine.get(batch.parent)
    assert p.counts.total == 40 and p.counts.pending == 0
    assert p.counts.succeeded + p.counts.failed == 40
    assert p.status is Status.PARTIALLY_SUCCEEDED


def test_blocking_wait_on_parent_follows_the_batch(engine):
    batch = make_batch(engine, 2)

    def work():
        for job_id in batch.child_ids:
            engine.complete(engine.start((ACCOUNT, PROJECT, job_id)))

    t = threading.Timer(0.05, work)
    t.start()
    done = engine.wait(batch.parent, timeout=10)
    t.join()
    assert done.status is Status.SUCCEEDED and done.counts.succeeded == 2


def test_wait_async_on_parent_wakes_on_child_changes(engine):
    batch = make_batch(engine, 3)

    async def main():
        parent = batch.parent
        seen = []
        waiting = asyncio.ensure_future(
            engine.wait_async(parent, timeout=10, changed_after=parent.revision))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        await asyncio.to_thread(engine.start, child(engine, batch, 0))
        parent = await waiting
        seen.append((parent.status, parent.counts.running))
        # One long-poll after another follows the whole batch.
        for i in range(3):
            ref = (ACCOUNT, PROJECT, batch.child_ids[i])
            waiting = asyncio.ensure_future(
                engine.wait_async(parent, timeout=10, changed_after=parent.revision))
            await asyncio.sleep(0.01)
            assert not waiting.done()
            if i > 0:
                await asyncio.to_thread(engine.start, ref)
                parent = await waiting
                waiting = asyncio.ensure_future(
                    engine.wait_async(parent, timeout=10,
                                      changed_after=parent.revision))
            await asyncio.to_thread(engine.complete, ref)
            parent = await waiting
            seen.append((parent.status, parent.counts.succeeded))
        return seen, await engine.wait_async(parent, timeout=0)

    seen, final = asyncio.run(main())
    assert seen == [
        (Status.RUNNING, 1),
        (Status.RUNNING, 1),
        (Status.RUNNING, 2),
        (Status.SUCCEEDED, 3),
    ]
    assert final.status is Status.SUCCEEDED


def test_wait_async_on_parent_cancelled_with_task(engine):
    batch = make_batch(engine, 1)

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(engine.wait_async(batch.parent), 0.05)
        # The engine wait is gone; the batch still finishes normally.
        await asyncio.to_thread(engine.cancel, batch.parent)
        return await engine.wait_async(batch.parent, timeout=5)

    assert asyncio.run(main()).status is Status.CANCELLED
