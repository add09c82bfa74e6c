#pragma once
// OrchestratorProxy: admin calls forwarded to an orchestrator with the gateway's own credential (an
// admin ticket for that orchestrator); the caller's admin token is never sent on.

#include <chrono>
#include <string>

#include "common/http_client.hpp"
#include "common/http_types.hpp"
#include "gateway/metrics.hpp"
#include "gateway/orchestrator_pool.hpp"
#include "gateway/ticket_issuer.hpp"

namespace swarm::gateway {

class OrchestratorProxy {
 public:
  /// Every reference must outlive this object.
  OrchestratorProxy(OrchestratorPool& pool, TicketIssuer& issuer, GatewayMetrics& metrics, std::chrono::milliseconds timeout);

  /// The orchestrator named (or with the URL) `key`, else the first live one when `key` is empty;
  /// not_found for an unknown name, io when none is live.
  Result<OrchestratorState> pick(const std::string& key) const;
  /// Sends one call with an admin ticket; an error only when no answer came.
  Result<HttpClientResponse> call(const OrchestratorState& target, const std::string& method, const std::string& path,
                                  const std::string& body = "");
  /// call() turned into the answer for the gateway's caller: the orchestrator's status and body, or 502/504.
  HttpResponse forward(const OrchestratorState& target, const std::string& method, const std::string& path,
                       const std::string& body = "");

 private:
  OrchestratorPool& m_pool;
  TicketIssuer& m_issuer;
  GatewayMetrics& m_metrics;
  std::chrono::milliseconds m_timeout;
};

/// The HTTP answer for a pick() failure (404 unknown orchestrator, 503 none live).
HttpResponse pick_error(const Error& error);

}  // namespace swarm::gateway
