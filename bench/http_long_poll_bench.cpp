// Load check for jobstated: holds N concurrent long-polls (GC AI
// `GET /api/external/v1/jobs/{id}?wait=60`, one connection each) while the
// jobs complete, and reports the wake-up latency (from the complete request
// being sent to the long-poll's answer arriving) and the server's memory and
// threads before and while the long-polls are held.
//
// The server is the real jobstated binary, run as a child process, so that
// its memory is its own and both sides have their own file descriptors.
//
// Usage: jobstate_bench_http_long_poll [--polls N] [--jobstated PATH]
//        (default N = 10000; the smoke test uses 200)
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// The value of `field` (kB) in /proc/PID/status.
long proc_status(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

// A keep-alive connection for the setup and the workers' calls.
class client {
 public:
  explicit client(unsigned short port) : stream_(io_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  std::pair<int, std::string> call(bhttp::verb method,
                                   const std::string& target,
                                   const std::string& key,
                                   const std::string& body = {}) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, "Bearer " + key);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(stream_, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream_, buffer_, res);
    return {res.result_int(), std::move(res.body())};
  }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// One held long-poll.
struct poller : std::enable_shared_from_this<poller> {
  poller(asio::io_context& io, std::string target, std::string key)
      : socket(io), target(std::move(target)), key(std::move(key)) {}
  tcp::socket socket;
  std::string target;
  std::string key;
  bhttp::request<bhttp::string_body> req;
  bhttp::response<bhttp::string_body> res;
  beast::flat_buffer buffer;
  clock_type::time_point answered{};
  int status = 0;

  void start(unsigned short port, std::atomic<int>& done) {
    socket.async_connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
        [self = shared_from_this(), &done](boost::system::error_code ec) {
          if (ec) {
            std::cerr << "connect: " << ec.message() << "\n";
            done.fetch_add(1);
            return;
          }
          self->req = {bhttp::verb::get, self->target, 11};
          self->req.set(bhttp::field::host, "127.0.0.1");
          self->req.set(bhttp::field::authorization, self->key);
          bhttp::async_write(
              self->socket, self->req,
              [self, &done](boost::system::error_code ec2, std::size_t) {
                if (ec2) {
                  done.fetch_add(1);
                  return;
                }
                bhttp::async_read(
                    self->socket, self->buffer, self->res,
                    [self, &done](boost::system::error_code ec3, std::size_t) {
                      self->answered = clock_type::now();
                      self->status = ec3 ? -1 : self->res.result_int();
                      done.fetch_add(1);
                    });
              });
        });
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i =
      static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t polls = 10'000;
  std::string binary = JOBSTATED_BINARY;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--polls") polls = std::strtoul(argv[i + 1], nullptr, 10);
    if (arg == "--jobstated") binary = argv[i + 1];
  }
  // Each side needs a descriptor per connection.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < polls + 100) {
    std::cerr << "need " << polls + 100 << " file descriptors, have "
              << lim.rlim_cur << "\n";
    return 1;
  }

  const auto root = std::filesystem::temp_directory_path() /
                    ("jobstated-bench-" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const auto log = root / "server.log";
  const pid_t server = fork();
  if (server == 0) {
    const std::string db = (root / "db").string();
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(binary.c_str(), binary.c_str(), "--listen", "127.0.0.1:0", "--db",
          db.c_str(), "--durability", "no_sync", "--max-connections", "30000",
          "--max-wait", "90", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string key;
  unsigned short port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    std::smatch m;
    const std::string s = text.str();
    if (std::regex_search(s, m, std::regex("(jsk_[0-9a-f_]+)"))) key = m[1];
    if (std::regex_search(
            s, m, std::regex("listening on http://127.0.0.1:([0-9]+)"))) {
      port = static_cast<unsigned short>(std::stoi(m[1]));
    }
  }
  if (port == 0 || key.empty()) {
    std::cerr << "jobstated did not start (" << log << ")\n";
    kill(server, SIGKILL);
    return 1;
  }

  client setup(port);
  const std::string jobs = "/v1/native/projects/default/jobs";
  std::vector<std::string> ids;
  ids.reserve(polls);
  for (std::size_t i = 0; i < polls; ++i) {
    auto [status, body] = setup.call(bhttp::verb::post, jobs, key,
                                     R"({"kind": "chat/completions"})");
    if (status != 201) {
      std::cerr << "create: " << status << " " << body << "\n";
      return 1;
    }
    ids.emplace_back(boost::json::parse(body).at("id").as_string());
  }
  const long rss_before = proc_status(server, "VmRSS");

  asio::io_context io;
  std::atomic<int> answered{0};
  std::vector<std::shared_ptr<poller>> pollers;
  for (const auto& id : ids) {
    pollers.push_back(std::make_shared<poller>(
        io, "/api/external/v1/jobs/" + id + "?wait=60", key));
    pollers.back()->start(port, answered);
  }
  std::thread runner([&] { io.run(); });

  // Held: every long-poll is pending in the server.
  const auto held_began = clock_type::now();
  std::size_t pending = 0;
  while (clock_type::now() - held_began < std::chrono::seconds(60)) {
    auto [status, body] = setup.call(bhttp::verb::get, "/metrics", key);
    std::smatch m;
    if (std::regex_search(
            body, m, std::regex("jobstated_long_polls_pending ([0-9]+)"))) {
      pending = std::stoul(m[1]);
    }
    if (pending >= polls) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double hold_seconds =
      std::chrono::duration<double>(clock_type::now() - held_began).count();
  const long rss_held = proc_status(server, "VmRSS");
  const long threads_held = proc_status(server, "Threads");

  // Workers complete the jobs one after another; each long-poll must wake.
  std::vector<clock_type::time_point> sent(polls);
  const auto completes_began = clock_type::now();
  for (std::size_t i = 0; i < polls; ++i) {
    setup.call(bhttp::verb::post, jobs + "/" + ids[i] + "/start", key);
    sent[i] = clock_type::now();
    setup.call(bhttp::verb::post, jobs + "/" + ids[i] + "/complete", key,
               R"({"result": {"ok": true}})");
  }
  const double complete_seconds =
      std::chrono::duration<double>(clock_type::now() - completes_began)
          .count();
  while (answered.load() < static_cast<int>(polls) &&
         clock_type::now() - completes_began < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  io.stop();
  runner.join();
  const long rss_after = proc_status(server, "VmRSS");
  const long hwm = proc_status(server, "VmHWM");

  std::vector<double> latency_ms;
  std::size_t ok = 0;
  for (std::size_t i = 0; i < polls; ++i) {
    if (pollers[i]->status == 200) {
      ++ok;
      latency_ms.push_back(std::chrono::duration<double, std::milli>(
                               pollers[i]->answered - sent[i])
                               .count());
    }
  }
  kill(server, SIGTERM);
  int wstatus = 0;
  waitpid(server, &wstatus, 0);
  std::filesystem::remove_all(root);

  std::printf(
      "http long-poll load check: %zu concurrent long-polls, one connection "
      "each\n",
      polls);
  std::printf("  held pending in the server:  %zu (after %.2f s)\n", pending,
              hold_seconds);
  std::printf("  server threads while held:   %ld\n", threads_held);
  std::printf("  server RSS before polls:     %.1f MiB\n",
              static_cast<double>(rss_before) / 1024);
  std::printf(
      "  server RSS while held:       %.1f MiB (+%.2f KiB per long-poll)\n",
      static_cast<double>(rss_held) / 1024,
      static_cast<double>(rss_held - rss_before) / static_cast<double>(polls));
  std::printf("  server RSS after, peak:      %.1f MiB, %.1f MiB\n",
              static_cast<double>(rss_after) / 1024,
              static_cast<double>(hwm) / 1024);
  std::printf(
      "  jobs completed in:           %.2f s (%.0f/s, start + complete each)\n",
      complete_seconds, static_cast<double>(polls) / complete_seconds);
  std::printf("  answered 200 (succeeded):    %zu of %zu\n", ok, polls);
  std::printf(
      "  wake-up latency (complete sent -> long-poll answered): "
      "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      percentile(latency_ms, 0.5), percentile(latency_ms, 0.9),
      percentile(latency_ms, 0.99), percentile(latency_ms, 1.0));
  const bool passed = ok == polls && pending >= polls && WIFEXITED(wstatus) &&
                      WEXITSTATUS(wstatus) == 0;
  if (!passed)
    std::printf(
        "FAILED: not every long-poll was held and answered, or the server did "
        "not exit cleanly\n");
  return passed ? 0 : 1;
}
