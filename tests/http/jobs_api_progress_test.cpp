// The jobs API's `progress` shows 100 only once the job completed: an
// unfinished, failed or cancelled job shows at most 99, however close its
// percent or counters come.
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace jobstate::test {
namespace {

namespace json = boost::json;

class JobsApiProgress : public server_test {
 protected:
  created_batch batch_of(std::size_t children) {
    batch_request b;
    b.parent.account_id = "acme";
    b.parent.project_id = "default";  // the jobs API's project
    b.parent.kind = "batch_parse";
    b.children.assign(children, batch_child{"parse", nullptr, {}, {}});
    return engine_->create_batch(b).value();
  }
  job running() {
    const job j = create_job();
    return engine_->start(ref(j)).value();
  }
  json::value progress_of(const job& j) {
    auto a = get("/v1/api/jobs/" + j.id.to_string());
    EXPECT_EQ(a.status, 200) << a.body;
    return a.json().at("data").at("progress");
  }
};

TEST_F(JobsApiProgress, ShowsAtMost99BeforeTheJobCompletes) {
  for (const double percent : {99.4, 99.5, 99.6, 99.99, 100.0}) {
    const job j = running();
    progress p;
    p.percent = percent;
    engine_->report_progress(ref(j), p).value();
    EXPECT_EQ(progress_of(j), 99) << percent << "% running";
  }
  // Below the top, the reported percent still rounds to the nearest.
  const job j = running();
  progress p;
  p.percent = 98.6;
  engine_->report_progress(ref(j), p).value();
  EXPECT_EQ(progress_of(j), 99);
  p.percent = 42.5;
  engine_->report_progress(ref(j), p).value();
  EXPECT_EQ(progress_of(j), 43);
}

TEST_F(JobsApiProgress, CountersCompleteButStillRunningShow99) {
  const job j = running();
  progress p;
  p.counts = progress_counts{};
  p.counts->total = 4;
  p.counts->succeeded = 3;
  p.counts->failed = 1;
  engine_->report_progress(ref(j), p).value();
  EXPECT_EQ(progress_of(j), 99);
  p.counts->succeeded = 2;
  p.counts->pending = 1;
  engine_->report_progress(ref(j), p).value();
  EXPECT_EQ(progress_of(j), 75);
}

TEST_F(JobsApiProgress, BatchOneChildShortOfDoneShows99) {
  // 399 of 400 children finished, the last one running: the parent runs,
  // and its own percent is 99.75.
  const created_batch batch = batch_of(400);
  engine_->start({"acme", "default", batch.child_ids[399]}).value();
  for (std::size_t i = 0; i < 399; ++i) {
    engine_->cancel({"acme", "default", batch.child_ids[i]}).value();
  }
  const job parent = engine_->get(ref(batch.parent)).value();
  ASSERT_EQ(parent.status, job_status::running);
  ASSERT_DOUBLE_EQ(*parent.progress.percent, 99.75);
  EXPECT_EQ(progress_of(parent), 99);
}

TEST_F(JobsApiProgress, Shows100OnceCompletedAndAtMost99WhenFailedOrCancelled) {
  const job done = running();
  progress p;
  p.percent = 50;
  engine_->report_progress(ref(done), p).value();
  engine_->complete(ref(done), completion{}).value();
  EXPECT_EQ(progress_of(done), 100);

  const job failed = running();
  p.percent = 100;
  engine_->report_progress(ref(failed), p).value();
  completion f;
  f.status = job_status::failed;
  f.error = job_error{"bad_pdf", "cannot read page 3"};
  engine_->complete(ref(failed), f).value();
  EXPECT_EQ(progress_of(failed), 99);

  const job cancelled = running();
  engine_->report_progress(ref(cancelled), p).value();
  engine_->cancel(ref(cancelled), "not needed").value();
  EXPECT_EQ(progress_of(cancelled), 99);
}

}  // namespace
}  // namespace jobstate::test
