#include "gateway/admission.hpp"

#include "common/crypto.hpp"

namespace swarm::gateway {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::approved:
      return "approved";
    case Verdict::pending:
      return "pending";
    case Verdict::revoked:
      return "revoked";
    case Verdict::hijack:
      return "hijack";
  }
  return "pending";
}

Admission decide_admission(const std::optional<DroneRecord>& drone, const std::optional<TokenRecord>& token,
                           const std::string& presented_hash, bool auto_approve) {
  if (drone && drone->approval == "revoked") return {Verdict::revoked, "drone '" + drone->name + "' is revoked"};
  if (drone && drone->approval == "approved") {
    if (!drone->token_hash.empty() && constant_time_equal(drone->token_hash, presented_hash))
      return {Verdict::approved, "pinned token"};
    return {Verdict::hijack, "name '" + drone->name + "' is approved for another token"};
  }
  bool token_matches = token && constant_time_equal(token->token_hash, presented_hash);
  if (token_matches && token->revoked) return {Verdict::revoked, "token of '" + token->name + "' is revoked"};
  if (token_matches) return {Verdict::approved, "known token"};
  if (token) return {Verdict::pending, "token does not match the one issued for this name"};
  // --auto-approve admits unknown names only: a name with an issued token still needs that token.
  if (auto_approve) return {Verdict::approved, "--auto-approve"};
  return {Verdict::pending, "unknown name"};
}

}  // namespace swarm::gateway
