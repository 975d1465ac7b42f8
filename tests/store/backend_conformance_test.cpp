// The storage-backend contract (lib/store/backend.hpp), run against every
// backend: the same cases, so a backend that passes here can carry the job
// store. Each backend is one entry of `backends` below; each test opens it on
// a fresh directory.
//
// Hangs: every wait on another thread is bounded by test::hang_guard, and
// the suite's watchdog (tests/support/watchdog.cpp) ends a test that
// deadlocks outright, so a backend that never lets a writer in fails instead
// of hanging the run.
#include <jobstate/options.hpp>
#include <jobstate/result.hpp>

#include "store/backend.hpp"
#include "store/lmdb_backend.hpp"
#include "support/jobs.hpp"
#include "support/temp_dir.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace jobstate::store {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

using test::hang_guard;
using test::ok;
using test::ready_within;

constexpr std::uint64_t one_mib = std::uint64_t{1} << 20;

// ------------------------------------------------------------ backends

/// A backend under test: its name (the test name's suffix) and how to open
/// it on a test's directory with the given options. Opening again on the
/// same directory and options must find what was committed before.
struct backend_kind {
  const char* name;
  std::function<std::unique_ptr<backend>(const std::filesystem::path& dir,
                                         const options&)>
      open;
};

void PrintTo(const backend_kind& kind, std::ostream* os) { *os << kind.name; }

const backend_kind backends[] = {
    {"lmdb",
     [](const std::filesystem::path&, const options& opts) {
       // LMDB keeps its files in opts.path (under the test's directory),
       // which must exist.
       std::filesystem::create_directories(opts.path);
       return std::unique_ptr<backend>(lmdb_backend::open(opts).value());
     }},
    // Pages copied into the file with pwrite, as where the file system
    // cannot reserve a writable map.
    {"lmdb_without_write_map",
     [](const std::filesystem::path&, options opts) {
       std::filesystem::create_directories(opts.path);
       opts.write_map = false;
       return std::unique_ptr<backend>(lmdb_backend::open(opts).value());
     }},
};

class BackendConformance : public ::testing::TestWithParam<backend_kind> {
 protected:
  /// Opens the backend under test on this test's directory with options_
  /// (throws, failing the test, when it cannot).
  std::unique_ptr<backend> open() const {
    return GetParam().open(dir_.path(), options_);
  }

  test::temp_dir dir_{"backend"};
  options options_ = test::fast_options(dir_.path());
};

INSTANTIATE_TEST_SUITE_P(Backends, BackendConformance,
                         ::testing::ValuesIn(backends),
                         [](const ::testing::TestParamInfo<backend_kind>& i) {
                           return std::string(i.param.name);
                         });

// ------------------------------------------------------------ helpers

/// Passes when `r` failed with `expected`.
template <class T>
::testing::AssertionResult fails_with(const result<T>& r, errc expected) {
  const std::string wanted = make_error_code(expected).message();
  if (r.has_value()) {
    return ::testing::AssertionFailure() << "succeeded; expected " << wanted;
  }
  if (r.code() == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "failed with \"" << r.error().message() << "\" (" << r.code()
         << "); expected " << wanted;
}

using maybe_value = std::optional<std::string>;

/// What `key` holds in `view`, copied (a view ends with its snapshot or the
/// batch's next write). A failed read fails the test and reads as a value
/// no test writes, so the comparison that follows fails too.
maybe_value value_of(const snapshot& view, table t, std::string_view key) {
  auto v = view.get(t, key);
  if (!v) {
    ADD_FAILURE() << "get failed: " << v.error().message();
    return "<get failed>";
  }
  if (!*v) return std::nullopt;
  return std::string(**v);
}

/// The number of keys in `t` (a failed count fails the test and reads as
/// a number no test expects).
std::uint64_t count_of(const snapshot& view, table t) {
  auto n = view.count(t);
  if (!n) {
    ADD_FAILURE() << "count failed: " << n.error().message();
    return ~std::uint64_t{0};
  }
  return *n;
}

/// What a cursor walk saw: each key with its value, in the walk's order.
struct entry {
  std::string key;
  std::string value;
  friend bool operator==(const entry&, const entry&) = default;
};
void PrintTo(const entry& e, std::ostream* os) {
  *os << ::testing::PrintToString(e.key) << " = "
      << ::testing::PrintToString(e.value);
}

/// Every entry of `t` in `view`: first() then next() when `forward`, last()
/// then prev() otherwise.
std::vector<entry> walk(const snapshot& view, table t, bool forward = true) {
  std::vector<entry> seen;
  auto opened = view.open_cursor(t);
  if (!opened) {
    ADD_FAILURE() << "open_cursor failed: " << opened.error().message();
    return seen;
  }
  cursor& c = **opened;
  for (auto on = forward ? c.first() : c.last();;
       on = forward ? c.next() : c.prev()) {
    if (!on) {
      ADD_FAILURE() << "cursor step failed: " << on.error().message();
      break;
    }
    if (!*on) break;
    seen.push_back({std::string(c.key()), std::string(c.value())});
  }
  return seen;
}

/// `n` as 8 bytes, most significant first: such keys sort as their numbers.
std::string big_endian(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, n >>= 8) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(n & 0xff);
  }
  return s;
}

/// A value of `size` bytes that differs for each `n` (its first bytes are
/// n's), so that a value read back under the wrong key shows.
std::string value_numbered(std::uint64_t n, std::size_t size) {
  std::string v(size, static_cast<char>('a' + n % 26));
  const std::string tag = big_endian(n);
  v.replace(0, std::min(size, tag.size()), tag, 0, std::min(size, tag.size()));
  return v;
}

/// Commits `value` at `key` of `t` in a batch of its own.
result<void> commit_one(backend& db, table t, std::string_view key,
                        std::string_view value) {
  auto w = db.begin_write();
  if (!w) return w.error();
  if (auto r = (*w)->put(t, key, value); !r) {
    (*w)->abort();
    return r;
  }
  return (*w)->commit();
}

/// Puts values_numbered(first + i, size) at big_endian(first + i) of `t`
/// for i < count in one batch, and commits it. On failure the batch is
/// aborted (and ended) before this returns, so the caller may make room.
result<void> commit_values(backend& db, table t, std::uint64_t first,
                           std::uint64_t count, std::size_t size) {
  auto w = db.begin_write();
  if (!w) return w.error();
  for (std::uint64_t n = first; n < first + count; ++n) {
    if (auto r = (*w)->put(t, big_endian(n), value_numbered(n, size)); !r) {
      (*w)->abort();
      return r;
    }
  }
  return (*w)->commit();
}

/// Deletes big_endian(n) of `t` for n < count in one batch and commits it
/// (aborted on failure).
result<void> delete_values(backend& db, table t, std::uint64_t count) {
  auto w = db.begin_write();
  if (!w) return w.error();
  for (std::uint64_t n = 0; n < count; ++n) {
    if (auto r = (*w)->del(t, big_endian(n)); !r) {
      (*w)->abort();
      return r;
    }
  }
  return (*w)->commit();
}

/// Commits one value of `size` bytes at a time, at big_endian(0), (1), ...
/// of `t`, until a put or commit fails, which must be with storage_full.
/// Returns how many committed. `most` bounds the loop: more than the store
/// can hold, so reaching it fails the test.
std::uint64_t fill_until_full(backend& db, table t, std::size_t size,
                              std::uint64_t most) {
  for (std::uint64_t n = 0; n < most; ++n) {
    auto r = commit_values(db, t, n, 1, size);
    if (!r) {
      EXPECT_TRUE(fails_with(r, errc::storage_full));
      return n;
    }
  }
  ADD_FAILURE() << most << " values of " << size
                << " bytes committed: the store never filled";
  return most;
}

/// Passes when `view` holds exactly the values commit_values(.., 0, count,
/// size) wrote in `t`.
::testing::AssertionResult holds_values(const snapshot& view, table t,
                                        std::uint64_t count, std::size_t size) {
  const std::uint64_t found = count_of(view, t);
  if (found != count) {
    return ::testing::AssertionFailure()
           << found << " keys, expected " << count;
  }
  for (std::uint64_t n = 0; n < count; ++n) {
    if (value_of(view, t, big_endian(n)) != value_numbered(n, size)) {
      return ::testing::AssertionFailure() << "value " << n << " differs";
    }
  }
  return ::testing::AssertionSuccess();
}

// ------------------------------------------------- reads, writes, deletes

TEST_P(BackendConformance, PutThenGetReturnsTheValueInTheBatchAndAfterCommit) {
  auto db = open();
  {
    auto w = db->begin_write().value();
    ASSERT_TRUE(ok(w->put(table::jobs, "k", "first")));
    EXPECT_EQ(value_of(*w, table::jobs, "k"), "first");
    // upsert (the default mode) replaces.
    ASSERT_TRUE(ok(w->put(table::jobs, "k", "second")));
    EXPECT_EQ(value_of(*w, table::jobs, "k"), "second");
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  EXPECT_EQ(value_of(*r, table::jobs, "k"), "second");
  EXPECT_EQ(count_of(*r, table::jobs), 1u);
}

TEST_P(BackendConformance, DeleteRemovesTheKeyInTheBatchAndAfterCommit) {
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::jobs, "gone", "v")));
  ASSERT_TRUE(ok(commit_one(*db, table::jobs, "kept", "v")));
  {
    auto w = db->begin_write().value();
    ASSERT_TRUE(ok(w->del(table::jobs, "gone")));
    EXPECT_EQ(value_of(*w, table::jobs, "gone"), std::nullopt);
    EXPECT_EQ(count_of(*w, table::jobs), 1u);
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  EXPECT_EQ(value_of(*r, table::jobs, "gone"), std::nullopt);
  EXPECT_EQ(value_of(*r, table::jobs, "kept"), "v");
  EXPECT_EQ(count_of(*r, table::jobs), 1u);
}

TEST_P(BackendConformance, MissingKeyReadsAsNothingAndDeletingItSucceeds) {
  auto db = open();
  {
    auto r = db->begin_read().value();
    EXPECT_EQ(value_of(*r, table::jobs, "never"), std::nullopt);
  }
  {
    auto w = db->begin_write().value();
    EXPECT_EQ(value_of(*w, table::jobs, "never"), std::nullopt);
    EXPECT_TRUE(ok(w->del(table::jobs, "never")));
    // Deleting twice, the second time a key the batch itself deleted.
    ASSERT_TRUE(ok(w->put(table::jobs, "once", "v")));
    EXPECT_TRUE(ok(w->del(table::jobs, "once")));
    EXPECT_TRUE(ok(w->del(table::jobs, "once")));
    // A delete that found nothing does not spoil the batch.
    ASSERT_TRUE(ok(w->put(table::jobs, "after", "v")));
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  EXPECT_EQ(value_of(*r, table::jobs, "never"), std::nullopt);
  EXPECT_EQ(value_of(*r, table::jobs, "once"), std::nullopt);
  EXPECT_EQ(value_of(*r, table::jobs, "after"), "v");
}

TEST_P(BackendConformance, EmptyValuesAndBinaryKeysAndValuesRoundTrip) {
  // The indexes store empty values; keys and values hold any byte,
  // including NUL (a C-string API would cut them short) and 0xff.
  const std::string binary_key = "\0a\0\xff\x80"s;
  const std::string binary_value = "\xff\0\0\x01\x7f\x80 end"s;
  const std::string all_bytes = [] {
    std::string s;
    for (int b = 0; b < 256; ++b) s.push_back(static_cast<char>(b));
    return s;
  }();
  auto db = open();
  {
    auto w = db->begin_write().value();
    ASSERT_TRUE(ok(w->put(table::by_status, "empty", "")));
    ASSERT_TRUE(ok(w->put(table::jobs, binary_key, binary_value)));
    ASSERT_TRUE(ok(w->put(table::jobs, all_bytes, all_bytes)));
    EXPECT_EQ(value_of(*w, table::by_status, "empty"), "");
    EXPECT_EQ(value_of(*w, table::jobs, binary_key), binary_value);
    EXPECT_EQ(value_of(*w, table::jobs, all_bytes), all_bytes);
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  // Present and empty, not missing.
  EXPECT_EQ(value_of(*r, table::by_status, "empty"), "");
  EXPECT_EQ(value_of(*r, table::jobs, binary_key), binary_value);
  EXPECT_EQ(value_of(*r, table::jobs, all_bytes), all_bytes);
  // The key cut at its first NUL is another key.
  EXPECT_EQ(value_of(*r, table::jobs, ""s + '\0'), std::nullopt);
  EXPECT_EQ(count_of(*r, table::jobs), 2u);
}

TEST_P(BackendConformance, TablesAreIndependentKeySpaces) {
  // The same key in every table, each with its own value; table i gains
  // i + 1 keys, so a count that reads another table's shows. Counted from
  // what a new store holds: a backend may keep keys of its own in meta
  // (LMDB's stamp: the magic and the schema version).
  auto db = open();
  std::vector<std::uint64_t> before;
  {
    auto r = db->begin_read().value();
    for (table t : all_tables) before.push_back(count_of(*r, t));
  }
  {
    auto w = db->begin_write().value();
    for (std::size_t i = 0; i < table_count; ++i) {
      const table t = all_tables[i];
      ASSERT_TRUE(ok(w->put(t, "same", std::string(table_name(t)))));
      for (std::size_t extra = 0; extra < i; ++extra) {
        ASSERT_TRUE(ok(w->put(t, big_endian(extra), "x")));
      }
    }
    ASSERT_TRUE(ok(w->del(table::jobs, "same")));
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  for (std::size_t i = 0; i < table_count; ++i) {
    const table t = all_tables[i];
    SCOPED_TRACE(std::string(table_name(t)));
    if (t == table::jobs) {
      // Deleting from one table took the key from that table only.
      EXPECT_EQ(value_of(*r, t, "same"), std::nullopt);
      EXPECT_EQ(count_of(*r, t), before[i] + i);
    } else {
      EXPECT_EQ(value_of(*r, t, "same"), std::string(table_name(t)));
      EXPECT_EQ(count_of(*r, t), before[i] + i + 1);
    }
  }
}

TEST_P(BackendConformance, BatchReadsItsOwnWritesBeforeCommit) {
  // The job store computes each mutation from what the batch holds so far
  // (group commit): reads, counts and cursors of the batch see its puts and
  // not its deletes.
  auto db = open();
  {
    auto w = db->begin_write().value();
    for (const char* k : {"a", "b", "c"}) {
      ASSERT_TRUE(ok(w->put(table::jobs, k, "old")));
    }
    ASSERT_TRUE(ok(w->commit()));
  }
  auto w = db->begin_write().value();
  ASSERT_TRUE(ok(w->del(table::jobs, "b")));
  ASSERT_TRUE(ok(w->put(table::jobs, "b2", "new")));
  ASSERT_TRUE(ok(w->put(table::jobs, "c", "new")));
  EXPECT_EQ(value_of(*w, table::jobs, "b"), std::nullopt);
  EXPECT_EQ(value_of(*w, table::jobs, "b2"), "new");
  EXPECT_EQ(value_of(*w, table::jobs, "c"), "new");
  EXPECT_EQ(count_of(*w, table::jobs), 3u);
  const std::vector<entry> expected = {
      {"a", "old"}, {"b2", "new"}, {"c", "new"}};
  EXPECT_EQ(walk(*w, table::jobs), expected);
  EXPECT_EQ(walk(*w, table::jobs, false),
            std::vector<entry>(expected.rbegin(), expected.rend()));
}

// ------------------------------------------------------------ isolation

TEST_P(BackendConformance, UncommittedWritesAreInvisibleToOtherSnapshots) {
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::jobs, "base", "v")));
  auto w = db->begin_write().value();
  ASSERT_TRUE(ok(w->put(table::jobs, "new", "v")));
  ASSERT_TRUE(ok(w->put(table::jobs, "base", "changed")));

  // Read on another thread: this one holds the batch, and a thread holds
  // at most one snapshot or batch.
  struct seen {
    maybe_value new_value, base_value;
    std::uint64_t count = 0;
  };
  auto reader = std::async(std::launch::async, [&db] {
    seen s;
    auto r = db->begin_read().value();
    s.new_value = value_of(*r, table::jobs, "new");
    s.base_value = value_of(*r, table::jobs, "base");
    s.count = count_of(*r, table::jobs);
    return s;
  });
  ASSERT_TRUE(ready_within(reader)) << "a snapshot waited for the batch";
  const seen before = reader.get();
  EXPECT_EQ(before.new_value, std::nullopt);
  EXPECT_EQ(before.base_value, "v");
  EXPECT_EQ(before.count, 1u);

  ASSERT_TRUE(ok(w->commit()));
  w.reset();
  auto r = db->begin_read().value();
  EXPECT_EQ(value_of(*r, table::jobs, "new"), "v");
  EXPECT_EQ(value_of(*r, table::jobs, "base"), "changed");
  EXPECT_EQ(count_of(*r, table::jobs), 2u);
}

TEST_P(BackendConformance, SnapshotBegunBeforeACommitKeepsItsView) {
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::jobs, "base", "old")));

  // The old snapshot lives on another thread, begun while this one's batch
  // is open, and reads only after the batch committed.
  std::promise<void> snapshot_begun, committed;
  auto begun = snapshot_begun.get_future();
  auto commit_done = committed.get_future().share();
  struct seen {
    bool waited = false;
    maybe_value base_value, new_value;
    std::uint64_t count = 0;
  };
  auto w = db->begin_write().value();
  ASSERT_TRUE(ok(w->put(table::jobs, "base", "new")));
  ASSERT_TRUE(ok(w->put(table::jobs, "added", "v")));
  auto reader =
      std::async(std::launch::async, [&db, &snapshot_begun, commit_done] {
        seen s;
        auto r = db->begin_read().value();
        snapshot_begun.set_value();
        s.waited =
            commit_done.wait_for(hang_guard) == std::future_status::ready;
        s.base_value = value_of(*r, table::jobs, "base");
        s.new_value = value_of(*r, table::jobs, "added");
        s.count = count_of(*r, table::jobs);
        return s;
      });
  ASSERT_TRUE(ready_within(begun)) << "the snapshot never began";
  ASSERT_TRUE(ok(w->commit()));
  w.reset();
  committed.set_value();
  ASSERT_TRUE(ready_within(reader));
  const seen old = reader.get();
  EXPECT_TRUE(old.waited);
  EXPECT_EQ(old.base_value, "old");
  EXPECT_EQ(old.new_value, std::nullopt);
  EXPECT_EQ(old.count, 1u);

  auto r = db->begin_read().value();
  EXPECT_EQ(value_of(*r, table::jobs, "base"), "new");
  EXPECT_EQ(value_of(*r, table::jobs, "added"), "v");
}

// ------------------------------------------------------------ abort

TEST_P(BackendConformance, AbortDiscardsEveryWriteAndIsIdempotent) {
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::jobs, "base", "v")));
  {
    auto w = db->begin_write().value();
    ASSERT_TRUE(ok(w->put(table::jobs, "new", "v")));
    ASSERT_TRUE(ok(w->put(table::by_kind, "other table", "v")));
    ASSERT_TRUE(ok(w->put(table::jobs, "base", "changed")));
    ASSERT_TRUE(ok(w->del(table::jobs, "base")));
    w->abort();
    w->abort();
  }  // Destroying an aborted batch ends it once more.
  auto r = db->begin_read().value();
  EXPECT_EQ(value_of(*r, table::jobs, "base"), "v");
  EXPECT_EQ(value_of(*r, table::jobs, "new"), std::nullopt);
  EXPECT_EQ(count_of(*r, table::jobs), 1u);
  EXPECT_EQ(count_of(*r, table::by_kind), 0u);
  r.reset();
  // The store is writable after: the aborted batch let go of it.
  EXPECT_TRUE(ok(commit_one(*db, table::jobs, "later", "v")));
}

TEST_P(BackendConformance, DestroyingAnUncommittedBatchDiscardsIt) {
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::jobs, "base", "v")));
  {
    auto w = db->begin_write().value();
    ASSERT_TRUE(ok(w->put(table::jobs, "new", "v")));
    ASSERT_TRUE(ok(w->del(table::jobs, "base")));
  }
  {
    auto r = db->begin_read().value();
    EXPECT_EQ(value_of(*r, table::jobs, "base"), "v");
    EXPECT_EQ(value_of(*r, table::jobs, "new"), std::nullopt);
  }
  EXPECT_TRUE(ok(commit_one(*db, table::jobs, "later", "v")));
}

// ------------------------------------------------------------ cursors

// Keys whose order tells bytewise unsigned comparison from the usual
// mistakes: signed chars (0x80 and 0xff would sort before 'a'), C strings
// (a key and the same key with NULs appended would be equal), and
// longest-first. Listed in the order the contract gives them. The empty
// key is left out: LMDB cannot store it (MDB_BAD_VALSIZE), and the contract
// does not say whether a backend must (SeekToTheEmptyKeyFindsTheFirstKey
// checks what it does say).
const std::vector<std::string> ordered_keys = {
    "\0"s,    "\0\0"s, "a"s,    "a\0"s,  "a\x01"s, "ab"s,       "a\x7f"s,
    "a\x80"s, "b"s,    "\x7f"s, "\x80"s, "\xff"s,  "\xff\xff"s,
};

/// ordered_keys, each with a value naming its place, written in a shuffled
/// order.
std::vector<entry> write_ordered_keys(backend& db, table t) {
  std::vector<entry> expected;
  for (std::size_t i = 0; i < ordered_keys.size(); ++i) {
    expected.push_back({ordered_keys[i], "v" + std::to_string(i)});
  }
  std::vector<entry> shuffled = expected;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(20240611));
  auto w = db.begin_write().value();
  for (const entry& e : shuffled) {
    EXPECT_TRUE(ok(w->put(t, e.key, e.value)));
  }
  EXPECT_TRUE(ok(w->commit()));
  return expected;
}

TEST_P(BackendConformance, CursorWalksKeysInUnsignedBytewiseOrder) {
  // The literal above is in the order claimed (std::string compares as
  // unsigned bytes, shorter first on a common prefix).
  ASSERT_TRUE(std::is_sorted(ordered_keys.begin(), ordered_keys.end()));
  auto db = open();
  const std::vector<entry> expected = write_ordered_keys(*db, table::by_scope);
  auto r = db->begin_read().value();
  EXPECT_EQ(walk(*r, table::by_scope), expected);
  EXPECT_EQ(walk(*r, table::by_scope, false),
            std::vector<entry>(expected.rbegin(), expected.rend()));
  EXPECT_EQ(count_of(*r, table::by_scope), ordered_keys.size());
}

TEST_P(BackendConformance, CursorStepsStopAtEitherEnd) {
  auto db = open();
  const std::vector<entry> expected = write_ordered_keys(*db, table::by_scope);
  auto r = db->begin_read().value();
  auto c = r->open_cursor(table::by_scope).value();
  ASSERT_EQ(c->first().value(), true);
  EXPECT_EQ(c->key(), expected.front().key);
  EXPECT_EQ(c->prev().value(), false);
  ASSERT_EQ(c->last().value(), true);
  EXPECT_EQ(c->key(), expected.back().key);
  EXPECT_EQ(c->value(), expected.back().value);
  EXPECT_EQ(c->next().value(), false);
}

TEST_P(BackendConformance, SeekFindsTheFirstKeyAtOrAfterTheTarget) {
  auto db = open();
  write_ordered_keys(*db, table::by_scope);
  auto r = db->begin_read().value();
  auto c = r->open_cursor(table::by_scope).value();

  // An existing key: the cursor is on it, and steps from it both ways.
  ASSERT_EQ(c->seek("a\0"s).value(), true);
  EXPECT_EQ(c->key(), "a\0"s);
  ASSERT_EQ(c->next().value(), true);
  EXPECT_EQ(c->key(), "a\x01"s);
  ASSERT_EQ(c->seek("a\0"s).value(), true);
  ASSERT_EQ(c->prev().value(), true);
  EXPECT_EQ(c->key(), "a"s);

  // Between two keys: the next one.
  ASSERT_EQ(c->seek("a\0\0"s).value(), true);
  EXPECT_EQ(c->key(), "a\x01"s);
  ASSERT_EQ(c->seek("aa").value(), true);
  EXPECT_EQ(c->key(), "ab"s);
  ASSERT_EQ(c->seek("\x01").value(), true);
  EXPECT_EQ(c->key(), "a"s);
  ASSERT_EQ(c->seek("\x7f\x01").value(), true);
  EXPECT_EQ(c->key(), "\x80"s);

  // The last key, then past it.
  ASSERT_EQ(c->seek("\xff\xff").value(), true);
  EXPECT_EQ(c->key(), "\xff\xff"s);
  EXPECT_EQ(c->seek("\xff\xff\0"s).value(), false);
  EXPECT_EQ(c->seek("\xff\xff\xff").value(), false);
}

TEST_P(BackendConformance, SeekToTheEmptyKeyFindsTheFirstKey) {
  // "The first key >= key": every key is >= "", so seeking it is first().
  // (An index scan with an empty prefix does this.)
  auto db = open();
  const std::vector<entry> expected = write_ordered_keys(*db, table::by_scope);
  auto r = db->begin_read().value();
  auto c = r->open_cursor(table::by_scope).value();
  auto on = c->seek("");
  ASSERT_TRUE(ok(on));
  ASSERT_TRUE(*on);
  EXPECT_EQ(c->key(), expected.front().key);
  auto empty = r->open_cursor(table::by_kind).value();
  auto none = empty->seek("");
  ASSERT_TRUE(ok(none));
  EXPECT_FALSE(*none);
}

TEST_P(BackendConformance, CursorOnAnEmptyTableFindsNothing) {
  auto db = open();
  // Another table holds keys: an empty table must not show them.
  ASSERT_TRUE(ok(commit_one(*db, table::jobs, "k", "v")));
  auto r = db->begin_read().value();
  auto c = r->open_cursor(table::by_kind).value();
  EXPECT_EQ(c->first().value(), false);
  EXPECT_EQ(c->last().value(), false);
  EXPECT_EQ(c->seek("k").value(), false);
  EXPECT_EQ(count_of(*r, table::by_kind), 0u);
}

// ------------------------------------------------------------ put modes

TEST_P(BackendConformance,
       InsertNewRefusesAnExistingKeyWithoutSpoilingTheBatch) {
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::jobs, "committed", "old")));
  {
    auto w = db->begin_write().value();
    EXPECT_TRUE(fails_with(
        w->put(table::jobs, "committed", "new", put_mode::insert_new),
        errc::already_exists));
    EXPECT_EQ(value_of(*w, table::jobs, "committed"), "old");
    // A key the batch itself wrote exists too.
    ASSERT_TRUE(ok(w->put(table::jobs, "in batch", "first")));
    EXPECT_TRUE(fails_with(
        w->put(table::jobs, "in batch", "second", put_mode::insert_new),
        errc::already_exists));
    EXPECT_EQ(value_of(*w, table::jobs, "in batch"), "first");
    // A new key is written.
    EXPECT_TRUE(ok(w->put(table::jobs, "fresh", "v", put_mode::insert_new)));
    EXPECT_EQ(value_of(*w, table::jobs, "fresh"), "v");
    // A refusal does not taint the batch: it commits everything else.
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  EXPECT_EQ(value_of(*r, table::jobs, "committed"), "old");
  EXPECT_EQ(value_of(*r, table::jobs, "in batch"), "first");
  EXPECT_EQ(value_of(*r, table::jobs, "fresh"), "v");
  EXPECT_EQ(count_of(*r, table::jobs), 3u);
}

TEST_P(BackendConformance, AppendWritesIncreasingKeysInOrder) {
  // The change log: sequences as 8-byte big-endian keys, appended across
  // batches (the second appends after committed keys).
  constexpr std::uint64_t per_batch = 500;
  auto db = open();
  for (std::uint64_t batch = 0; batch < 2; ++batch) {
    auto w = db->begin_write().value();
    for (std::uint64_t seq = batch * per_batch + 1;
         seq <= (batch + 1) * per_batch; ++seq) {
      ASSERT_TRUE(
          ok(w->put(table::changes, big_endian(seq),
                    "change " + std::to_string(seq), put_mode::append)));
    }
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  std::vector<entry> expected;
  for (std::uint64_t seq = 1; seq <= 2 * per_batch; ++seq) {
    expected.push_back({big_endian(seq), "change " + std::to_string(seq)});
  }
  EXPECT_EQ(walk(*r, table::changes), expected);
  EXPECT_EQ(count_of(*r, table::changes), 2 * per_batch);
}

TEST_P(BackendConformance, AppendRefusesAKeyThatDoesNotSortLast) {
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::changes, big_endian(10), "ten")));
  {
    auto w = db->begin_write().value();
    // Below the last key, and equal to it.
    EXPECT_TRUE(fails_with(
        w->put(table::changes, big_endian(5), "five", put_mode::append),
        errc::already_exists));
    EXPECT_TRUE(fails_with(
        w->put(table::changes, big_endian(10), "again", put_mode::append),
        errc::already_exists));
    EXPECT_EQ(value_of(*w, table::changes, big_endian(5)), std::nullopt);
    EXPECT_EQ(value_of(*w, table::changes, big_endian(10)), "ten");
    // Still a good batch: it appends and commits.
    EXPECT_TRUE(
        ok(w->put(table::changes, big_endian(11), "eleven", put_mode::append)));
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  const std::vector<entry> expected = {{big_endian(10), "ten"},
                                       {big_endian(11), "eleven"}};
  EXPECT_EQ(walk(*r, table::changes), expected);
}

// ------------------------------------------------------------ durability

TEST_P(BackendConformance, CommittedWritesSurviveReopeningAndAbortedOnesDoNot) {
  {
    auto db = open();
    ASSERT_TRUE(ok(commit_one(*db, table::jobs, "committed", "v")));
    ASSERT_TRUE(ok(commit_one(*db, table::meta, "other table", "m")));
    auto w = db->begin_write().value();
    ASSERT_TRUE(ok(w->put(table::jobs, "aborted", "v")));
    ASSERT_TRUE(ok(w->del(table::jobs, "committed")));
    w->abort();
  }
  auto db = open();
  auto r = db->begin_read().value();
  EXPECT_EQ(value_of(*r, table::jobs, "committed"), "v");
  EXPECT_EQ(value_of(*r, table::meta, "other table"), "m");
  EXPECT_EQ(value_of(*r, table::jobs, "aborted"), std::nullopt);
  EXPECT_EQ(count_of(*r, table::jobs), 1u);
}

// ------------------------------------------------------------ writers

TEST_P(BackendConformance, SecondWriterWaitsUntilTheFirstCommits) {
  auto db = open();
  // Set by A just before it commits; B reads it as soon as its begin_write
  // returns. B seeing it unset means both batches were open at once.
  std::atomic<bool> a_committing{false};
  std::promise<void> a_open, b_asking;
  auto a_open_f = a_open.get_future();
  auto b_asking_f = b_asking.get_future();

  auto a = std::async(std::launch::async, [&]() -> std::error_code {
    auto w = db->begin_write();
    if (!w) {
      a_open.set_value();
      return w.code();
    }
    auto put = (*w)->put(table::jobs, "from a", "v");
    a_open.set_value();
    if (!put) return put.code();
    if (b_asking_f.wait_for(hang_guard) != std::future_status::ready) {
      return make_error_code(errc::engine_closed);  // B never started
    }
    // B is about to call begin_write. This pause is no timing assertion:
    // a correct backend passes however long it is; it gives a backend
    // that wrongly lets B in the time to show it (without it, A could
    // commit before B even asked).
    std::this_thread::sleep_for(100ms);
    a_committing = true;
    return (*w)->commit().code();
  });

  struct seen {
    std::error_code began;
    bool a_was_committing = false;
    maybe_value a_value;
  };
  auto b = std::async(std::launch::async, [&] {
    seen s;
    if (a_open_f.wait_for(hang_guard) != std::future_status::ready) {
      s.began = make_error_code(errc::engine_closed);  // A never began
      return s;
    }
    b_asking.set_value();
    auto w = db->begin_write();
    s.a_was_committing = a_committing.load();
    if (!w) {
      s.began = w.code();
      return s;
    }
    s.a_value = value_of(**w, table::jobs, "from a");
    return s;
  });

  ASSERT_TRUE(ready_within(a)) << "the first writer never committed";
  ASSERT_TRUE(ready_within(b)) << "the second writer never began: deadlock";
  const std::error_code a_result = a.get();
  const seen b_saw = b.get();
  EXPECT_FALSE(a_result) << a_result.message();
  ASSERT_FALSE(b_saw.began) << b_saw.began.message();
  EXPECT_TRUE(b_saw.a_was_committing)
      << "the second batch began while the first was open";
  EXPECT_EQ(b_saw.a_value, "v");
}

// ------------------------------------------------------------ storage full

TEST_P(BackendConformance, StorageFullWithRoomToGrowGrowsAndTheBatchCommits) {
  // The commit queue's answer to storage_full: abort, grow, run the batch
  // again. 24 values of 64 KiB (1.5 MiB) cannot fit in 1 MiB; they fit
  // once the store has grown within its 4 MiB limit.
  constexpr std::uint64_t values = 24;
  constexpr std::size_t value_size = 64 << 10;
  options_.map_size = one_mib;
  options_.max_map_size = 4 * one_mib;
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::meta, "kept", "v")));

  auto attempt = commit_values(*db, table::jobs, 0, values, value_size);
  ASSERT_TRUE(fails_with(attempt, errc::storage_full));
  {
    // The failed batch left nothing, and the committed data is intact.
    auto r = db->begin_read().value();
    EXPECT_EQ(count_of(*r, table::jobs), 0u);
    EXPECT_EQ(value_of(*r, table::meta, "kept"), "v");
  }
  int growths = 0;
  while (!attempt && attempt.code() == errc::storage_full) {
    ASSERT_TRUE(db->can_grow()) << "full after " << growths << " growths";
    auto grew = db->grow();
    ASSERT_TRUE(ok(grew));
    ASSERT_TRUE(*grew) << "can_grow() but grow() did not";
    ++growths;
    attempt = commit_values(*db, table::jobs, 0, values, value_size);
  }
  ASSERT_TRUE(ok(attempt));
  EXPECT_GE(growths, 1);
  {
    auto r = db->begin_read().value();
    EXPECT_TRUE(holds_values(*r, table::jobs, values, value_size));
    EXPECT_EQ(value_of(*r, table::meta, "kept"), "v");
  }

  // Growth stops at the limit: 1 MiB doubles to it in two steps.
  for (int more = 0; db->can_grow() && more < 8; ++more) {
    auto grew = db->grow();
    ASSERT_TRUE(ok(grew));
    ASSERT_TRUE(*grew);
  }
  EXPECT_FALSE(db->can_grow());
  auto at_limit = db->grow();
  ASSERT_TRUE(ok(at_limit));
  EXPECT_FALSE(*at_limit);
}

TEST_P(BackendConformance,
       StorageFullAtTheLimitKeepsCommittedDataAndCannotGrow) {
  constexpr std::size_t value_size = 64 << 10;
  options_.map_size = options_.max_map_size = one_mib;
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::meta, "kept", "v")));
  // At most 16 values of 64 KiB fit in 1 MiB: 64 is a bound never reached.
  const std::uint64_t filled =
      fill_until_full(*db, table::jobs, value_size, 64);
  ASSERT_GT(filled, 0u);

  EXPECT_FALSE(db->can_grow());
  auto grew = db->grow();
  ASSERT_TRUE(ok(grew));
  EXPECT_FALSE(*grew);
  {
    auto r = db->begin_read().value();
    EXPECT_TRUE(holds_values(*r, table::jobs, filled, value_size));
    EXPECT_EQ(value_of(*r, table::meta, "kept"), "v");
  }
  // The failure changed nothing: the same write fails the same way.
  EXPECT_TRUE(fails_with(commit_values(*db, table::jobs, filled, 1, value_size),
                         errc::storage_full));

  // Headroom past the limit makes room for it, and growth within the
  // limit stays impossible.
  ASSERT_TRUE(ok(db->grow_beyond_limit(one_mib)));
  EXPECT_TRUE(ok(commit_values(*db, table::jobs, filled, 1, value_size)));
  EXPECT_FALSE(db->can_grow());
  auto r = db->begin_read().value();
  EXPECT_TRUE(holds_values(*r, table::jobs, filled + 1, value_size));
}

TEST_P(BackendConformance,
       HeadroomBeyondTheLimitLetsADeleteCommitInAFullStore) {
  // Deleting needs room too. Filled with many small values, one commit at
  // a time, LMDB has no page left to copy the leaves a delete touches: the
  // batch that deletes them all fails with storage_full part-way through
  // (LMDB 0.9.24; with grow_beyond_limit a no-op this test fails). The
  // commit queue then grants headroom past the limit, and the purge
  // commits.
  constexpr std::size_t value_size = 1000;
  options_.map_size = options_.max_map_size = one_mib;
  auto db = open();
  ASSERT_TRUE(ok(commit_one(*db, table::meta, "kept", "v")));
  // About a thousand values of 1000 bytes fit in 1 MiB.
  const std::uint64_t filled =
      fill_until_full(*db, table::jobs, value_size, 4096);
  ASSERT_GT(filled, 0u);

  // Whether a backend needs the headroom is its own affair; if it fails,
  // it must fail as storage_full and delete nothing.
  if (auto purge = delete_values(*db, table::jobs, filled); !purge) {
    EXPECT_TRUE(fails_with(purge, errc::storage_full));
    auto r = db->begin_read().value();
    EXPECT_TRUE(holds_values(*r, table::jobs, filled, value_size));
    r.reset();

    ASSERT_TRUE(ok(db->grow_beyond_limit(one_mib)));
    ASSERT_TRUE(ok(delete_values(*db, table::jobs, filled)));
  }
  auto r = db->begin_read().value();
  EXPECT_EQ(count_of(*r, table::jobs), 0u);
  EXPECT_EQ(value_of(*r, table::meta, "kept"), "v");
}

TEST_P(BackendConformance, RecycledSpaceTakesNewDataAtTheLimit) {
  // After a purge at the limit, the commit queue calls
  // recycle_freed_space() and runs the batch again: the room the purge
  // freed must then be usable. (LMDB reuses a page only two transactions
  // after the one that freed it; right after the purge, not one of these
  // values fits.)
  //
  // Not quite all of it: LMDB keeps the list of free pages in pages of its
  // own, taken from the room freed, so with 64 KiB values (17 pages each)
  // one value fewer fits again (13 of 14 with raw LMDB 0.9.24). With these
  // 32000-byte values (8 pages) all fit, by the luck of rounding; asking for
  // all but one keeps the test about recycling, not about page bookkeeping, and
  // it still fails when recycling does nothing.
  constexpr std::size_t value_size = 32000;
  options_.map_size = options_.max_map_size = one_mib;
  auto db = open();
  const std::uint64_t filled =
      fill_until_full(*db, table::jobs, value_size, 128);
  ASSERT_GT(filled, 1u);
  ASSERT_TRUE(ok(delete_values(*db, table::jobs, filled)));

  ASSERT_TRUE(ok(db->recycle_freed_space()));
  EXPECT_TRUE(ok(commit_values(*db, table::jobs, 0, filled - 1, value_size)));
  EXPECT_FALSE(db->can_grow());  // nothing grew: still at the limit
  auto r = db->begin_read().value();
  EXPECT_TRUE(holds_values(*r, table::jobs, filled - 1, value_size));
}

// ------------------------------------------------------------ sizes

TEST_P(BackendConformance, MebibyteValuesRoundTrip) {
  // A job's input may be 1 MiB of JSON (limits::max_json_size): every
  // byte value, repeated, so a truncated or shifted copy shows.
  std::string big(one_mib, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  }
  auto db = open();
  {
    auto w = db->begin_write().value();
    ASSERT_TRUE(ok(w->put(table::jobs, "big", big)));
    ASSERT_TRUE(ok(w->put(table::jobs, "big too", big + "tail")));
    EXPECT_TRUE(value_of(*w, table::jobs, "big") == big);
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  // EXPECT_TRUE, not EXPECT_EQ: a failure would print 1 MiB.
  EXPECT_TRUE(value_of(*r, table::jobs, "big") == big);
  EXPECT_TRUE(value_of(*r, table::jobs, "big too") == big + "tail");
}

TEST_P(BackendConformance, TenThousandKeysScanInOrder) {
  constexpr std::uint64_t keys = 10'000;
  std::vector<std::uint64_t> order(keys);
  for (std::uint64_t n = 0; n < keys; ++n) order[n] = n;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  auto db = open();
  {
    auto w = db->begin_write().value();
    for (std::uint64_t n : order) {
      ASSERT_TRUE(ok(
          w->put(table::by_completed, big_endian(n), "v" + std::to_string(n))));
    }
    ASSERT_TRUE(ok(w->commit()));
  }
  auto r = db->begin_read().value();
  EXPECT_EQ(count_of(*r, table::by_completed), keys);
  const std::vector<entry> seen = walk(*r, table::by_completed);
  ASSERT_EQ(seen.size(), keys);
  for (std::uint64_t n = 0; n < keys; ++n) {
    const entry expected{big_endian(n), "v" + std::to_string(n)};
    if (seen[n] != expected) {
      ADD_FAILURE() << "entry " << n << " is "
                    << ::testing::PrintToString(seen[n]);
      break;
    }
  }
}

}  // namespace
}  // namespace jobstate::store
