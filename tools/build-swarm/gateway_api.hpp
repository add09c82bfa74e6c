#pragma once
// GatewayApi: the CLI's calls to the gateway's /api/v1, with timeouts, the admin token as Bearer and
// errors turned into one readable message each.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "common/http_client.hpp"
#include "common/result.hpp"

namespace swarm::cli {

/// A successful (2xx) answer: the raw body (printed as is by --json) and its JSON, null when empty.
struct ApiAnswer {
  int status = 0;
  std::string body;
  nlohmann::json json;
};

struct GatewayApiOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds total_timeout{30'000};
};

class GatewayApi {
 public:
  /// `admin_token` may be empty: the call then goes without Authorization.
  GatewayApi(std::string base_url, const std::string& admin_token, GatewayApiOptions options = {});

  /// GET `path`; io/timeout when the gateway cannot be reached, the API's message for a 4xx/5xx
  /// answer (kind from the status), protocol when a non-empty body is not JSON.
  Result<ApiAnswer> get(const std::string& path) const;
  /// POST `body` as JSON to `path`; errors as for get().
  Result<ApiAnswer> post(const std::string& path, const nlohmann::json& body) const;

  const std::string& base_url() const { return m_base_url; }
  bool has_admin_token() const { return m_has_token; }

 private:
  Result<ApiAnswer> finish(Result<HttpClientResponse> response, const std::string& what) const;

  std::string m_base_url;
  bool m_has_token = false;
  HttpClient m_client;
};

}  // namespace swarm::cli
