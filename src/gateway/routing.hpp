#pragma once
// Routing: which orchestrator a drone is sent to, and how its fingerprint differs from the reference.
// Pure functions over a snapshot of the orchestrators, so they are tested without a network.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarm::gateway {

/// What the gateway last learnt about one orchestrator (from GET {url}/api/v1/status).
struct OrchestratorState {
  std::string url;
  std::string name;             // from the status answer; the URL until the first answer
  bool up = false;
  int64_t ready = 0;
  nlohmann::json queue = nlohmann::json::object();  // state -> count
  std::vector<std::string> fingerprints;            // reference hashes with waiting work; "" accepts any drone
  nlohmann::json reference_fingerprint;             // KEY -> value, or null
  nlohmann::json runs = nlohmann::json::array();
  int64_t last_poll_ms = 0;
  int64_t last_ok_ms = 0;
  std::string error;            // why the last poll failed
};

struct RouteDecision {
  std::string url;      // empty: no orchestrator for this drone now
  std::string name;
  bool fingerprint_match = true;
  std::string message;  // why url is empty, or a note
  nlohmann::json fingerprint_diff = nlohmann::json::object();
};

/// Picks a live orchestrator for a drone: one whose `fingerprints` hold its hash or "" with the most
/// ready work (ties: fewest drones assigned, then its current one, then configuration order). A busy
/// drone keeps a live current orchestrator. When no orchestrator has waiting work, a live one is still
/// chosen (current, else fewest drones) so the drone can wait there; when some have waiting work but
/// none accepts the fingerprint, none is chosen and the message says so.
RouteDecision choose_orchestrator(const std::vector<OrchestratorState>& orchestrators, const std::string& fingerprint_hash,
                                  const nlohmann::json& fingerprint, const std::string& current_url, bool busy,
                                  const std::map<std::string, int64_t>& assigned_counts);

/// The keys (other than "hash") whose values differ between `drone` and `reference`, or that only one
/// has: {KEY: {"drone": value|null, "reference": value|null}}. Empty when `reference` is not a non-empty object.
nlohmann::json fingerprint_difference(const nlohmann::json& drone, const nlohmann::json& reference);

}  // namespace swarm::gateway
