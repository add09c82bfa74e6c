#include "build-swarm/gateway_api.hpp"

namespace swarm::cli {

namespace {

ErrorKind kind_of_status(int status) {
  switch (status) {
    case 400:
      return ErrorKind::invalid;
    case 401:
    case 403:
      return ErrorKind::unauthorized;
    case 404:
      return ErrorKind::not_found;
    case 409:
      return ErrorKind::conflict;
    case 504:
      return ErrorKind::timeout;
    default:
      return status >= 500 ? ErrorKind::internal : ErrorKind::protocol;
  }
}

HttpClientOptions client_options(const std::string& token, const GatewayApiOptions& o) {
  HttpClientOptions c;
  c.connect_timeout = o.connect_timeout;
  c.total_timeout = o.total_timeout;
  c.bearer_token = token;
  return c;
}

}  // namespace

GatewayApi::GatewayApi(std::string base_url, const std::string& admin_token, GatewayApiOptions options)
    : m_base_url(std::move(base_url)),
      m_has_token(!admin_token.empty()),
      m_client(m_base_url, client_options(admin_token, options)) {}

Result<ApiAnswer> GatewayApi::get(const std::string& path) const { return finish(m_client.get(path), "GET " + path); }

Result<ApiAnswer> GatewayApi::post(const std::string& path, const nlohmann::json& body) const {
  return finish(m_client.post_json(path, body), "POST " + path);
}

Result<ApiAnswer> GatewayApi::finish(Result<HttpClientResponse> response, const std::string& what) const {
  if (!response) {
    const Error& e = response.error();
    if (e.kind == ErrorKind::invalid) return make_error(ErrorKind::invalid, "bad gateway URL: " + e.message);
    return make_error(e.kind, "cannot reach the gateway at " + m_base_url + ": " + e.message);
  }
  const HttpClientResponse& r = *response;
  if (r.status < 200 || r.status >= 300) {
    std::string message = r.error_message();
    if (message.empty()) message = what + " failed";
    message += " (HTTP " + std::to_string(r.status) + ")";
    if ((r.status == 401 || r.status == 403) && !m_has_token)
      message +=
          "; no admin token was given: use --admin-token-file FILE, BUILD_SWARM_ADMIN_TOKEN or "
          "admin-token-file in the config file";
    return make_error(kind_of_status(r.status), message);
  }
  nlohmann::json parsed;
  if (!r.body.empty()) {
    parsed = nlohmann::json::parse(r.body, nullptr, false);
    if (parsed.is_discarded())
      return make_error(ErrorKind::protocol, "the gateway's answer to " + what + " is not JSON (is " + m_base_url +
                                                 " a build-swarm gateway?)");
  }
  return ApiAnswer{r.status, r.body, std::move(parsed)};
}

}  // namespace swarm::cli
