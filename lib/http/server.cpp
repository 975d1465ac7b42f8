#include "http/server.hpp"

#include "http/refusal.hpp"
#include "http/session.hpp"
#include "support/mutex.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <thread>
#include <unordered_map>
#include <vector>

namespace jobstate::http {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

class server::impl : public std::enable_shared_from_this<server::impl> {
 public:
  impl(engine& e, key_store& keys, server_options opts)
      : opts_(std::move(opts)),
        ctx_{e, keys, opts_, {}},
        io_(static_cast<int>(std::max(1u, opts_.threads))),
        acceptor_(asio::make_strand(io_)),
        drain_timer_(acceptor_.get_executor()),
        retry_timer_(acceptor_.get_executor()) {}

  result<void> start() {
    error_code ec;
    const auto address = asio::ip::make_address(opts_.host, ec);
    if (ec) {
      return error(errc::invalid_argument, "listen address \"" + opts_.host +
                                               "\" is not an IP address");
    }
    const tcp::endpoint endpoint(address, opts_.port);
    const auto fail = [&](const char* what) {
      return error(errc::io_error, std::string(what) + " " + opts_.host + ":" +
                                       std::to_string(opts_.port) + ": " +
                                       ec.message());
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail("cannot open a socket for");
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    acceptor_.bind(endpoint, ec);
    if (ec) return fail("cannot bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("cannot listen on");
    port_ = acceptor_.local_endpoint().port();
    started_ = true;
    accept();
    const unsigned n = std::max(1u, opts_.threads);
    for (unsigned i = 0; i < n; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    return {};
  }

  void drain() {
    // Never started: nothing to drain, and a handler posted now would never
    // run (nor release this object).
    if (!started_) return;
    // Only the first call posts: after wait() no thread runs io_ again, and a
    // handler queued then would keep this object alive forever (it owns io_).
    if (drain_requested_.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      error_code ignored;
      self->acceptor_.close(ignored);
      self->retry_timer_.cancel();
      std::vector<std::shared_ptr<session>> open;
      {
        support::mutex_lock lock(self->mutex_);
        for (auto& [key, weak] : self->sessions_) {
          if (auto s = weak.lock()) open.push_back(std::move(s));
        }
      }
      for (auto& s : open) s->drain();
      open.clear();
      self->drain_timer_.expires_after(self->opts_.drain_timeout);
      self->drain_timer_.async_wait([self](error_code ec) {
        if (ec) return;  // every connection closed in time
        support::mutex_lock lock(self->mutex_);
        for (auto& [key, weak] : self->sessions_) {
          if (auto s = weak.lock()) s->force_close();
        }
      });
      self->cancel_timer_if_idle();
    });
  }

  void wait() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

  unsigned short port_ = 0;
  bool started_ = false;  // set by start(), before any thread runs
  server_options opts_;
  server_context ctx_;

 private:
  void accept() {
    acceptor_.async_accept(
        asio::make_strand(io_),
        [self = shared_from_this()](error_code ec, tcp::socket socket) {
          self->on_accept(ec, std::move(socket));
        });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (draining_ || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors, most likely: wait a little, then retry
      // rather than spin.
      retry_timer_.expires_after(std::chrono::milliseconds(50));
      retry_timer_.async_wait([self = shared_from_this()](error_code e) {
        if (!e && !self->draining_) self->accept();
      });
      return;
    }
    auto& counters = ctx_.counters;
    if (counters.connections_open.load(std::memory_order_relaxed) >=
        opts_.max_connections) {
      counters.connections_refused.fetch_add(1, std::memory_order_relaxed);
      refuse_connection(std::move(socket), opts_);
    } else {
      counters.connections_open.fetch_add(1, std::memory_order_relaxed);
      counters.connections_accepted.fetch_add(1, std::memory_order_relaxed);
      const std::uint64_t key = next_key_++;
      auto s = std::make_shared<session>(std::move(socket), ctx_,
                                         [weak = weak_from_this(), key] {
                                           if (auto self = weak.lock())
                                             self->forget(key);
                                         });
      {
        support::mutex_lock lock(mutex_);
        sessions_.emplace(key, s);
      }
      s->start();
    }
    accept();
  }

  void forget(std::uint64_t key) {
    ctx_.counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
    {
      support::mutex_lock lock(mutex_);
      sessions_.erase(key);
    }
    // Weak: a session can outlive the threads (an engine operation may hold
    // it until the engine goes), and a handler that never runs must not keep
    // this object, and the io_context holding that handler, alive.
    asio::post(acceptor_.get_executor(), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->cancel_timer_if_idle();
    });
  }

  // On the acceptor's strand: once drained and empty, let run() return.
  void cancel_timer_if_idle() {
    if (!draining_) return;
    support::mutex_lock lock(mutex_);
    if (sessions_.empty()) drain_timer_.cancel();
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer drain_timer_;
  asio::steady_timer retry_timer_;
  std::atomic<bool> drain_requested_{false};
  bool draining_ = false;       // on the acceptor's strand
  std::uint64_t next_key_ = 0;  // on the acceptor's strand
  support::mutex mutex_;
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> sessions_
      JOBSTATE_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_;
};

server::server(engine& e, key_store& keys, server_options opts)
    : impl_(std::make_shared<impl>(e, keys, std::move(opts))) {}

server::~server() {
  if (!impl_) return;
  drain();
  wait();
}

result<void> server::start() { return impl_->start(); }
unsigned short server::port() const { return impl_->port_; }
void server::drain() { impl_->drain(); }
void server::wait() { impl_->wait(); }
const server_counters& server::counters() const { return impl_->ctx_.counters; }

}  // namespace jobstate::http
