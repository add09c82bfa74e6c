#pragma once
// Plain HTTP request/response values shared by the server, the client and the handlers; no Beast here.

#include <map>
#include <optional>
#include <string>
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

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse json(const nlohmann::json& value, int status = 200);
  /// The error body every 4xx/5xx carries: {"error": code, "message": text}.
  static HttpResponse error(int status, const std::string& code, const std::string& message);
  static HttpResponse text(std::string body, int status = 200, std::string content_type = "text/plain; charset=utf-8");
  static HttpResponse no_content();
  /// Maps an Error to its status (invalid 400, unauthorized 401, not_found 404, conflict 409, timeout 504, else 500).
  static HttpResponse from_error(const Error& error);
};

/// Percent-decodes a URL component ('+' as space in queries when `plus_space`).
std::string url_decode(std::string_view s, bool plus_space = false);
std::string url_encode(std::string_view s);
/// Splits "a=1&b=2" into decoded pairs.
std::map<std::string, std::string> parse_query(std::string_view q);

}  // namespace swarm
