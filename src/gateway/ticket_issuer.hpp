#pragma once
// TicketIssuer: the gateway's Ed25519 key and the three kinds of tickets it signs.
//   drone:   sub = drone name, aud = orchestrator name, exp = now + ticket_ttl,
//            ext = {role: "drone", fp: <fingerprint hash>, orchestrator: <orchestrator URL>}
//   admin:   sub = "gateway", aud = orchestrator name, exp = now + 60 s, ext = {role: "admin"}
//   control: sub = target drone name, aud = "drone-control", exp = now + 60 s,
//            ext = {action, nonce: random_token(16)}

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/result.hpp"

namespace swarm::gateway {

inline constexpr const char* kControlAudience = "drone-control";
inline constexpr int64_t kCallTicketTtlS = 60;

class TicketIssuer {
 public:
  TicketIssuer(Ed25519Key key, std::shared_ptr<Clock> clock, int64_t drone_ticket_ttl_s);

  /// Loads the key at `path`, or creates one there (PEM, mode 0600) when the file does not exist.
  static Result<Ed25519Key> load_or_create_key(const std::filesystem::path& path);

  /// A ticket letting drone `name` talk to the orchestrator `orchestrator_name` at `orchestrator_url`.
  std::string drone_ticket(const std::string& name, const std::string& orchestrator_name,
                           const std::string& orchestrator_url, const std::string& fingerprint_hash);
  /// The gateway's credential for one admin call to orchestrator `orchestrator_name`.
  std::string admin_ticket(const std::string& orchestrator_name);
  /// A signed, single-use control call for drone `drone_name`.
  std::string control_ticket(const std::string& drone_name, const std::string& action);

  const Ed25519Key& key() const { return m_key; }
  std::string public_pem() const { return m_key.public_pem(); }
  int64_t issued(const std::string& kind) const;

 private:
  Ed25519Key m_key;
  std::shared_ptr<Clock> m_clock;
  int64_t m_ttl_s;
  std::atomic<int64_t> m_drone_issued{0};
  std::atomic<int64_t> m_admin_issued{0};
  std::atomic<int64_t> m_control_issued{0};
};

}  // namespace swarm::gateway
