#include "gateway/ticket_issuer.hpp"

#include <system_error>

#include "common/ticket.hpp"

namespace swarm::gateway {

TicketIssuer::TicketIssuer(Ed25519Key key, std::shared_ptr<Clock> clock, int64_t drone_ticket_ttl_s)
    : m_key(std::move(key)), m_clock(std::move(clock)), m_ttl_s(drone_ticket_ttl_s) {}

Result<Ed25519Key> TicketIssuer::load_or_create_key(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return Ed25519Key::load_private_pem(path);
  auto key = Ed25519Key::generate();
  if (!key) return key.error();
  if (auto st = key->save_private_pem(path); !st) return st.error();
  return key;
}

std::string TicketIssuer::drone_ticket(const std::string& name, const std::string& orchestrator_name,
                                       const std::string& orchestrator_url, const std::string& fingerprint_hash) {
  TicketClaims c;
  c.subject = name;
  c.audience = orchestrator_name;
  c.issued_unix = m_clock->now_unix();
  c.expires_unix = c.issued_unix + m_ttl_s;
  c.extra = {{"role", "drone"}, {"fp", fingerprint_hash}, {"orchestrator", orchestrator_url}};
  ++m_drone_issued;
  return sign_ticket(m_key, c);
}

std::string TicketIssuer::admin_ticket(const std::string& orchestrator_name) {
  TicketClaims c;
  c.subject = "gateway";
  c.audience = orchestrator_name;
  c.issued_unix = m_clock->now_unix();
  c.expires_unix = c.issued_unix + kCallTicketTtlS;
  c.extra = {{"role", "admin"}};
  ++m_admin_issued;
  return sign_ticket(m_key, c);
}

std::string TicketIssuer::control_ticket(const std::string& drone_name, const std::string& action) {
  TicketClaims c;
  c.subject = drone_name;
  c.audience = kControlAudience;
  c.issued_unix = m_clock->now_unix();
  c.expires_unix = c.issued_unix + kCallTicketTtlS;
  c.extra = {{"action", action}, {"nonce", random_token(16)}};
  ++m_control_issued;
  return sign_ticket(m_key, c);
}

int64_t TicketIssuer::issued(const std::string& kind) const {
  if (kind == "drone") return m_drone_issued.load();
  if (kind == "admin") return m_admin_issued.load();
  if (kind == "control") return m_control_issued.load();
  return 0;
}

}  // namespace swarm::gateway
