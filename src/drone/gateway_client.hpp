#pragma once
// GatewayClient: registration, heartbeats and the public key, authenticated by the drone's token.

#include <chrono>
#include <string>

#include "common/messages.hpp"
#include "common/result.hpp"

namespace swarm::drone {

class GatewayClient {
 public:
  GatewayClient(std::string base_url, std::string token, std::chrono::milliseconds timeout);

  /// POST /api/v1/register.
  Result<RegisterResponse> register_drone(const RegisterRequest& request) const;
  /// POST /api/v1/heartbeat; the answer carries the current orchestrator and a fresh ticket.
  Result<RegisterResponse> heartbeat(const HeartbeatRequest& request) const;
  /// GET /api/v1/pubkey: the gateway's Ed25519 public key as PEM.
  Result<std::string> fetch_public_key() const;

  const std::string& base_url() const { return m_base_url; }

 private:
  Result<RegisterResponse> post(const char* call, const std::string& path, const nlohmann::json& body) const;

  std::string m_base_url;
  std::string m_token;
  std::chrono::milliseconds m_timeout;
};

}  // namespace swarm::drone
