#include "common/http_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace swarm {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

Result<nlohmann::json> HttpClientResponse::json() const {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return make_error(ErrorKind::protocol, "answer is not JSON (HTTP " + std::to_string(status) + ")");
  return parsed;
}

std::string HttpClientResponse::error_message() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  return body.size() > 300 ? body.substr(0, 300) : body;
}

Result<Url> parse_url(const std::string& url) {
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    return make_error(ErrorKind::invalid, "https URLs are not supported yet: " + url);
  } else {
    return make_error(ErrorKind::invalid, "URL must start with http://: '" + url + "'");
  }
  Url out;
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) out.base_path = rest.substr(slash);
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  auto colon = hostport.rfind(':');
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string::npos) return make_error(ErrorKind::invalid, "bad host in URL '" + url + "'");
    out.host = hostport.substr(1, close - 1);
    colon = hostport.find(':', close);
  } else {
    out.host = hostport.substr(0, colon);
  }
  if (colon != std::string::npos) {
    std::string p = hostport.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos || std::stoi(p) > 65535)
      return make_error(ErrorKind::invalid, "bad port in URL '" + url + "'");
    out.port = static_cast<uint16_t>(std::stoi(p));
  }
  if (out.host.empty()) return make_error(ErrorKind::invalid, "no host in URL '" + url + "'");
  return out;
}

HttpClient::HttpClient(std::string base_url, HttpClientOptions options)
    : m_base_url(std::move(base_url)), m_options(std::move(options)) {}

namespace {

// Connects `stream` to the URL's host within the deadline; binds the local address if asked.
Status connect(net::io_context& ioc, beast::tcp_stream& stream, const Url& url, const HttpClientOptions& o,
               std::chrono::steady_clock::time_point deadline) {
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) return make_error(ErrorKind::io, "cannot resolve " + url.host + ": " + ec.message());
  if (!o.local_address.empty()) {
    auto local = net::ip::make_address(o.local_address, ec);
    if (ec) return make_error(ErrorKind::invalid, "bad local address " + o.local_address);
    stream.socket().open(local.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (!ec) stream.socket().bind(tcp::endpoint(local, 0), ec);
    if (ec) return make_error(ErrorKind::io, "cannot bind to " + o.local_address + ": " + ec.message());
  }
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  stream.expires_after(std::min(o.connect_timeout, std::max(remaining, std::chrono::milliseconds(1))));
  bool done = false;
  if (!o.local_address.empty()) {
    stream.async_connect(*endpoints.begin(), [&](beast::error_code e) { ec = e; done = true; });
  } else {
    stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; done = true; });
  }
  ioc.restart();
  ioc.run();
  if (!done || ec) {
    if (ec == beast::error::timeout) return make_error(ErrorKind::timeout, "connect to " + url.host + ":" + std::to_string(url.port) + " timed out");
    return make_error(ErrorKind::io, "cannot connect to " + url.host + ":" + std::to_string(url.port) + ": " + ec.message());
  }
  return {};
}

}  // namespace

Result<HttpClientResponse> HttpClient::request(const std::string& method, const std::string& path,
                                               const std::string& body,
                                               const std::map<std::string, std::string>& headers,
                                               std::chrono::milliseconds total_timeout) const {
  auto url = parse_url(m_base_url);
  if (!url) return url.error();
  auto total = total_timeout.count() > 0 ? total_timeout : m_options.total_timeout;
  auto deadline = std::chrono::steady_clock::now() + total;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  if (auto st = connect(ioc, stream, *url, m_options, deadline); !st) return st.error();

  http::request<http::string_body> req;
  req.method(http::string_to_verb(method));
  if (req.method() == http::verb::unknown) return make_error(ErrorKind::invalid, "unknown HTTP method " + method);
  req.target(url->base_path + path);
  req.version(11);
  req.set(http::field::host, url->host + ":" + std::to_string(url->port));
  req.set(http::field::user_agent, "build-swarm/" BUILD_SWARM_VERSION);
  if (!m_options.bearer_token.empty()) req.set(http::field::authorization, "Bearer " + m_options.bearer_token);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  for (const auto& [k, v] : headers) req.set(k, v);
  req.keep_alive(false);
  req.prepare_payload();

  beast::error_code ec;
  HttpClientResponse out;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(m_options.body_limit);
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (remaining.count() <= 0) return make_error(ErrorKind::timeout, method + " " + path + " timed out");
  stream.expires_after(remaining);
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
    ec = e;
    if (ec) return;
    http::async_read(stream, buffer, parser, [&](beast::error_code e2, std::size_t) { ec = e2; });
  });
  ioc.restart();
  ioc.run();
  if (ec == beast::error::timeout)
    return make_error(ErrorKind::timeout, method + " " + m_base_url + path + " timed out after " + std::to_string(total.count()) + " ms");
  if (ec) return make_error(ErrorKind::io, method + " " + m_base_url + path + " failed: " + ec.message());
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return out;
}

Result<HttpClientResponse> HttpClient::post_json(const std::string& path, const nlohmann::json& body,
                                                 std::chrono::milliseconds total_timeout) const {
  return request("POST", path, body.dump(), {}, total_timeout);
}

Status HttpClient::stream_events(const std::string& path,
                                 const std::function<void(const std::string&, const std::string&)>& on_event,
                                 const std::atomic<bool>& stop, std::chrono::milliseconds idle_timeout) const {
  auto url = parse_url(m_base_url);
  if (!url) return url.error();
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  if (auto st = connect(ioc, stream, *url, m_options, std::chrono::steady_clock::now() + m_options.connect_timeout); !st)
    return st.error();
  std::string req = "GET " + url->base_path + path + " HTTP/1.1\r\nHost: " + url->host + "\r\nAccept: text/event-stream\r\n";
  if (!m_options.bearer_token.empty()) req += "Authorization: Bearer " + m_options.bearer_token + "\r\n";
  req += "Connection: close\r\n\r\n";
  beast::error_code ec;
  stream.expires_after(m_options.connect_timeout);
  net::write(stream.socket(), net::buffer(req), ec);
  if (ec) return make_error(ErrorKind::io, "cannot send event-stream request: " + ec.message());

  std::string pending;
  bool header_done = false;
  std::string event, data;
  std::array<char, 4096> chunk{};
  bool closed = false;
  std::function<void()> read_more = [&] {
    stream.expires_after(idle_timeout);
    stream.async_read_some(net::buffer(chunk), [&](beast::error_code e, std::size_t n) {
      if (e) {
        ec = e;
        closed = true;
        return;
      }
      pending.append(chunk.data(), n);
      if (!header_done) {
        auto end = pending.find("\r\n\r\n");
        if (end == std::string::npos) return read_more();
        if (pending.compare(0, 12, "HTTP/1.1 200") != 0) {
          ec = net::error::connection_refused;
          closed = true;
          return;
        }
        pending.erase(0, end + 4);
        header_done = true;
      }
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) {
          if (!data.empty()) on_event(event, data.substr(0, data.size() - 1));
          event.clear();
          data.clear();
        } else if (line.rfind("event:", 0) == 0) {
          event = line.substr(line.size() > 6 && line[6] == ' ' ? 7 : 6);
        } else if (line.rfind("data:", 0) == 0) {
          data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5) + "\n";
        }
      }
      if (!stop) read_more();
    });
  };
  read_more();
  while (!closed && !stop) {
    ioc.run_for(std::chrono::milliseconds(100));
    if (ioc.stopped()) {
      if (stop) break;
      ioc.restart();
      if (!closed) continue;
    }
  }
  beast::error_code ignored;
  stream.socket().close(ignored);
  if (stop) return {};
  if (ec == beast::error::timeout) return make_error(ErrorKind::timeout, "event stream idle for too long");
  if (ec && ec != net::error::eof) return make_error(ErrorKind::io, "event stream ended: " + ec.message());
  return {};
}

}  // namespace swarm
