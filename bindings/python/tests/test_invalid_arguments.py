"""Every invalid argument value of the public API raises InvalidArgument
(also a ValueError), never a bare ValueError, UnicodeEncodeError or
OverflowError, and nothing is written. Arguments of the wrong type raise
TypeError."""

import asyncio
import math
import os

import pytest

import jobstate
from jobstate import ProgressCounts

from conftest import ACCOUNT, PROJECT

S = "\ud800"  # a lone surrogate: a str that UTF-8 cannot encode
NEVER = 10**6  # a sequence beyond the feed's end


def run(coro):
    return asyncio.run(coro)


# Each case: (engine, pending job, running job, batch parent, tmp_path) -> call.
CASES = {
    # --- Engine(...)
    "open durability": lambda e, p, r, b, t: jobstate.Engine(t / "x", durability="sometimes"),
    "open durability surrogate": lambda e, p, r, b, t: jobstate.Engine(t / "x", durability=S),
    "open path NUL": lambda e, p, r, b, t: jobstate.Engine(str(t / "x\0y")),
    "open path empty": lambda e, p, r, b, t: jobstate.Engine(""),
    "open map_size": lambda e, p, r, b, t: jobstate.Engine(t / "x", map_size=-1),
    "open max_map_size": lambda e, p, r, b, t: jobstate.Engine(t / "x", max_map_size=1),
    "open tombstone_retention": lambda e, p, r, b, t: jobstate.Engine(t / "x", tombstone_retention=-1),
    "open tombstone_retention nan": lambda e, p, r, b, t: jobstate.Engine(t / "x", tombstone_retention=math.nan),
    "open tombstone_retention inf": lambda e, p, r, b, t: jobstate.Engine(t / "x", tombstone_retention=math.inf),
    "open feed_retention_count": lambda e, p, r, b, t: jobstate.Engine(t / "x", feed_retention_count=-1),
    "open feed_retention_age": lambda e, p, r, b, t: jobstate.Engine(t / "x", feed_retention_age=-5),
    "open max_readers": lambda e, p, r, b, t: jobstate.Engine(t / "x", max_readers=0),
    "open max_batch": lambda e, p, r, b, t: jobstate.Engine(t / "x", max_batch=-1),
    "open limits value": lambda e, p, r, b, t: jobstate.Engine(t / "x", limits={"max_kind_size": -1}),
    "open limits name": lambda e, p, r, b, t: jobstate.Engine(t / "x", limits={"max_kindsize": 8}),
    "open limits surrogate": lambda e, p, r, b, t: jobstate.Engine(t / "x", limits={S: 8}),
    # --- create
    "create account_id": lambda e, p, r, b, t: e.create(S, PROJECT, "k"),
    "create account_id empty": lambda e, p, r, b, t: e.create("", PROJECT, "k"),
    "create project_id": lambda e, p, r, b, t: e.create(ACCOUNT, S, "k"),
    "create kind": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, S),
    "create kind empty": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, ""),
    "create input value": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, "k", {"a": [1, S]}),
    "create input key": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, "k", {S: 1}),
    "create input int": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, "k", 2**64),
    "create input nan": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, "k", math.nan),
    "create source_id": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, "k", source_id=S),
    "create correlation_id": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, "k", correlation_id=S),
    "create idempotency_key": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, "k", idempotency_key=S),
    "create details": lambda e, p, r, b, t: e.create(ACCOUNT, PROJECT, "k", details=S),
    # --- create_batch
    "create_batch kind": lambda e, p, r, b, t: e.create_batch(ACCOUNT, PROJECT, S, [{"kind": "c"}]),
    "create_batch no children": lambda e, p, r, b, t: e.create_batch(ACCOUNT, PROJECT, "b", []),
    "create_batch child kind": lambda e, p, r, b, t: e.create_batch(ACCOUNT, PROJECT, "b", [{"kind": S}]),
    "create_batch child input": lambda e, p, r, b, t: e.create_batch(
        ACCOUNT, PROJECT, "b", [jobstate.BatchChild("c", {"x": S})]),
    "create_batch child member": lambda e, p, r, b, t: e.create_batch(
        ACCOUNT, PROJECT, "b", [{"kind": "c", "inptu": 1}]),
    "create_batch source_id": lambda e, p, r, b, t: e.create_batch(
        ACCOUNT, PROJECT, "b", [{"kind": "c"}], source_id=S),
    # --- children, iter_children
    "children status": lambda e, p, r, b, t: e.children(b, status="finished"),
    "children limit": lambda e, p, r, b, t: e.children(b, limit=0),
    "children limit negative": lambda e, p, r, b, t: e.children(b, limit=-1),
    "children cursor": lambda e, p, r, b, t: e.children(b, cursor=S),
    "children cursor garbage": lambda e, p, r, b, t: e.children(b, cursor="garbage"),
    "children account_id": lambda e, p, r, b, t: e.children(b.id, account_id=S, project_id=PROJECT),
    "iter_children status": lambda e, p, r, b, t: e.iter_children(b, status="x"),
    "iter_children page_size": lambda e, p, r, b, t: list(e.iter_children(b, page_size=0)),
    # --- get and the job arguments of every method
    "get id": lambda e, p, r, b, t: e.get(S, account_id=ACCOUNT, project_id=PROJECT),
    "get id not a uuid": lambda e, p, r, b, t: e.get("nope", account_id=ACCOUNT, project_id=PROJECT),
    "get account_id": lambda e, p, r, b, t: e.get(p.id, account_id=S, project_id=PROJECT),
    "get project_id": lambda e, p, r, b, t: e.get((ACCOUNT, S, p.id)),
    "get ref": lambda e, p, r, b, t: e.get(jobstate.JobRef(S, PROJECT, p.id)),
    # --- start
    "start expected_revision": lambda e, p, r, b, t: e.start(p, expected_revision=-1),
    "start details": lambda e, p, r, b, t: e.start(p, details={"d": S}),
    "start id": lambda e, p, r, b, t: e.start(S, account_id=ACCOUNT, project_id=PROJECT),
    # --- report_progress
    "progress percent": lambda e, p, r, b, t: e.report_progress(r, -1),
    "progress percent high": lambda e, p, r, b, t: e.report_progress(r, 101),
    "progress percent nan": lambda e, p, r, b, t: e.report_progress(r, math.nan),
    "progress counts": lambda e, p, r, b, t: e.report_progress(r, counts={"total": 2, "succeeded": 3}),
    "progress counts member": lambda e, p, r, b, t: e.report_progress(r, counts={"totl": 3}),
    "progress counts unset": lambda e, p, r, b, t: e.report_progress(r, counts=ProgressCounts(total=3)),
    "progress details": lambda e, p, r, b, t: e.report_progress(r, progress_details=[S]),
    "progress expected_revision": lambda e, p, r, b, t: e.report_progress(r, 1, expected_revision=-1),
    # --- complete, fail
    "complete status": lambda e, p, r, b, t: e.complete(r, status="done"),
    "complete status surrogate": lambda e, p, r, b, t: e.complete(r, status=S),
    "complete status cancelled": lambda e, p, r, b, t: e.complete(r, status="cancelled"),
    "complete result": lambda e, p, r, b, t: e.complete(r, {"x": S}),
    "complete error pair": lambda e, p, r, b, t: e.complete(r, status="failed", error=("code",)),
    "complete error message": lambda e, p, r, b, t: e.complete(r, status="failed", error=("c", S)),
    "complete error dict": lambda e, p, r, b, t: e.complete(r, status="failed", error={"code": S, "message": "m"}),
    "complete no error": lambda e, p, r, b, t: e.complete(r, status="failed"),
    "fail code": lambda e, p, r, b, t: e.fail(r, S, "m"),
    "fail code empty": lambda e, p, r, b, t: e.fail(r, "", "m"),
    "fail message": lambda e, p, r, b, t: e.fail(r, "c", S),
    # --- cancel, rerun
    "cancel reason": lambda e, p, r, b, t: e.cancel(p, S),
    "cancel expected_revision": lambda e, p, r, b, t: e.cancel(p, expected_revision=-1),
    "rerun correlation_id": lambda e, p, r, b, t: e.rerun(r, correlation_id=S),
    "rerun details": lambda e, p, r, b, t: e.rerun(r, details={S: 1}),
    # --- list, iter_jobs
    "list account_id": lambda e, p, r, b, t: e.list(S, PROJECT),
    "list project_id": lambda e, p, r, b, t: e.list(ACCOUNT, S),
    "list status": lambda e, p, r, b, t: e.list(ACCOUNT, PROJECT, status="finished"),
    "list kind": lambda e, p, r, b, t: e.list(ACCOUNT, PROJECT, kind=S),
    "list parent_id": lambda e, p, r, b, t: e.list(ACCOUNT, PROJECT, parent_id="x"),
    "list original_job_id": lambda e, p, r, b, t: e.list(ACCOUNT, PROJECT, original_job_id=S),
    "list limit": lambda e, p, r, b, t: e.list(ACCOUNT, PROJECT, limit=0),
    "list limit negative": lambda e, p, r, b, t: e.list(ACCOUNT, PROJECT, limit=-1),
    "list limit huge": lambda e, p, r, b, t: e.list(ACCOUNT, PROJECT, limit=2**70),
    "list cursor": lambda e, p, r, b, t: e.list(ACCOUNT, PROJECT, cursor=S),
    "iter_jobs status": lambda e, p, r, b, t: e.iter_jobs(ACCOUNT, PROJECT, status="x"),
    "iter_jobs page_size": lambda e, p, r, b, t: list(e.iter_jobs(ACCOUNT, PROJECT, page_size=0)),
    # --- purge
    "purge older_than": lambda e, p, r, b, t: e.purge(-1),
    "purge older_than nan": lambda e, p, r, b, t: e.purge(math.nan),
    "purge older_than inf": lambda e, p, r, b, t: e.purge(math.inf),
    "purge max_jobs": lambda e, p, r, b, t: e.purge(0, max_jobs=0),
    "purge max_jobs negative": lambda e, p, r, b, t: e.purge(0, max_jobs=-1),
    # --- wait, wait_async
    "wait timeout": lambda e, p, r, b, t: e.wait(r, -1),
    "wait timeout nan": lambda e, p, r, b, t: e.wait(r, math.nan),
    "wait timeout -inf": lambda e, p, r, b, t: e.wait(r, -math.inf),
    "wait timeout huge negative": lambda e, p, r, b, t: e.wait(r, -(10**400)),
    "wait statuses": lambda e, p, r, b, t: e.wait(r, 0, statuses=["running", "bogus"]),
    "wait statuses surrogate": lambda e, p, r, b, t: e.wait(r, 0, statuses=S),
    "wait statuses empty": lambda e, p, r, b, t: e.wait(r, 0, statuses=[]),
    "wait both": lambda e, p, r, b, t: e.wait(r, 0, statuses=["running"], changed_after=1),
    "wait changed_after": lambda e, p, r, b, t: e.wait(r, 0, changed_after=-1),
    "wait changed_after huge": lambda e, p, r, b, t: e.wait(r, 0, changed_after=2**70),
    "wait id": lambda e, p, r, b, t: e.wait(S, 0, account_id=ACCOUNT, project_id=PROJECT),
    "wait_async timeout": lambda e, p, r, b, t: run(e.wait_async(r, -1)),
    "wait_async statuses": lambda e, p, r, b, t: run(e.wait_async(r, 0, statuses=["bogus"])),
    "wait_async both": lambda e, p, r, b, t: run(e.wait_async(r, 0, statuses=["running"], changed_after=1)),
    "wait_async changed_after": lambda e, p, r, b, t: run(e.wait_async(r, 0, changed_after=-1)),
    "wait_async account_id": lambda e, p, r, b, t: run(e.wait_async(r.id, 0, account_id=S, project_id=PROJECT)),
    # --- changes, watch, watch_async
    "changes after": lambda e, p, r, b, t: e.changes(-1),
    "changes after huge": lambda e, p, r, b, t: e.changes(2**70),
    "changes after beyond": lambda e, p, r, b, t: e.changes(NEVER),
    "changes limit": lambda e, p, r, b, t: e.changes(0, 0),
    "changes limit negative": lambda e, p, r, b, t: e.changes(0, -1),
    "changes limit huge": lambda e, p, r, b, t: e.changes(0, 2**64),
    "watch after": lambda e, p, r, b, t: e.watch(-1, bookmark_after=0),
    "watch after beyond": lambda e, p, r, b, t: e.watch(NEVER, bookmark_after=0),
    "watch limit": lambda e, p, r, b, t: e.watch(0, limit=0, bookmark_after=0),
    "watch bookmark_after": lambda e, p, r, b, t: e.watch(0, bookmark_after=-1),
    "watch bookmark_after nan": lambda e, p, r, b, t: e.watch(0, bookmark_after=math.nan),
    "watch account_id": lambda e, p, r, b, t: e.watch(0, account_id=S, bookmark_after=0),
    "watch project_id": lambda e, p, r, b, t: e.watch(0, project_id=S, bookmark_after=0),
    "watch_async after": lambda e, p, r, b, t: run(e.watch_async(-1, bookmark_after=0)),
    "watch_async bookmark_after": lambda e, p, r, b, t: run(e.watch_async(0, bookmark_after=-1)),
    "watch_async account_id": lambda e, p, r, b, t: run(e.watch_async(0, account_id=S, bookmark_after=0)),
}


# A watch checks its request when the engine starts it, and an asynchronous
# completion carries an error code only: the detail is lost on the way.
DETAIL_LOST = {"watch after beyond", "watch limit"}


@pytest.fixture
def scene(engine, make_job, running_job):
    batch = engine.create_batch(ACCOUNT, PROJECT, "b", [{"kind": "c"}])
    return engine, make_job(), running_job, batch.parent


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_argument(scene, tmp_path, case):
    engine, pending, running, parent = scene
    before = engine.last_sequence()
    with pytest.raises(jobstate.InvalidArgument) as info:
        CASES[case](engine, pending, running, parent, tmp_path)
    e = info.value
    assert isinstance(e, ValueError)
    assert e.code is jobstate.ErrorCode.INVALID_ARGUMENT
    assert e.detail in e.message
    if case not in DETAIL_LOST:
        assert e.detail, e.message
    assert engine.last_sequence() == before  # nothing was written
    assert not (tmp_path / "x").exists()


def test_a_lone_surrogate_is_named_where_it_is(engine):
    with pytest.raises(jobstate.InvalidArgument) as info:
        engine.create(ACCOUNT, PROJECT, "k", {"pages": [1, {"title": S}]})
    assert "input.pages[1].title" in str(info.value)
    assert "U+D800" in str(info.value)
    with pytest.raises(jobstate.InvalidArgument) as info:
        engine.get(S, account_id=ACCOUNT, project_id=PROJECT)
    assert "id contains a lone surrogate" in str(info.value)


@pytest.mark.parametrize("call", [
    lambda e, j: e.get(42),
    lambda e, j: e.cancel(j, 5),
    lambda e, j: e.changes("0"),
    lambda e, j: e.changes(0, 1.5),
    lambda e, j: e.wait(j, "1"),
    lambda e, j: e.create(ACCOUNT, PROJECT, "k", {1: "int key"}),
    lambda e, j: e.report_progress(j, counts=5),
])
def test_arguments_of_the_wrong_type_raise_type_error(engine, make_job, call):
    with pytest.raises(TypeError):
        call(engine, make_job())


def test_a_path_that_is_not_utf8_is_a_path(tmp_path):
    # os.fsdecode gives undecodable bytes of a file name as lone surrogates
    # (surrogateescape): such a str is a valid path, not an invalid argument.
    path = tmp_path / os.fsdecode(b"db-\xff")
    with jobstate.Engine(path, durability="no_sync") as e:
        job = e.create(ACCOUNT, PROJECT, "k")
    assert (tmp_path.joinpath(os.fsdecode(b"db-\xff"))).is_dir()
    assert os.fsencode(path) in [os.fsencode(p) for p in tmp_path.iterdir()]
    with jobstate.Engine(path) as e:
        assert e.get(job).id == job.id
        assert e.path == str(path)
