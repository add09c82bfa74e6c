#pragma once
// GatewayContext: what the route handlers share (references owned by Gateway), and the route sets.

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/http_server.hpp"
#include "gateway/dashboard.hpp"
#include "gateway/drone_control.hpp"
#include "gateway/drone_service.hpp"
#include "gateway/event_hub.hpp"
#include "gateway/gateway_options.hpp"
#include "gateway/metrics.hpp"
#include "gateway/orchestrator_pool.hpp"
#include "gateway/orchestrator_proxy.hpp"
#include "gateway/registry.hpp"
#include "gateway/ticket_issuer.hpp"

namespace swarm::gateway {

struct GatewayContext {
  const GatewayOptions& options;
  std::shared_ptr<Clock> clock;
  Registry& registry;
  OrchestratorPool& pool;
  TicketIssuer& issuer;
  GatewayMetrics& metrics;
  EventHub& hub;
  DroneService& drones;
  DroneControl& control;
  OrchestratorProxy& proxy;
  const Dashboard& dashboard;
  std::string admin_token;
  EventSink events;

  /// The 401 answer when `request` lacks the admin token, else nothing.
  std::optional<HttpResponse> require_admin(const HttpRequest& request) const;
  /// Like require_admin, but only with --private-status (read-only calls).
  std::optional<HttpResponse> require_reader(const HttpRequest& request) const;
};

/// One drone as GET /api/v1/nodes lists it.
nlohmann::json drone_view(const GatewayContext& ctx, const DroneRecord& drone);
/// GET /api/v1/status: drones by activity, cores, queue totals, orchestrators, runs.
nlohmann::json status_view(GatewayContext& ctx);
/// GET /api/v1/known_hosts: the pinned host keys of approved drones in known_hosts format.
std::string known_hosts_text(const GatewayContext& ctx);

/// POST register and heartbeat.
void add_drone_routes(HttpServer& server, GatewayContext& ctx);
/// Tokens, approve, revoke, drain, restart, logs, known_hosts.
void add_admin_routes(HttpServer& server, GatewayContext& ctx);
/// Queue submit/list/actions, build logs, binhost: forwarded to orchestrators.
void add_proxy_routes(HttpServer& server, GatewayContext& ctx);
/// pubkey, nodes, drones/{name}, status, events, metrics; the dashboard last (it matches /{file}).
void add_view_routes(HttpServer& server, GatewayContext& ctx);

}  // namespace swarm::gateway
