#pragma once
// Signed tickets: the gateway signs, others verify with its public key. Used for drone tickets
// (gateway -> drone -> orchestrator), admin calls (gateway -> orchestrator) and control calls
// (gateway -> drone, with a nonce in `extra` checked against a NonceCache).
//
// Format: "v1.<base64url(claims JSON)>.<base64url(Ed25519 signature of "v1.<payload>")>".
//
// verify_ticket error kinds, so a server can pick the HTTP status:
//   ErrorKind::unauthorized  malformed, bad base64url/JSON, bad signature, wrong key, tampered -> 401
//   ErrorKind::timeout       valid signature but expired (now >= expires_unix)               -> 401 (get a new one)
//   ErrorKind::invalid       valid and current, but for another audience                      -> 403

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/result.hpp"

namespace swarm {

struct TicketClaims {
  std::string subject;   // who the bearer is: a drone name, or "gateway" for admin/control calls
  std::string audience;  // who may accept it: an orchestrator or drone name
  int64_t expires_unix = 0;
  int64_t issued_unix = 0;
  nlohmann::json extra = nlohmann::json::object();  // e.g. fingerprint hash, action, nonce
};

/// The longest ticket verify_ticket will look at; anything longer is refused unparsed.
inline constexpr std::size_t kMaxTicketSize = 16 * 1024;

/// Signs `claims` with `key`; throws (programming error) without a private key, on a non-object
/// `extra` or on strings that are not UTF-8.
std::string sign_ticket(const Ed25519Key& key, const TicketClaims& claims);

/// Checks signature, expiry and audience of `ticket`; see the error kinds above.
Result<TicketClaims> verify_ticket(const Ed25519Key& public_key, std::string_view ticket,
                                   std::string_view expected_audience, const Clock& clock);

/// Remembers nonces until they expire, to refuse replayed control calls. Thread-safe.
/// When full of unexpired nonces it refuses new ones (fails closed) rather than forget one.
class NonceCache {
 public:
  /// `clock` must outlive the cache.
  explicit NonceCache(const Clock& clock, std::size_t max_entries = 100'000);

  /// True the first time `nonce` is seen before `expires_unix`; false on replay, on an
  /// already-expired or empty (or over 256 bytes) nonce, or when the cache is full.
  bool check_and_remember(std::string_view nonce, int64_t expires_unix);
  /// Nonces currently remembered (expired ones may linger until the next check).
  std::size_t size() const;

 private:
  void purge_expired(int64_t now);

  const Clock& m_clock;
  std::size_t m_max_entries;
  mutable std::mutex m_mutex;
  std::unordered_map<std::string, int64_t> m_expiry_by_nonce;
  std::multimap<int64_t, std::string> m_nonces_by_expiry;
};

}  // namespace swarm
