#pragma once
// DroneControl: signed control calls from the gateway to a drone's control endpoint
// (http://<address>:<control_port>/api/v1/<action>), to its reported address first, then to the
// configured override. Each attempt carries a fresh control ticket (its own nonce).

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/http_types.hpp"
#include "gateway/metrics.hpp"
#include "gateway/registry.hpp"
#include "gateway/ticket_issuer.hpp"

namespace swarm::gateway {

inline constexpr int64_t kDefaultControlPort = 8070;

class DroneControl {
 public:
  /// `issuer` and `metrics` must outlive this object.
  DroneControl(TicketIssuer& issuer, GatewayMetrics& metrics, std::map<std::string, std::string> overrides,
               std::chrono::milliseconds timeout);

  /// Sends `action` (status, logs, restart, drain) to the drone and returns its answer as is; 502/504
  /// when no address answered. `query` (e.g. "lines=50") is appended for GET actions.
  HttpResponse call(const DroneRecord& drone, const std::string& action, const std::string& query = "");
  /// Where calls for `drone` go, in order: the reported address (else the source address), then the override.
  std::vector<std::string> addresses(const DroneRecord& drone) const;

 private:
  TicketIssuer& m_issuer;
  GatewayMetrics& m_metrics;
  std::map<std::string, std::string> m_overrides;
  std::chrono::milliseconds m_timeout;
};

}  // namespace swarm::gateway
