#pragma once
// The drone's control endpoint (design.md "Identity and trust"): status, logs, restart and drain, each
// call carrying a ticket the gateway signed for this drone, this action and a fresh nonce.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/http_types.hpp"
#include "common/result.hpp"
#include "common/ticket.hpp"

namespace swarm {
class HttpServer;
}

namespace swarm::drone {

inline constexpr const char* kControlAudience = "drone-control";

/// Checks control calls: signature and expiry (401), audience (403), subject = this drone (409 "wrong
/// target"), extra.action = the endpoint's action (403), extra.nonce never seen (409). Thread-safe.
class ControlAuth {
 public:
  /// `clock` must outlive the object.
  ControlAuth(std::string drone_name, const Clock& clock);

  /// Installs the gateway's public key; calls are refused (503) until then.
  void set_public_key(Ed25519Key key);
  /// Whether a key is installed.
  bool has_public_key() const;
  /// nullopt when the call may go ahead, else the refusal to answer (already logged).
  std::optional<HttpResponse> check(const HttpRequest& request, const std::string& action);

 private:
  std::string m_name;
  const Clock& m_clock;
  mutable std::mutex m_mutex;
  Ed25519Key m_key;
  NonceCache m_nonces;
};

/// What the endpoints do once a call is allowed.
struct ControlHandlers {
  std::function<nlohmann::json()> status;
  std::function<std::vector<std::string>(size_t)> logs;
  std::function<void()> drain;
  std::function<void()> restart;
};

class ControlServer {
 public:
  ControlServer(std::string listen, ControlAuth& auth, ControlHandlers handlers);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// Binds and serves; returns the port.
  Result<uint16_t> start();
  /// Stops serving. Idempotent.
  void stop();
  uint16_t port() const;

 private:
  ControlAuth& m_auth;
  ControlHandlers m_handlers;
  std::unique_ptr<HttpServer> m_server;
};

}  // namespace swarm::drone
