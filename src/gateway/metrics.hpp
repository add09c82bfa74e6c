#pragma once
// GatewayMetrics: the counters behind GET /metrics, rendered in the Prometheus text format (0.0.4).

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/routing.hpp"

namespace swarm::gateway {

/// Gauges computed at scrape time.
struct MetricsSnapshot {
  std::map<std::string, int64_t> drones_by_activity;  // approved drones only
  std::map<std::string, int64_t> drones_by_approval;
  std::vector<OrchestratorState> orchestrators;
  int64_t tickets_drone = 0;
  int64_t tickets_admin = 0;
  int64_t tickets_control = 0;
  int64_t event_subscribers = 0;
};

class GatewayMetrics {
 public:
  /// Counts one registration by its outcome (approved, pending, refused, invalid).
  void count_registration(const std::string& outcome);
  /// Counts one heartbeat by its outcome.
  void count_heartbeat(const std::string& outcome);
  /// Counts one call proxied to an orchestrator or sent to a drone by the HTTP status it got (0: none).
  void count_proxied(const std::string& target, int status);

  /// The whole exposition text.
  std::string render(const MetricsSnapshot& snapshot) const;

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, int64_t> m_registrations;
  std::map<std::string, int64_t> m_heartbeats;
  std::map<std::pair<std::string, int>, int64_t> m_proxied;
};

/// Escapes a Prometheus label value (backslash, double quote, newline).
std::string prometheus_label(const std::string& value);

}  // namespace swarm::gateway
