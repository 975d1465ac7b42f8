"""Progress counters: each part is counted once (total = succeeded + failed
+ cancelled + pending); what is left out is derived, or the report is
refused. Never a pending of 0 that nobody gave."""

import pytest

import jobstate
from jobstate import ProgressCounts


@pytest.mark.parametrize("given, expected", [
    # pending derived from total: nothing is claimed finished.
    ({"total": 5}, ProgressCounts(total=5, pending=5)),
    ({"total": 4, "succeeded": 2}, ProgressCounts(total=4, succeeded=2, pending=2)),
    ({"total": 6, "succeeded": 2, "failed": 1, "cancelled": 1, "running": 1},
     ProgressCounts(total=6, succeeded=2, failed=1, cancelled=1, pending=2,
                    running=1)),
    ({"total": 3, "succeeded": 3, "partially_succeeded": 1},
     ProgressCounts(total=3, succeeded=3, partially_succeeded=1)),
    # total derived from the parts.
    ({"succeeded": 2, "failed": 1, "pending": 3},
     ProgressCounts(total=6, succeeded=2, failed=1, pending=3)),
    ({"pending": 0}, ProgressCounts()),
    # everything given.
    ({"total": 4, "succeeded": 2, "pending": 2},
     ProgressCounts(total=4, succeeded=2, pending=2)),
    (ProgressCounts(total=4, succeeded=1, failed=1, pending=2, running=2),
     ProgressCounts(total=4, succeeded=1, failed=1, pending=2, running=2)),
])
def test_counts_are_completed(engine, running_job, given, expected):
    job = engine.report_progress(running_job, 10, counts=given)
    assert job.counts == expected
    c = job.counts
    assert c.succeeded + c.failed + c.cancelled + c.pending == c.total
    assert c.finished == c.succeeded + c.failed + c.cancelled
    assert engine.get(running_job).counts == expected


@pytest.mark.parametrize("given, says", [
    ({"succeeded": 1}, "total or pending"),  # nothing to derive from
    ({}, "total or pending"),
    ({"total": 2, "succeeded": 3}, "more than total"),
    ({"total": 5, "succeeded": 1, "pending": 1}, "not total"),  # 3 unaccounted
    ({"total": 1, "pending": 2}, "more than total"),
    ({"total": 4, "succeeded": 2, "pending": 2, "running": 3}, "running"),
    ({"total": 1, "succeeded": 1, "partially_succeeded": 2}, "partially_succeeded"),
    ({"total": 3, "succeded": 3}, "succeded"),  # a misspelt member
    ({"total": -1}, "total"),
    ({"total": 2.5}, "total"),
    ({"total": True}, "total"),
    # A ProgressCounts is taken as given: its pending defaults to 0.
    (ProgressCounts(total=5), "not total"),
    (ProgressCounts(total=4, succeeded=2), "not total"),
])
def test_counts_that_do_not_add_up_are_refused(engine, running_job, given, says):
    with pytest.raises(jobstate.InvalidArgument) as info:
        engine.report_progress(running_job, 10, counts=given)
    assert says in str(info.value)
    assert engine.get(running_job).revision == running_job.revision


def test_counts_of_the_wrong_type(engine, running_job):
    with pytest.raises(TypeError):
        engine.report_progress(running_job, counts=[5, 0, 0, 0, 5])


def test_a_write_may_answer_without_the_history(engine, running_job,
                                               make_job):
    for percent in range(1, 6):
        engine.report_progress(running_job, percent)
    lean = engine.report_progress(running_job, 50, with_history=False)
    assert lean.history == []
    assert lean.progress.percent == 50
    whole = engine.get(running_job)
    assert len(whole.history) == 8
    assert lean.revision == whole.revision
    done = engine.complete(running_job, {"ok": True}, with_history=False)
    assert done.history == []
    assert done.status == jobstate.Status.SUCCEEDED
    assert len(engine.get(running_job).history) == 9
    assert engine.cancel(make_job(), with_history=False).history == []
    assert engine.start(make_job(), with_history=False).history == []
