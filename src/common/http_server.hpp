#pragma once
// HttpServer: an HTTP/1.1 server on Boost.Beast (kept out of this header) with method+path routing,
// path parameters, size limits, a read timeout, keep-alive, long-poll and event-stream responses.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/http_types.hpp"
#include "common/result.hpp"

namespace swarm {

/// Completes a request once, from any thread; later calls are ignored.
using Responder = std::function<void(HttpResponse)>;
/// A handler that may answer later (long-poll): it must call the responder exactly once.
using AsyncHandler = std::function<void(const HttpRequest&, Responder)>;
/// A handler that answers at once.
using Handler = std::function<HttpResponse(const HttpRequest&)>;

/// An open event stream (Server-Sent Events): send() queues bytes; closed() once the peer has gone.
class EventStream {
 public:
  virtual ~EventStream() = default;
  /// Queues one SSE event (`event:` line optional, `data:` lines from `data`); false once closed.
  virtual bool send_event(const std::string& event, const std::string& data) = 0;
  /// Queues a comment line to keep the connection alive; false once closed.
  virtual bool send_comment(const std::string& text) = 0;
  virtual bool closed() const = 0;
  virtual void close() = 0;
};
/// Called once per new stream subscriber, on an I/O thread.
using StreamHandler = std::function<void(const HttpRequest&, std::shared_ptr<EventStream>)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free port
  int threads = 4;
  size_t header_limit = 16 * 1024;
  size_t body_limit = 16 * 1024 * 1024;
  std::chrono::milliseconds read_timeout{30'000};    // whole request, from its first byte
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};
  std::string server_name = "build-swarm";
  /// Called after each answer is written: method, the matched route pattern, status and the time from the
  /// request's last byte to the answer (for latency metrics). Runs on an I/O thread: keep it cheap.
  std::function<void(const std::string& method, const std::string& route, int status, double seconds)> observer;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Routes `method` + `pattern`; `{name}` matches one path segment, a trailing `{name...}` the rest.
  void route(const std::string& method, const std::string& pattern, Handler handler);
  void route_async(const std::string& method, const std::string& pattern, AsyncHandler handler);
  void route_stream(const std::string& pattern, StreamHandler handler);

  /// Binds and starts the I/O threads; returns the bound port.
  Result<uint16_t> start();
  /// Stops accepting, closes connections and joins the threads. Idempotent.
  void stop();
  uint16_t port() const;
  /// Runs `fn` on an I/O thread after `delay` (timers for long-poll deadlines and loops).
  void post_after(std::chrono::milliseconds delay, std::function<void()> fn);

  class Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

/// Splits "HOST:PORT" ("[::1]:80" allowed); an error says what is wrong.
Result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& s);

}  // namespace swarm
