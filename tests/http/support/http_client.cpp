#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <stdexcept>

namespace jobstate::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

boost::json::value http_answer::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

std::string http_answer::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

http_answer to_answer(bhttp::response<bhttp::string_body> res) {
  http_answer answer;
  answer.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    answer.headers[name] = std::string(field.value());
  }
  answer.body = std::move(res.body());
  return answer;
}

}  // namespace

http_answer http_call(unsigned short port, const std::string& method,
                      const std::string& target, const header_list& headers,
                      const std::string& body) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = body;
  if (!body.empty() || method == "POST") req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(stream, buffer, parser);
  http_answer answer = to_answer(parser.release());
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return answer;
}

http_answer parse_answer(const std::string& raw) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.eager(true);  // the header and the body in one put
  boost::system::error_code ec;
  parser.put(asio::buffer(raw), ec);
  if (ec || !parser.is_done()) {
    throw std::runtime_error("not a complete HTTP answer (" +
                             (ec ? ec.message() : std::string("partial")) +
                             "): " + raw);
  }
  return to_answer(parser.release());
}

raw_connection::raw_connection(unsigned short port) : socket_(io_) {
  socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

void raw_connection::send(const std::string& bytes) {
  asio::write(socket_, asio::buffer(bytes));
}

std::string raw_connection::read_until(const std::string& needle,
                                       std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_ && received_.find(needle) == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    char chunk[4096];
    bool done = false;
    std::size_t got = 0;
    boost::system::error_code result;
    socket_.async_read_some(asio::buffer(chunk),
                            [&](boost::system::error_code ec, std::size_t n) {
                              result = ec;
                              got = n;
                              done = true;
                            });
    io_.restart();
    io_.run_until(deadline);
    if (!done) {
      socket_.cancel();
      io_.restart();
      io_.run();
      break;
    }
    received_.append(chunk, got);
    if (result) eof_ = true;
  }
  return received_;
}

bool raw_connection::closed_within(std::chrono::milliseconds timeout) {
  read_until(std::string(1, '\0') + "never", timeout);
  return eof_;
}

}  // namespace jobstate::test
