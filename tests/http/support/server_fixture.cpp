#include "support/server_fixture.hpp"

namespace jobstate::test {

void server_test::SetUp() {
  jobstate::options opts;
  opts.path = dir_.sub("db").string();
  opts.durability = durability::no_sync;
  opts.map_size = map_size_;
  auto e = engine::open(opts);
  ASSERT_TRUE(e) << e.error().message();
  engine_ = std::move(*e);
  auto k = http::key_store::open(http::key_store::file_in(opts.path));
  ASSERT_TRUE(k) << k.error().message();
  keys_ = std::move(*k);
  key_ = keys_->create_key("acme").value().key;
  other_key_ = keys_->create_key("globex").value().key;
  options_.port = 0;
  options_.threads = 2;
  options_.drain_timeout = std::chrono::seconds(5);
  if (!deferred_start_) start_server();
}

void server_test::start_server() {
  server_ = std::make_unique<http::server>(*engine_, *keys_, options_);
  auto started = server_->start();
  ASSERT_TRUE(started) << started.error().message();
}

void server_test::stop_server() {
  if (!server_) return;
  server_->drain();
  server_->wait();
}

void server_test::TearDown() {
  stop_server();
  server_.reset();
  engine_.reset();
}

http_answer server_test::get(const std::string& target, header_list headers) {
  auto all = bearer(key_);
  all.insert(all.end(), headers.begin(), headers.end());
  return http_call(port(), "GET", target, all);
}

http_answer server_test::post(const std::string& target,
                              const std::string& body, header_list headers) {
  auto all = bearer(key_);
  all.insert(all.end(), headers.begin(), headers.end());
  return http_call(port(), "POST", target, all, body);
}

job server_test::create_job(const std::string& project, const std::string& kind,
                            const std::string& account) {
  create_request r;
  r.account_id = account;
  r.project_id = project;
  r.kind = kind;
  return engine_->create(r).value().job;
}

}  // namespace jobstate::test
