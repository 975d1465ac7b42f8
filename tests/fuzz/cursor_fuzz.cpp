// Fuzz target: list cursors, change-feed resume positions and job ids, as a
// client hands them back (next_cursor, last_sequence, ids in URLs). Runs
// against a small real database made once per process. Must not crash; a
// bad cursor is invalid_argument, a stale position expired or
// invalid_argument; a page never repeats the cursor's job.
#include <jobstate/jobstate.hpp>

#include "fuzz_database.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

using namespace jobstate;

[[noreturn]] void fail() { std::abort(); }

options database_options() {
  options opts;
  opts.map_size = std::uint64_t{4} << 20;
  opts.feed_retention_count = 20;  // So that early positions expire.
  return opts;
}

struct fixture {
  fuzz::fuzz_database db{database_options()};
  engine* e = &db.get();
  fixture() {
    for (int i = 0; i < 40; ++i) {
      create_request r;
      r.account_id = "acct";
      r.project_id = "proj";
      r.kind = i % 2 ? "even" : "odd";
      auto c = e->create(r);
      if (!c) fail();
      if (i % 3 == 0) (void)e->start({"acct", "proj", c->job.id});
    }
  }
};

fixture& the_fixture() {
  static fixture f;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  fixture& f = the_fixture();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // A list cursor, with a limit and a filter taken from the first byte.
  list_query q;
  q.account_id = "acct";
  q.project_id = "proj";
  q.limit = size > 0 ? 1 + data[0] % 8 : 1;
  if (size > 0 && (data[0] & 0x80) != 0) q.status = job_status::pending;
  if (size > 0 && (data[0] & 0x40) != 0) q.kind = "even";
  q.cursor = std::string(text.substr(size > 0 ? 1 : 0));
  auto page = f.e->list(q);
  if (!page) {
    if (page.code() != errc::invalid_argument) fail();
  } else {
    if (page->jobs.size() > q.limit) fail();
    if (!page->next_cursor.empty()) {
      // Following the cursor it gave works and moves on.
      list_query next = q;
      next.cursor = page->next_cursor;
      auto more = f.e->list(next);
      if (!more) fail();
      if (!more->jobs.empty() &&
          more->jobs.front().id >= page->jobs.back().id) {
        fail();
      }
    }
  }

  // A job id as text: parses only to something that prints back the same.
  if (auto id = job_id::parse(text)) {
    if (job_id::parse(id->to_string()) != id) fail();
    auto j = f.e->get({"acct", "proj", *id});
    if (!j && j.code() != errc::not_found &&
        j.code() != errc::invalid_argument) {
      fail();
    }
  }

  // A change-feed position.
  if (size >= 8) {
    std::uint64_t after = 0;
    std::memcpy(&after, data, 8);
    after %= 200;
    auto changes = f.e->changes(after, 1 + data[0] % 16);
    if (!changes && changes.code() != errc::invalid_argument &&
        changes.code() != errc::expired) {
      fail();
    }
  }
  return 0;
}
