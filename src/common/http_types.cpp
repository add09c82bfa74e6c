#include "common/http_types.hpp"

#include <algorithm>
#include <cctype>

#include "common/text.hpp"

namespace swarm {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

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
