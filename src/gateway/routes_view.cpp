#include "gateway/gateway_context.hpp"

namespace swarm::gateway {

using nlohmann::json;

namespace {

// GET /api/v1/events/recent?limit=N: more than this is a mistake, not a request (the hub keeps fewer).
constexpr unsigned long kMaxRecentEvents = 10000;

MetricsSnapshot metrics_snapshot(GatewayContext& ctx) {
  MetricsSnapshot s;
  for (const auto& d : ctx.registry.drones()) {
    ++s.drones_by_approval[d.approval];
    if (d.approval == "approved") ++s.drones_by_activity[ctx.drones.effective_activity(d)];
  }
  s.orchestrators = ctx.pool.snapshot();
  s.tickets_drone = ctx.issuer.issued("drone");
  s.tickets_admin = ctx.issuer.issued("admin");
  s.tickets_control = ctx.issuer.issued("control");
  s.event_subscribers = static_cast<int64_t>(ctx.hub.subscribers());
  return s;
}

HttpResponse static_file(const GatewayContext& ctx, const std::string& name) {
  auto f = ctx.dashboard.file(name);
  if (!f) return HttpResponse::error(404, "not_found", "no such file: /" + name);
  auto r = HttpResponse::text(std::move(f->body), 200, f->content_type);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace

void add_view_routes(HttpServer& server, GatewayContext& ctx) {
  server.route("GET", "/api/v1/pubkey", [&ctx](const HttpRequest&) {
    return HttpResponse::text(ctx.issuer.public_pem(), 200, "text/plain; charset=utf-8");
  });
  server.route("GET", "/api/v1/nodes", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_reader(req)) return *denied;
    json out = json::array();
    for (const auto& d : ctx.registry.drones()) out.push_back(drone_view(ctx, d));
    return HttpResponse::json(out);
  });
  server.route("GET", "/api/v1/drones/{name}", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_reader(req)) return *denied;
    const std::string& name = req.params.at("name");
    auto d = ctx.registry.drone(name);
    if (!d) return HttpResponse::error(404, "not_found", "no drone named '" + name + "'");
    json v = drone_view(ctx, *d);
    v["fingerprint"] = d->fingerprint;
    v["ssh_host_key"] = d->ssh_host_key;
    v["lease"] = d->lease_id ? json{{"lease_id", *d->lease_id}, {"atom", d->atom ? json(*d->atom) : json()},
                                    {"orchestrator", d->orchestrator}}
                             : json();
    json events = json::array();
    for (const auto& e : ctx.registry.events(50, name)) events.push_back(e.to_json());
    v["events"] = events;
    // Builds are the orchestrators' records: the ones relayed recently that name this drone.
    json builds = json::array();
    for (const auto& e : ctx.hub.recent(1000)) {
      if (e.value("source", "") != "orchestrator") continue;
      const json& data = e["data"];
      if (data.is_object() && data.value("drone", "") == name) builds.push_back(e);
    }
    v["recent_builds"] = builds;
    return HttpResponse::json(v);
  });
  server.route("GET", "/api/v1/status", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_reader(req)) return *denied;
    return HttpResponse::json(status_view(ctx));
  });
  server.route("GET", "/api/v1/events/recent", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_reader(req)) return *denied;
    std::string limit = req.query_or("limit", "100");
    if (limit.empty() || limit.size() > 5 || limit.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(limit) > kMaxRecentEvents)
      return HttpResponse::error(400, "invalid",
                                 "limit must be a whole number from 0 to " + std::to_string(kMaxRecentEvents) + ", not '" +
                                     limit + "'");
    return HttpResponse::json({{"events", ctx.hub.recent(std::stoul(limit))}});
  });
  server.route_stream("/api/v1/events", [&ctx](const HttpRequest& req, std::shared_ptr<EventStream> stream) {
    if (ctx.require_reader(req)) {
      stream->send_event("error", R"({"error":"unauthorized","message":"this call needs the admin token"})");
      stream->close();
      return;
    }
    ctx.hub.subscribe(std::move(stream));
  });
  server.route("GET", "/metrics", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_reader(req)) return *denied;
    return HttpResponse::text(ctx.metrics.render(metrics_snapshot(ctx)), 200, "text/plain; version=0.0.4; charset=utf-8");
  });
  server.route("GET", "/", [&ctx](const HttpRequest&) { return static_file(ctx, ""); });
  server.route("GET", "/{file}", [&ctx](const HttpRequest& req) { return static_file(ctx, req.params.at("file")); });
}

}  // namespace swarm::gateway
