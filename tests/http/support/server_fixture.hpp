// A real jobstated server for a test: an engine in a temporary directory,
// two accounts with a key each, and the server on a free loopback port.
#ifndef JOBSTATE_TESTS_HTTP_SUPPORT_SERVER_FIXTURE_HPP
#define JOBSTATE_TESTS_HTTP_SUPPORT_SERVER_FIXTURE_HPP

#include <jobstate/engine.hpp>

#include "http/key_store.hpp"
#include "http/server.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

namespace jobstate::test {

class server_test : public ::testing::Test {
 protected:
  /// Options a test may change before start_server() (SetUp calls it with
  /// the defaults unless `deferred_start` is set in the constructor).
  http::server_options options_;
  bool deferred_start_ = false;
  /// The engine's initial map size (a test of map growth makes it small).
  std::uint64_t map_size_ = std::uint64_t{16} << 20;

  void SetUp() override;
  void TearDown() override;
  void start_server();
  /// Drains and joins the server (idempotent).
  void stop_server();

  /// A call with the key of account "acme" as `Authorization: Bearer`.
  http_answer get(const std::string& target, header_list headers = {});
  http_answer post(const std::string& target, const std::string& body = {},
                   header_list headers = {});
  header_list bearer(const std::string& key) const {
    return {{"Authorization", "Bearer " + key}};
  }

  /// Engine shortcuts, for setting up what a test reads over HTTP.
  job create_job(const std::string& project = "default",
                 const std::string& kind = "parse",
                 const std::string& account = "acme");
  job_ref ref(const job& j) const { return {j.account_id, j.project_id, j.id}; }

  unsigned short port() const { return server_->port(); }

  temp_dir dir_{"jobstated"};
  std::unique_ptr<engine> engine_;
  std::unique_ptr<http::key_store> keys_;
  std::unique_ptr<http::server> server_;
  std::string key_;        ///< account "acme"
  std::string other_key_;  ///< account "globex"
};

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_HTTP_SUPPORT_SERVER_FIXTURE_HPP
