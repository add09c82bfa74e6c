#pragma once
// DroneService: registration, heartbeats, approval, revocation and tokens of drones. One mutex around
// each read-decide-write, so an approval never races a registration of the same name.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/messages.hpp"
#include "gateway/admission.hpp"
#include "gateway/metrics.hpp"
#include "gateway/orchestrator_pool.hpp"
#include "gateway/registry.hpp"
#include "gateway/ticket_issuer.hpp"

namespace swarm::gateway {

/// Records and publishes one gateway event (kind, drone, data).
using EventSink = std::function<void(const std::string& kind, const std::string& drone, const nlohmann::json& data)>;

/// The answer to a register or heartbeat: 200 with `response`, or an error status with code and message.
struct DroneAnswer {
  int status = 200;
  std::string error_code;
  std::string message;
  RegisterResponse response;
};

struct DroneServiceOptions {
  bool auto_approve = false;
  int64_t heartbeat_interval_s = 10;
  int64_t offline_after_ms = 60'000;
};

class DroneService {
 public:
  /// Every reference must outlive the service.
  DroneService(Registry& registry, OrchestratorPool& pool, TicketIssuer& issuer, GatewayMetrics& metrics,
               std::shared_ptr<Clock> clock, DroneServiceOptions options, EventSink events);

  /// POST /api/v1/register: `token` from the Authorization header, `source_ip` from the socket.
  DroneAnswer register_drone(const RegisterRequest& request, const std::string& token, const std::string& source_ip);
  /// POST /api/v1/heartbeat.
  DroneAnswer heartbeat(const HeartbeatRequest& request, const std::string& token, const std::string& source_ip);

  /// Approves a registered drone, pinning the token it presented; not_found when it never registered.
  Status approve(const std::string& name);
  /// Revokes a drone and its token; not_found when neither exists.
  Status revoke(const std::string& name);
  /// Creates (or replaces) the token of `name`; returns the token, which is stored only as a hash.
  Result<std::string> create_token(const std::string& name);
  /// Seeds tokens from "name token" lines; returns how many changed.
  Result<int> seed_tokens(const std::string& text);

  /// "offline" when the last heartbeat is older than offline_after, else the reported activity.
  std::string effective_activity(const DroneRecord& drone) const;
  /// Publishes drone_offline for drones that went silent since the last sweep.
  void sweep_offline();
  /// Approved, online drones per orchestrator URL.
  std::map<std::string, int64_t> assigned_counts();

  int64_t offline_after_ms() const { return m_options.offline_after_ms; }

 private:
  DroneAnswer refuse(const std::string& what, const std::string& name, const std::string& source_ip, Verdict verdict,
                     const std::string& reason);
  DroneAnswer approved_answer(const DroneRecord& drone, const RouteDecision& route);
  DroneAnswer pending_answer(const std::string& name) const;
  RouteDecision route(const DroneRecord& drone, bool busy);
  void note_online(const std::string& name);

  Registry& m_registry;
  OrchestratorPool& m_pool;
  TicketIssuer& m_issuer;
  GatewayMetrics& m_metrics;
  std::shared_ptr<Clock> m_clock;
  DroneServiceOptions m_options;
  EventSink m_events;
  std::mutex m_mutex;
  std::set<std::string> m_offline;  // approved drones already announced offline
};

/// Checks the fields of a registration that end up in tickets, URLs and known_hosts; invalid says which.
Status validate_registration(const RegisterRequest& request);
/// The host key reduced to "TYPE BASE64" (comment dropped), or empty when it is not one.
std::string normalize_host_key(const std::string& key);

}  // namespace swarm::gateway
