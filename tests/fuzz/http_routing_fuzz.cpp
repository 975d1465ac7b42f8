// Fuzz target: jobstated's request routing and handlers (lib/http), from a
// raw HTTP/1.1 request to the answer, without sockets. The input is the
// request's bytes; in it "@KEY@" becomes a valid API key of account "acme"
// and "@JOB@" the id of one of its jobs in project "default", so that the
// fuzzer reaches past authentication and the 404s. Requests Beast cannot
// parse are skipped: its parser is not ours, and the session answers them
// before routing.
//
// Runs against a real engine made once per process. The exchange reports
// itself draining, so that long-polls and event streams answer at once.
// Must not crash; every request gets exactly one answer (or one stream,
// ended); JSON answers parse; no 500 (an engine error other than a full map
// or a closing engine is a bug on the way in).
#include <jobstate/jobstate.hpp>

#include "fuzz_database.hpp"
#include "http/exchange.hpp"
#include "http/key_store.hpp"
#include "http/router.hpp"
#include "http/server_context.hpp"
#include "http/server_options.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace {

using namespace jobstate;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

[[noreturn]] void fail() { std::abort(); }

options database_options() {
  options opts;
  // Every run creates jobs; a full map answers 507, which is allowed.
  opts.map_size = std::uint64_t{64} << 20;
  return opts;
}

struct fixture {
  fuzz::fuzz_database db{database_options()};
  std::unique_ptr<http::key_store> keys;
  http::server_options opts;
  std::unique_ptr<http::server_context> ctx;
  std::string key;
  std::string job_id;

  fixture() {
    auto k = http::key_store::open(http::key_store::file_in(db.path()));
    if (!k) fail();
    keys = std::move(*k);
    key = keys->create_key("acme").value().key;
    opts.body_limit = 64 * 1024;
    // Not movable (atomic counters): made in place.
    ctx.reset(new http::server_context{db.get(), *keys, opts, {}});
    create_request r;
    r.account_id = "acme";
    r.project_id = "default";
    r.kind = "parse";
    auto created = db.get().create(r);
    if (!created) fail();
    job_id = created->job.id.to_string();
  }
};

fixture& the_fixture() {
  static fixture f;
  return f;
}

void replace_all(std::string& text, std::string_view from,
                 std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// One request's exchange: records the answer and checks that there is one.
class fuzz_exchange final : public http::exchange {
 public:
  fuzz_exchange(http::request req, asio::any_io_executor ex)
      : req_(std::move(req)), ex_(std::move(ex)) {}

  const http::request& req() const override { return req_; }
  asio::any_io_executor executor() override { return ex_; }
  void reply(http::response res) override {
    if (answered_ || streaming_) fail();
    answered_ = true;
    check(res);
  }
  asio::cancellation_slot drain_slot() override { return drain_.slot(); }
  bool draining() const override { return true; }
  void write_raw(std::string bytes,
                 std::function<void(boost::system::error_code)> done) override {
    if (answered_ || ended_ || bytes.empty()) fail();
    streaming_ = true;
    asio::post(ex_, [done = std::move(done)] { done({}); });
  }
  void end_stream() override {
    if (answered_ || ended_) fail();
    ended_ = true;
  }

  bool finished() const { return answered_ || ended_; }

 private:
  static void check(const http::response& res) {
    const unsigned code = res.result_int();
    if (code < 200 || code > 599) fail();
    if (code >= 500 && code != 503 && code != 507) fail();
    const auto type = res[bhttp::field::content_type];
    if (type.starts_with("application/json")) {
      boost::system::error_code ec;
      (void)boost::json::parse(res.body(), ec);
      if (ec) fail();
    }
  }

  http::request req_;
  asio::any_io_executor ex_;
  asio::cancellation_signal drain_;
  bool answered_ = false;
  bool streaming_ = false;
  bool ended_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  fixture& f = the_fixture();
  std::string text(reinterpret_cast<const char*>(data), size);
  replace_all(text, "@KEY@", f.key);
  replace_all(text, "@JOB@", f.job_id);

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(f.opts.header_limit));
  parser.body_limit(f.opts.body_limit);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(asio::buffer(text), ec);
  if (ec || !parser.is_done()) return 0;

  asio::io_context io;
  auto strand = asio::make_strand(io);
  auto ex = std::make_shared<fuzz_exchange>(parser.release(), strand);
  asio::dispatch(strand, [&f, ex] { http::dispatch(*f.ctx, ex); });
  // Returns once every engine operation the request started has answered
  // (their handlers keep the io_context's work).
  io.run();
  if (!ex->finished()) fail();
  return 0;
}
