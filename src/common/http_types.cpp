#include "common/http_types.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "common/text.hpp"

namespace swarm {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// Digits only, non-empty; a number too large for int64 saturates (a range end far past any file).
std::optional<int64_t> range_number(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::numeric_limits<int64_t>::max();
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

FileBody::~FileBody() {
  if (m_fd >= 0) ::close(m_fd);
}

RangeRequest parse_range(std::string_view header, int64_t size) {
  RangeRequest whole;
  header = trim_ows(header);
  auto eq = header.find('=');
  if (eq == std::string_view::npos || ascii_lower(trim_ows(header.substr(0, eq))) != "bytes") return whole;
  std::string_view set = header.substr(eq + 1);
  std::string_view spec;
  int specs = 0;
  while (true) {  // empty list elements are allowed by the list syntax; more than one range is answered whole
    auto comma = set.find(',');
    std::string_view part = trim_ows(set.substr(0, comma));
    if (!part.empty()) {
      spec = part;
      ++specs;
    }
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  if (specs != 1) return whole;
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  RangeRequest r;
  r.kind = RangeRequest::Kind::unsatisfiable;
  if (dash == 0) {  // suffix: the last n bytes
    auto n = range_number(spec.substr(1));
    if (!n) return whole;
    if (*n == 0 || size == 0) return r;
    r.kind = RangeRequest::Kind::single;
    r.length = std::min(*n, size);
    r.first = size - r.length;
    return r;
  }
  auto first = range_number(spec.substr(0, dash));
  if (!first) return whole;
  int64_t last = std::numeric_limits<int64_t>::max();
  if (dash + 1 < spec.size()) {
    auto l = range_number(spec.substr(dash + 1));
    if (!l || *l < *first) return whole;  // invalid syntax: the header is ignored
    last = *l;
  }
  if (*first >= size) return r;
  r.kind = RangeRequest::Kind::single;
  r.first = *first;
  r.length = std::min(last, size - 1) - *first + 1;
  return r;
}

std::optional<std::string> HttpRequest::header(const std::string& name) const {
  auto it = headers.find(ascii_lower(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::string HttpRequest::bearer_token() const {
  auto h = header("authorization");
  if (!h) return {};
  const std::string prefix = "bearer ";
  if (h->size() <= prefix.size() || ascii_lower(h->substr(0, prefix.size())) != prefix) return {};
  std::string token = h->substr(prefix.size());
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.pop_back();
  return token;
}

Result<nlohmann::json> HttpRequest::json() const {
  if (body.empty()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return make_error(ErrorKind::invalid, "request body is not valid JSON");
  if (!parsed.is_object()) return make_error(ErrorKind::invalid, "request body must be a JSON object");
  return parsed;
}

std::string HttpRequest::query_or(const std::string& key, const std::string& fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

HttpResponse HttpResponse::json(const nlohmann::json& value, int status) {
  HttpResponse r;
  r.status = status;
  r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse HttpResponse::error(int status, const std::string& code, const std::string& message) {
  return json({{"error", code}, {"message", message}}, status);
}

HttpResponse HttpResponse::text(std::string body, int status, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

HttpResponse HttpResponse::no_content() {
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

HttpResponse HttpResponse::from_error(const Error& e) {
  switch (e.kind) {
    case ErrorKind::invalid: return error(400, "invalid", e.message);
    case ErrorKind::unauthorized: return error(401, "unauthorized", e.message);
    case ErrorKind::not_found: return error(404, "not_found", e.message);
    case ErrorKind::conflict: return error(409, "conflict", e.message);
    case ErrorKind::timeout: return error(504, "timeout", e.message);
    case ErrorKind::io:
    case ErrorKind::protocol:
    case ErrorKind::internal: break;
  }
  return error(500, to_string(e.kind), e.message);
}

std::string url_decode(std::string_view s, bool plus_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == '=' || c == '+' ||
        c == ':' || c == '@') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      std::string key = url_decode(part.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1), true);
      out[key] = value;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace swarm
