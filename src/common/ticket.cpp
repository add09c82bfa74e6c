#include "common/ticket.hpp"

#include <limits>
#include <stdexcept>

namespace swarm {

namespace {

constexpr std::string_view kVersionPrefix = "v1.";
constexpr std::size_t kMaxNonceSize = 256;

Error unauthorized(const std::string& why) { return make_error(ErrorKind::unauthorized, "ticket " + why); }

// Reads a JSON integer that fits int64_t; anything else (float, string, huge unsigned) fails.
bool get_int64(const nlohmann::json& obj, const char* key, int64_t& out) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return false;
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return false;
  out = it->get<int64_t>();
  return true;
}

bool get_string(const nlohmann::json& obj, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

}  // namespace

std::string sign_ticket(const Ed25519Key& key, const TicketClaims& claims) {
  if (!claims.extra.is_object()) throw std::logic_error("TicketClaims::extra must be a JSON object");
  nlohmann::json body = {{"sub", claims.subject},
                         {"aud", claims.audience},
                         {"exp", claims.expires_unix},
                         {"iat", claims.issued_unix},
                         {"ext", claims.extra}};
  std::string signed_part = std::string(kVersionPrefix) + base64url_encode(body.dump());
  return signed_part + "." + base64url_encode(key.sign(signed_part));
}

Result<TicketClaims> verify_ticket(const Ed25519Key& public_key, std::string_view ticket,
                                   std::string_view expected_audience, const Clock& clock) {
  if (ticket.empty()) return unauthorized("is empty");
  if (ticket.size() > kMaxTicketSize) return unauthorized("is too long");
  if (ticket.substr(0, kVersionPrefix.size()) != kVersionPrefix) return unauthorized("has an unknown version");
  std::size_t dot = ticket.rfind('.');
  if (dot < kVersionPrefix.size()) return unauthorized("is malformed (expected v1.<payload>.<signature>)");
  std::string_view signed_part = ticket.substr(0, dot);
  std::string_view payload_text = signed_part.substr(kVersionPrefix.size());
  if (payload_text.empty() || payload_text.find('.') != std::string_view::npos)
    return unauthorized("is malformed (expected v1.<payload>.<signature>)");

  auto signature = base64url_decode(ticket.substr(dot + 1));
  if (!signature) return unauthorized("signature is not base64url");
  // The signature is checked before the payload is parsed: unsigned bytes never reach the JSON parser.
  if (!public_key.verify(signed_part, *signature)) return unauthorized("signature is invalid");

  auto payload = base64url_decode(payload_text);
  if (!payload) return unauthorized("payload is not base64url");
  nlohmann::json body = nlohmann::json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return unauthorized("payload is not a JSON object");

  TicketClaims claims;
  if (!get_string(body, "sub", claims.subject) || !get_string(body, "aud", claims.audience) ||
      !get_int64(body, "exp", claims.expires_unix) || !get_int64(body, "iat", claims.issued_unix))
    return unauthorized("payload lacks sub, aud, exp or iat");
  if (auto ext = body.find("ext"); ext != body.end()) {
    if (!ext->is_object()) return unauthorized("payload ext is not an object");
    claims.extra = *ext;
  }

  int64_t now = clock.now_unix();
  if (now >= claims.expires_unix)
    return make_error(ErrorKind::timeout, "ticket expired " + std::to_string(now - claims.expires_unix) + " s ago");
  if (claims.audience != expected_audience)
    return make_error(ErrorKind::invalid, "ticket is for '" + claims.audience + "', not '" +
                                              std::string(expected_audience) + "'");
  return claims;
}

NonceCache::NonceCache(const Clock& clock, std::size_t max_entries) : m_clock(clock), m_max_entries(max_entries) {}

bool NonceCache::check_and_remember(std::string_view nonce, int64_t expires_unix) {
  if (nonce.empty() || nonce.size() > kMaxNonceSize) return false;
  int64_t now = m_clock.now_unix();
  std::lock_guard lock(m_mutex);
  purge_expired(now);
  // An expired call is refused anyway; refusing its nonce too means forgotten nonces cannot be replayed.
  if (expires_unix <= now) return false;
  std::string key(nonce);
  if (m_expiry_by_nonce.count(key) != 0) return false;
  if (m_expiry_by_nonce.size() >= m_max_entries) return false;
  m_expiry_by_nonce.emplace(key, expires_unix);
  m_nonces_by_expiry.emplace(expires_unix, std::move(key));
  return true;
}

std::size_t NonceCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_expiry_by_nonce.size();
}

void NonceCache::purge_expired(int64_t now) {
  auto it = m_nonces_by_expiry.begin();
  while (it != m_nonces_by_expiry.end() && it->first <= now) {
    m_expiry_by_nonce.erase(it->second);
    it = m_nonces_by_expiry.erase(it);
  }
}

}  // namespace swarm
