// The "jobstate" error category, jobstate::error, result<T> and
// jobstate::system_error.
#include <jobstate/error.hpp>
#include <jobstate/result.hpp>

#include "support/jobs.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <system_error>

namespace jobstate {
namespace {

const errc all_codes[] = {
    errc::invalid_argument, errc::not_found,      errc::illegal_transition,
    errc::conflict,         errc::already_exists, errc::gone,
    errc::storage_full,     errc::corrupt,        errc::unsupported_version,
    errc::too_large,        errc::expired,        errc::engine_closed,
    errc::io_error,         errc::already_open,
};

TEST(ErrorCategory, NameIsJobstate) {
  EXPECT_STREQ(category().name(), "jobstate");
}

TEST(ErrorCategory, IsASingleton) {
  EXPECT_EQ(&category(), &category());
  EXPECT_EQ(&make_error_code(errc::gone).category(), &category());
}

TEST(ErrorCategory, CodeValuesAreStable) {
  // The C API returns these integers.
  EXPECT_EQ(static_cast<int>(errc::invalid_argument), 1);
  EXPECT_EQ(static_cast<int>(errc::not_found), 2);
  EXPECT_EQ(static_cast<int>(errc::illegal_transition), 3);
  EXPECT_EQ(static_cast<int>(errc::conflict), 4);
  EXPECT_EQ(static_cast<int>(errc::already_exists), 5);
  EXPECT_EQ(static_cast<int>(errc::gone), 6);
  EXPECT_EQ(static_cast<int>(errc::storage_full), 7);
  EXPECT_EQ(static_cast<int>(errc::corrupt), 8);
  EXPECT_EQ(static_cast<int>(errc::unsupported_version), 9);
  EXPECT_EQ(static_cast<int>(errc::too_large), 10);
  EXPECT_EQ(static_cast<int>(errc::expired), 11);
  EXPECT_EQ(static_cast<int>(errc::engine_closed), 12);
  EXPECT_EQ(static_cast<int>(errc::io_error), 13);
  EXPECT_EQ(static_cast<int>(errc::already_open), 14);
}

TEST(ErrorCategory, EveryCodeHasItsOwnNonEmptyMessage) {
  std::set<std::string> messages;
  for (errc e : all_codes) {
    std::string m = category().message(static_cast<int>(e));
    EXPECT_FALSE(m.empty()) << static_cast<int>(e);
    EXPECT_TRUE(messages.insert(m).second)
        << "code " << static_cast<int>(e) << " repeats message \"" << m << "\"";
  }
}

TEST(ErrorCategory, ErrcConvertsToErrorCode) {
  std::error_code ec = errc::conflict;
  EXPECT_EQ(ec.value(), 4);
  EXPECT_EQ(&ec.category(), &category());
  EXPECT_EQ(ec, make_error_code(errc::conflict));
  EXPECT_TRUE(ec == errc::conflict);
  EXPECT_FALSE(ec == errc::gone);
  EXPECT_TRUE(static_cast<bool>(ec));
}

TEST(ErrorCategory, DoesNotEqualGenericCodesWithTheSameValue) {
  std::error_code ours = errc::invalid_argument;
  std::error_code generic = std::make_error_code(std::errc::invalid_argument);
  EXPECT_NE(ours, generic);
  EXPECT_NE(std::error_code(1, std::generic_category()), ours);
}

TEST(Error, DefaultIsEmpty) {
  error e;
  EXPECT_FALSE(static_cast<bool>(e));
  EXPECT_FALSE(static_cast<bool>(e.code()));
  EXPECT_TRUE(e.detail().empty());
  EXPECT_EQ(e.current_status(), std::nullopt);
  EXPECT_EQ(e.current_revision(), std::nullopt);
}

TEST(Error, CarriesCodeAndDetail) {
  error e(errc::not_found, "job 42");
  EXPECT_TRUE(static_cast<bool>(e));
  EXPECT_EQ(e.code(), make_error_code(errc::not_found));
  EXPECT_EQ(e.detail(), "job 42");
  EXPECT_EQ(e.current_status(), std::nullopt);
  EXPECT_EQ(e.current_revision(), std::nullopt);
}

TEST(Error, MessageIsCategoryMessageThenDetail) {
  error e(errc::illegal_transition, "cannot move from cancelled to succeeded");
  const std::string category_message =
      make_error_code(errc::illegal_transition).message();
  const std::string m = e.message();
  EXPECT_EQ(m.find(category_message), 0u) << m;
  auto detail_at = m.find("cannot move from cancelled to succeeded");
  ASSERT_NE(detail_at, std::string::npos) << m;
  EXPECT_GE(detail_at, category_message.size()) << m;
}

TEST(Error, MessageWithoutDetailIsCategoryMessage) {
  for (errc code : all_codes) {
    error e(code);
    const std::string m = e.message();
    EXPECT_FALSE(m.empty());
    EXPECT_EQ(m.find(make_error_code(code).message()), 0u) << m;
  }
}

TEST(Error, FromStdErrorCode) {
  error e(std::error_code(errc::gone), "tombstone");
  EXPECT_EQ(e.code(), make_error_code(errc::gone));
  EXPECT_EQ(e.detail(), "tombstone");
}

TEST(Error, WithJobStateRecordsStatusAndRevision) {
  error e(errc::conflict, "revision mismatch");
  error& same = e.with_job_state(job_status::running, 7);
  EXPECT_EQ(&same, &e);
  EXPECT_EQ(e.current_status(), job_status::running);
  EXPECT_EQ(e.current_revision(), std::uint64_t{7});
  EXPECT_EQ(e.code(), make_error_code(errc::conflict));
  EXPECT_EQ(e.detail(), "revision mismatch");
}

TEST(Result, HoldsValue) {
  result<int> r = 42;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value(), 42);
  EXPECT_FALSE(static_cast<bool>(r.code()));
  EXPECT_FALSE(static_cast<bool>(r.error()));
}

TEST(Result, HoldsError) {
  result<int> r =
      error(errc::gone, "purged").with_job_state(job_status::succeeded, 3);
  ASSERT_FALSE(r.has_value());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.code(), make_error_code(errc::gone));
  EXPECT_EQ(r.error().detail(), "purged");
  EXPECT_EQ(r.error().current_status(), job_status::succeeded);
  EXPECT_EQ(r.error().current_revision(), std::uint64_t{3});
}

TEST(Result, FromErrcHoldsThatCode) {
  result<std::string> r = errc::too_large;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.code(), make_error_code(errc::too_large));
}

TEST(Result, ValueThrowsSystemErrorWithTheSameCode) {
  for (errc code : all_codes) {
    result<int> r = error(code, "the detail");
    try {
      (void)r.value();
      ADD_FAILURE() << "value() did not throw for code "
                    << static_cast<int>(code);
    } catch (const system_error& e) {
      EXPECT_EQ(e.code(), make_error_code(code));
      EXPECT_EQ(e.error().code(), make_error_code(code));
      EXPECT_EQ(e.error().detail(), "the detail");
      EXPECT_FALSE(std::string(e.what()).empty());
    }
  }
}

TEST(Result, SystemErrorIsAStdSystemError) {
  result<int> r = errc::conflict;
  EXPECT_THROW((void)r.value(), std::system_error);
  const result<int>& cr = r;
  EXPECT_THROW((void)cr.value(), system_error);
  EXPECT_THROW((void)std::move(r).value(), system_error);
}

TEST(Result, SystemErrorKeepsJobState) {
  result<int> r =
      error(errc::illegal_transition).with_job_state(job_status::cancelled, 4);
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const system_error& e) {
    EXPECT_EQ(e.error().current_status(), job_status::cancelled);
    EXPECT_EQ(e.error().current_revision(), std::uint64_t{4});
  }
}

TEST(Result, VoidSuccessAndFailure) {
  result<void> ok;
  EXPECT_TRUE(ok.has_value());
  EXPECT_NO_THROW(ok.value());
  EXPECT_FALSE(static_cast<bool>(ok.code()));

  result<void> bad = errc::io_error;
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(bad.code(), make_error_code(errc::io_error));
  try {
    bad.value();
    FAIL() << "value() did not throw";
  } catch (const system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::io_error));
  }
}

}  // namespace
}  // namespace jobstate
