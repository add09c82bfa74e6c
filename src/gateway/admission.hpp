#pragma once
// Admission: whether a drone presenting a name and a token is let in (design.md "Identity and trust").
// A pure decision over the stored records, so every case is tested without a server.

#include <optional>
#include <string>

#include "gateway/registry.hpp"

namespace swarm::gateway {

enum class Verdict {
  approved,  // known token or pinned token matches (or --auto-approve)
  pending,   // unknown name or bad token: recorded, nothing handed out
  revoked,   // the drone or its token was revoked: 403
  hijack,    // an approved name presented with another token: 403, record unchanged
};

struct Admission {
  Verdict verdict = Verdict::pending;
  std::string reason;
};

/// Decides admission from the drone's row, its token row and the SHA-256 hex of the presented token.
/// Compares hashes in constant time.
Admission decide_admission(const std::optional<DroneRecord>& drone, const std::optional<TokenRecord>& token,
                           const std::string& presented_hash, bool auto_approve);

const char* to_string(Verdict verdict);

}  // namespace swarm::gateway
