#include "common/http_server.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace swarm {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A named namespace, not an anonymous one: HttpServer::Impl holds routes, and a member of an
// anonymous-namespace type is flagged (-Wsubobject-linkage) when this file is part of a unity build.
namespace http_server_detail {
struct Route {
  std::string pattern;
  std::string method;
  std::vector<std::string> segments;
  std::variant<Handler, AsyncHandler, StreamHandler> handler;
};
}  // namespace http_server_detail
using http_server_detail::Route;

namespace {

std::shared_ptr<spdlog::logger> http_logger() {
  auto l = spdlog::get("http");
  return l ? l : spdlog::default_logger();
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Matches a path against a route's segments, filling path parameters.
bool match(const Route& r, const std::vector<std::string>& parts, std::map<std::string, std::string>& params) {
  params.clear();
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const std::string& seg = r.segments[i];
    bool is_param = seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
    if (is_param && seg.size() > 5 && seg.compare(seg.size() - 4, 4, "...}") == 0) {
      if (i >= parts.size()) return false;
      std::string rest;
      for (size_t k = i; k < parts.size(); ++k) rest += (k > i ? "/" : "") + parts[k];
      params[seg.substr(1, seg.size() - 5)] = rest;
      return true;
    }
    if (i >= parts.size()) return false;
    if (is_param) {
      params[seg.substr(1, seg.size() - 2)] = parts[i];
    } else if (seg != parts[i]) {
      return false;
    }
  }
  return parts.size() == r.segments.size();
}

}  // namespace

Result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& s) {
  std::string host;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return make_error(ErrorKind::invalid, "bad address '" + s + "': expected [IPv6]:PORT");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) return make_error(ErrorKind::invalid, "bad address '" + s + "': expected HOST:PORT");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return make_error(ErrorKind::invalid, "bad port in '" + s + "'");
  int p = std::stoi(port);
  if (p > 65535) return make_error(ErrorKind::invalid, "port out of range in '" + s + "'");
  return std::make_pair(host, static_cast<uint16_t>(p));
}

class HttpServer::Impl {
 public:
  explicit Impl(HttpServerOptions o) : options(std::move(o)), acceptor(ioc) {}

  HttpServerOptions options;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<Route> routes;
  std::vector<std::thread> threads;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::set<std::shared_ptr<void>> sessions;  // owned here so stop() can close them
  uint16_t bound_port = 0;

  void do_accept();
  void close_all();
};

namespace {

class Session;

class StreamImpl final : public EventStream {
 public:
  explicit StreamImpl(const std::shared_ptr<Session>& s) : m_session(s) {}
  bool send_event(const std::string& event, const std::string& data) override;
  bool send_comment(const std::string& text) override;
  bool closed() const override { return m_closed.load(); }
  void close() override;
  void mark_closed() { m_closed = true; }

 private:
  bool queue(std::string bytes);
  // Weak: the session owns this stream, and its pending reads and writes keep it alive; a strong
  // pointer back would be a cycle that leaks every event-stream connection.
  std::weak_ptr<Session> m_session;
  std::atomic<bool> m_closed{false};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server) : m_stream(std::move(socket)), m_server(server) {}

  void start() {
    beast::error_code ec;
    auto ep = m_stream.socket().remote_endpoint(ec);
    if (!ec) m_remote_ip = ep.address().to_string();
    net::dispatch(m_stream.get_executor(), [self = shared_from_this()] { self->do_read(true); });
  }

  void close() {
    net::post(m_stream.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->m_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->m_stream.socket().close(ec);
    });
  }

  void queue_stream_bytes(std::string bytes) {
    net::post(m_stream.get_executor(), [self = shared_from_this(), b = std::move(bytes)]() mutable {
      self->m_stream_queue.push_back(std::move(b));
      if (self->m_stream_queue.size() == 1) self->write_stream_front();
    });
  }

  bool stream_backlog_full() const { return m_stream_queue.size() > 1000; }

 private:
  void do_read(bool first) {
    m_parser.emplace();
    m_parser->header_limit(static_cast<std::uint32_t>(m_server.options.header_limit));
    m_parser->body_limit(m_server.options.body_limit);
    m_stream.expires_after(first ? m_server.options.read_timeout : m_server.options.idle_timeout);
    http::async_read(m_stream, m_buffer, *m_parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return finish();
    }
    if (ec) {
      int status = (ec == http::error::body_limit) ? 413 : (ec == http::error::header_limit ? 431 : 400);
      m_keep_alive = false;
      return write(HttpResponse::error(status, status == 413 ? "too_large" : "bad_request", ec.message()));
    }
    auto& msg = m_parser->get();
    m_keep_alive = msg.keep_alive();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto q = req.target.find('?');
    req.path = url_decode(req.target.substr(0, q));
    if (q != std::string::npos) req.query = parse_query(std::string_view(req.target).substr(q + 1));
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(f.value());
    }
    req.body = std::move(msg.body());
    req.remote_ip = m_remote_ip;
    m_started = std::chrono::steady_clock::now();
    m_method = req.method;
    m_route = "unmatched";
    m_stream.expires_never();  // a long-poll handler may take its time; the write sets its own deadline
    dispatch(std::move(req));
  }

  void dispatch(HttpRequest req) {
    auto parts = split_path(req.path);
    bool path_matched = false;
    for (const auto& r : m_server.routes) {
      std::map<std::string, std::string> params;
      if (!match(r, parts, params)) continue;
      path_matched = true;
      bool is_stream = std::holds_alternative<StreamHandler>(r.handler);
      if (r.method != req.method && !(is_stream && req.method == "GET") &&
          !(req.method == "HEAD" && r.method == "GET"))
        continue;
      req.params = std::move(params);
      m_route = r.pattern;
      try {
        if (auto* h = std::get_if<Handler>(&r.handler)) {
          return write((*h)(req));
        }
        if (auto* a = std::get_if<AsyncHandler>(&r.handler)) {
          auto done = std::make_shared<std::atomic<bool>>(false);
          std::weak_ptr<Session> weak = shared_from_this();
          auto self = shared_from_this();
          Responder responder = [self, done](HttpResponse resp) {
            if (done->exchange(true)) return;
            net::post(self->m_stream.get_executor(), [self, r2 = std::move(resp)]() mutable { self->write(std::move(r2)); });
          };
          (*a)(req, std::move(responder));
          return;
        }
        return start_stream(req, std::get<StreamHandler>(r.handler));
      } catch (const std::exception& e) {
        http_logger()->error("handler {} {} threw: {}", req.method, req.path, e.what());
        return write(HttpResponse::error(500, "internal", "internal error"));
      }
    }
    if (path_matched) return write(HttpResponse::error(405, "method_not_allowed", req.method + " not allowed on " + req.path));
    write(HttpResponse::error(404, "not_found", "no such endpoint: " + req.path));
  }

  void start_stream(const HttpRequest& req, const StreamHandler& handler) {
    m_keep_alive = false;
    m_streaming = true;
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Connection: close\r\nX-Accel-Buffering: no\r\n\r\n";
    m_event_stream = std::make_shared<StreamImpl>(shared_from_this());
    m_stream_queue.push_back(std::move(head));
    write_stream_front();
    watch_peer_close();
    handler(req, m_event_stream);
  }

  void watch_peer_close() {
    m_stream.expires_never();
    m_stream.async_read_some(net::buffer(m_discard), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        if (self->m_event_stream) self->m_event_stream->mark_closed();
        beast::error_code ignored;
        self->m_stream.socket().close(ignored);
        return self->finish();
      }
      self->watch_peer_close();
    });
  }

  void write_stream_front() {
    if (m_stream_queue.empty()) return;
    m_stream.expires_after(m_server.options.write_timeout);
    net::async_write(m_stream.socket(), net::buffer(m_stream_queue.front()),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->m_stream_queue.pop_front();
                       if (ec) {
                         if (self->m_event_stream) self->m_event_stream->mark_closed();
                         beast::error_code ignored;
                         self->m_stream.socket().close(ignored);
                         self->m_stream_queue.clear();
                         return;
                       }
                       self->write_stream_front();
                     });
  }

  void write(HttpResponse resp) {
    if (m_server.options.observer) {
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
      try {
        m_server.options.observer(m_method, m_route, resp.status, seconds);
      } catch (...) {
      }
    }
    bool head_only = m_parser && m_parser->get().method() == http::verb::head;
    if (resp.file) return write_file(std::move(resp), head_only);
    auto res = std::make_shared<http::response<http::string_body>>();
    set_head(*res, resp);
    res->body() = std::move(resp.body);
    res->keep_alive(m_keep_alive && !m_server.stopping.load());
    res->prepare_payload();
    if (head_only) res->body().clear();
    m_stream.expires_after(m_server.options.write_timeout);
    auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
    if (head_only) sr->split(true);
    auto on_written = [self = shared_from_this(), res, sr](beast::error_code ec, std::size_t) {
      self->after_write(!ec && res->keep_alive());
    };
    if (head_only) {
      http::async_write_header(m_stream, *sr, std::move(on_written));
    } else {
      http::async_write(m_stream, *sr, std::move(on_written));
    }
  }

  template <typename Body>
  void set_head(http::response<Body>& res, const HttpResponse& resp) {
    res.version(11);
    res.result(static_cast<unsigned>(resp.status));
    res.set(http::field::server, m_server.options.server_name);
    if (!resp.content_type.empty()) res.set(http::field::content_type, resp.content_type);
    for (const auto& [k, v] : resp.headers) res.set(k, v);
  }

  // The header, then the file's range read in chunks: any size, never the whole file in memory.
  void write_file(HttpResponse resp, bool head_only) {
    auto res = std::make_shared<http::response<http::empty_body>>();
    set_head(*res, resp);
    res->content_length(static_cast<std::uint64_t>(resp.file->length()));
    res->keep_alive(m_keep_alive && !m_server.stopping.load());
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    sr->split(true);
    m_file = std::move(resp.file);
    m_file_sent = 0;
    m_file_buffered = 0;
    m_file_written = 0;
    if (head_only) m_file.reset();
    m_stream.expires_after(m_server.options.write_timeout);
    http::async_write_header(m_stream, *sr, [self = shared_from_this(), res, sr](beast::error_code ec, std::size_t) {
      if (ec) return self->after_write(false);
      self->send_file_chunk(res->keep_alive());
    });
  }

  void send_file_chunk(bool keep_alive) {
    if (!m_file) return after_write(keep_alive);
    if (m_file_written == m_file_buffered) {
      int64_t left = m_file->length() - m_file_sent;
      if (left == 0) {
        m_file.reset();
        return after_write(keep_alive);
      }
      m_file_buffer.resize(kFileChunk);
      ssize_t n = 0;
      do {
        n = ::pread(m_file->fd(), m_file_buffer.data(), static_cast<size_t>(std::min<int64_t>(left, kFileChunk)),
                    static_cast<off_t>(m_file->offset() + m_file_sent));
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {
        // Truncated or unreadable while being sent: the promised length cannot be kept, so the connection ends.
        http_logger()->warn("file body ended after {} of {} bytes: {}", m_file_sent, m_file->length(),
                            n < 0 ? std::strerror(errno) : "file shrank");
        m_file.reset();
        return after_write(false);
      }
      m_file_buffered = static_cast<size_t>(n);
      m_file_written = 0;
    }
    // write_some with its own deadline: the write timeout bounds a stall, not a slow but moving download.
    m_stream.expires_after(m_server.options.write_timeout);
    m_stream.async_write_some(net::buffer(m_file_buffer.data() + m_file_written, m_file_buffered - m_file_written),
                              [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t n) {
                                if (ec) {
                                  self->m_file.reset();
                                  return self->after_write(false);
                                }
                                self->m_file_written += n;
                                self->m_file_sent += static_cast<int64_t>(n);
                                self->send_file_chunk(keep_alive);
                              });
  }

  // After an answer: read the next request on a kept-alive connection, or end it.
  void after_write(bool keep_alive) {
    if (!keep_alive) {
      beast::error_code ignored;
      m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return finish();
    }
    do_read(false);
  }

  void finish() {
    std::lock_guard lock(m_server.sessions_mutex);
    m_server.sessions.erase(shared_from_this());
  }

  beast::tcp_stream m_stream;
  HttpServer::Impl& m_server;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  bool m_keep_alive = true;
  bool m_streaming = false;
  std::string m_remote_ip;
  std::shared_ptr<StreamImpl> m_event_stream;
  std::deque<std::string> m_stream_queue;
  std::array<char, 512> m_discard{};
  std::chrono::steady_clock::time_point m_started = std::chrono::steady_clock::now();
  static constexpr int64_t kFileChunk = 256 * 1024;
  std::shared_ptr<const FileBody> m_file;  // the file body being sent, if any
  int64_t m_file_sent = 0;                 // bytes of it written to the socket
  std::vector<char> m_file_buffer;
  size_t m_file_buffered = 0;  // bytes read into m_file_buffer
  size_t m_file_written = 0;   // of those, bytes written
  std::string m_method;
  std::string m_route = "unmatched";
};

bool StreamImpl::queue(std::string bytes) {
  if (m_closed) return false;
  auto session = m_session.lock();
  if (!session) {
    m_closed = true;
    return false;
  }
  session->queue_stream_bytes(std::move(bytes));
  return true;
}

bool StreamImpl::send_event(const std::string& event, const std::string& data) {
  std::string out;
  if (!event.empty()) out += "event: " + event + "\n";
  size_t i = 0;
  while (true) {
    size_t j = data.find('\n', i);
    out += "data: " + data.substr(i, j == std::string::npos ? std::string::npos : j - i) + "\n";
    if (j == std::string::npos) break;
    i = j + 1;
  }
  out += "\n";
  return queue(std::move(out));
}

bool StreamImpl::send_comment(const std::string& text) { return queue(": " + text + "\n\n"); }

void StreamImpl::close() {
  if (m_closed.exchange(true)) return;
  if (auto session = m_session.lock()) session->close();
}

}  // namespace

void HttpServer::Impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!stopping && ec != net::error::operation_aborted) do_accept();
      return;
    }
    auto session = std::make_shared<Session>(std::move(socket), *this);
    {
      std::lock_guard lock(sessions_mutex);
      sessions.insert(session);
    }
    session->start();
    do_accept();
  });
}

void HttpServer::Impl::close_all() {
  std::vector<std::shared_ptr<void>> copy;
  {
    std::lock_guard lock(sessions_mutex);
    copy.assign(sessions.begin(), sessions.end());
  }
  for (auto& s : copy) std::static_pointer_cast<Session>(s)->close();
}

HttpServer::HttpServer(HttpServerOptions options) : m_impl(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(const std::string& method, const std::string& pattern, Handler handler) {
  m_impl->routes.push_back(Route{pattern, method, split_path(pattern), std::move(handler)});
}

void HttpServer::route_async(const std::string& method, const std::string& pattern, AsyncHandler handler) {
  m_impl->routes.push_back(Route{pattern, method, split_path(pattern), std::move(handler)});
}

void HttpServer::route_stream(const std::string& pattern, StreamHandler handler) {
  m_impl->routes.push_back(Route{pattern, "GET", split_path(pattern), std::move(handler)});
}

Result<uint16_t> HttpServer::start() {
  auto hp = parse_host_port(m_impl->options.listen);
  if (!hp) return hp.error();
  beast::error_code ec;
  auto address = net::ip::make_address(hp->first, ec);
  if (ec) {
    tcp::resolver resolver(m_impl->ioc);
    auto results = resolver.resolve(hp->first, std::to_string(hp->second), ec);
    if (ec || results.empty()) return make_error(ErrorKind::invalid, "cannot resolve listen host '" + hp->first + "'");
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(address, hp->second);
  auto& a = m_impl->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error(ErrorKind::io, "cannot listen on " + m_impl->options.listen + ": " + ec.message());
  m_impl->bound_port = a.local_endpoint().port();
  m_impl->work.emplace(m_impl->ioc.get_executor());
  m_impl->do_accept();
  int n = std::max(1, m_impl->options.threads);
  for (int i = 0; i < n; ++i) m_impl->threads.emplace_back([this] { m_impl->ioc.run(); });
  return m_impl->bound_port;
}

void HttpServer::stop() {
  if (m_impl->stopping.exchange(true)) return;
  net::post(m_impl->ioc, [this] {
    beast::error_code ec;
    m_impl->acceptor.close(ec);
  });
  m_impl->close_all();
  m_impl->work.reset();
  // Give open connections a moment to close cleanly, then stop what is left (long-poll timers).
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
  while (std::chrono::steady_clock::now() < until && !m_impl->threads.empty()) {
    {
      std::lock_guard lock(m_impl->sessions_mutex);
      if (m_impl->sessions.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  m_impl->ioc.stop();
  for (auto& t : m_impl->threads)
    if (t.joinable()) t.join();
  std::lock_guard lock(m_impl->sessions_mutex);
  m_impl->sessions.clear();
}

uint16_t HttpServer::port() const { return m_impl->bound_port; }

void HttpServer::post_after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<net::steady_timer>(m_impl->ioc, delay);
  timer->async_wait([timer, f = std::move(fn)](beast::error_code ec) {
    if (!ec) f();
  });
}

}  // namespace swarm
