#pragma once
// HttpClient: a blocking HTTP/1.1 client with connect, read and total timeouts and JSON helpers.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace swarm {

struct HttpClientResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  /// The body as JSON, or an error saying why it is not.
  Result<nlohmann::json> json() const;
  /// The `message` (or whole body) of an error answer, for logs.
  std::string error_message() const;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds total_timeout{30'000};  // whole exchange, connect included
  std::string bearer_token;
  std::string local_address;  // bind the socket to this source address (tests of addressing)
  size_t body_limit = 64 * 1024 * 1024;
};

struct Url {
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // without a trailing '/'
};
/// Parses "http://HOST[:PORT][/base]"; https is refused for now with a clear message.
Result<Url> parse_url(const std::string& url);

class HttpClient {
 public:
  explicit HttpClient(std::string base_url, HttpClientOptions options = {});

  /// Sends one request; an error only for transport failures (any HTTP status is a response).
  Result<HttpClientResponse> request(const std::string& method, const std::string& path, const std::string& body = "",
                                     const std::map<std::string, std::string>& headers = {},
                                     std::chrono::milliseconds total_timeout = std::chrono::milliseconds(0)) const;
  Result<HttpClientResponse> get(const std::string& path) const { return request("GET", path); }
  Result<HttpClientResponse> post_json(const std::string& path, const nlohmann::json& body,
                                       std::chrono::milliseconds total_timeout = std::chrono::milliseconds(0)) const;
  /// Reads a text/event-stream, calling `on_event(event, data)` per event until `stop` turns true, the
  /// server closes, or no byte arrives within `idle_timeout`.
  Status stream_events(const std::string& path, const std::function<void(const std::string&, const std::string&)>& on_event,
                       const std::atomic<bool>& stop, std::chrono::milliseconds idle_timeout) const;

  void set_bearer_token(std::string token) { m_options.bearer_token = std::move(token); }
  const std::string& base_url() const { return m_base_url; }

 private:
  std::string m_base_url;
  HttpClientOptions m_options;
};

}  // namespace swarm
