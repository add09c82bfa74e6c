#pragma once
// Plain HTTP request/response values shared by the server, the client and the handlers; no Beast here.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace swarm {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent: path and query
  std::string path;                            // decoded path without the query
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names
  std::map<std::string, std::string> params;   // path parameters from the route, e.g. {id}
  std::string body;
  std::string remote_ip;

  /// The header's value, if present (name in any case).
  std::optional<std::string> header(const std::string& name) const;
  /// The token of an `Authorization: Bearer <token>` header, or empty.
  std::string bearer_token() const;
  /// The body parsed as a JSON object, or an `invalid` error saying why not.
  Result<nlohmann::json> json() const;
  /// A query parameter, or `fallback`.
  std::string query_or(const std::string& key, const std::string& fallback) const;
};

/// A byte range of an open file, sent as a response body without reading it into memory; owns the
/// descriptor (closed with the last copy), so a file renamed over or removed meanwhile is still sent whole.
class FileBody {
 public:
  explicit FileBody(int fd, int64_t offset = 0, int64_t length = 0) : m_fd(fd), m_offset(offset), m_length(length) {}
  ~FileBody();
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;
  int fd() const { return m_fd; }
  int64_t offset() const { return m_offset; }
  int64_t length() const { return m_length; }
  void set_range(int64_t offset, int64_t length) {
    m_offset = offset;
    m_length = length;
  }

 private:
  int m_fd;
  int64_t m_offset;
  int64_t m_length;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  /// When set, the body sent instead of `body` (Content-Length is its length; HEAD sends none of it).
  std::shared_ptr<const FileBody> file;

  static HttpResponse json(const nlohmann::json& value, int status = 200);
  /// The error body every 4xx/5xx carries: {"error": code, "message": text}.
  static HttpResponse error(int status, const std::string& code, const std::string& message);
  static HttpResponse text(std::string body, int status = 200, std::string content_type = "text/plain; charset=utf-8");
  static HttpResponse no_content();
  /// Maps an Error to its status (invalid 400, unauthorized 401, not_found 404, conflict 409, timeout 504, else 500).
  static HttpResponse from_error(const Error& error);
};

/// What a `Range` header asks of a representation of `size` bytes (RFC 9110 section 14).
struct RangeRequest {
  enum class Kind {
    whole,          // no Range, another unit, bad syntax or several ranges: send the whole file (200)
    single,         // one satisfiable range: 206 with bytes [first, first + length)
    unsatisfiable,  // syntactically valid, but no range overlaps the file: 416
  };
  Kind kind = Kind::whole;
  int64_t first = 0;
  int64_t length = 0;
};
/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (a suffix); `last` beyond the end is cut to the end.
RangeRequest parse_range(std::string_view header, int64_t size);

/// Percent-decodes a URL component ('+' as space in queries when `plus_space`).
std::string url_decode(std::string_view s, bool plus_space = false);
std::string url_encode(std::string_view s);
/// Splits "a=1&b=2" into decoded pairs.
std::map<std::string, std::string> parse_query(std::string_view q);

}  // namespace swarm
