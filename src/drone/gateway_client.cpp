#include "drone/gateway_client.hpp"

#include "common/http_client.hpp"
#include "drone/orchestrator_client.hpp"

namespace swarm::drone {

GatewayClient::GatewayClient(std::string base_url, std::string token, std::chrono::milliseconds timeout)
    : m_base_url(std::move(base_url)), m_token(std::move(token)), m_timeout(timeout) {}

Result<RegisterResponse> GatewayClient::post(const char* call, const std::string& path, const nlohmann::json& body) const {
  HttpClientOptions options;
  options.bearer_token = m_token;
  options.total_timeout = m_timeout;
  options.connect_timeout = std::min(m_timeout, std::chrono::milliseconds(5'000));
  HttpClient client(m_base_url, options);
  auto r = client.post_json(path, body);
  if (!r) return r.error();
  if (r->status != 200) return http_failure(call, r->status, r->error_message());
  auto j = r->json();
  if (!j) return make_error(ErrorKind::protocol, std::string(call) + ": " + j.error().message);
  // Heartbeats are sent only once approved; an answer that leaves approval out means it still holds.
  if (std::string_view(call) == "heartbeat" && j->is_object() && !j->contains("approval")) (*j)["approval"] = "approved";
  auto answer = RegisterResponse::from_json(*j);
  if (!answer) return make_error(ErrorKind::protocol, std::string(call) + ": " + answer.error().message);
  return std::move(*answer);
}

Result<RegisterResponse> GatewayClient::register_drone(const RegisterRequest& request) const {
  return post("register", "/api/v1/register", request.to_json());
}

Result<RegisterResponse> GatewayClient::heartbeat(const HeartbeatRequest& request) const {
  return post("heartbeat", "/api/v1/heartbeat", request.to_json());
}

Result<std::string> GatewayClient::fetch_public_key() const {
  HttpClientOptions options;
  options.total_timeout = m_timeout;
  options.connect_timeout = std::min(m_timeout, std::chrono::milliseconds(5'000));
  HttpClient client(m_base_url, options);
  auto r = client.get("/api/v1/pubkey");
  if (!r) return r.error();
  if (r->status != 200) return http_failure("pubkey", r->status, r->error_message());
  return r->body;
}

}  // namespace swarm::drone
