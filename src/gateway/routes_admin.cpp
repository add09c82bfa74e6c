#include "gateway/gateway_context.hpp"

namespace swarm::gateway {

using nlohmann::json;

namespace {

// Runs a control action on an approved drone and answers {status:"ok", answer} or the failure.
HttpResponse control_action(GatewayContext& ctx, const HttpRequest& req, const std::string& action) {
  if (auto denied = ctx.require_admin(req)) return *denied;
  const std::string& name = req.params.at("name");
  auto d = ctx.registry.drone(name);
  if (!d) return HttpResponse::error(404, "not_found", "no drone named '" + name + "'");
  if (d->approval != "approved") return HttpResponse::error(409, "not_approved", "drone '" + name + "' is " + d->approval);
  auto r = ctx.control.call(*d, action);
  ctx.events("drone_" + action + "_requested", name, {{"status", r.status}});
  if (r.status < 200 || r.status >= 300) return r;
  json answer = json::parse(r.body, nullptr, false);
  return HttpResponse::json({{"status", "ok"}, {"answer", answer.is_discarded() ? json(r.body) : answer}});
}

}  // namespace

void add_admin_routes(HttpServer& server, GatewayContext& ctx) {
  server.route("POST", "/api/v1/tokens", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_admin(req)) return *denied;
    auto body = req.json();
    if (!body) return HttpResponse::from_error(body.error());
    auto it = body->find("name");
    if (it == body->end() || !it->is_string() || body->size() != 1)
      return HttpResponse::error(400, "invalid", "expected {\"name\": \"<drone name>\"}");
    auto token = ctx.drones.create_token(it->get<std::string>());
    if (!token) return HttpResponse::from_error(token.error());
    return HttpResponse::json({{"name", it->get<std::string>()}, {"token", *token}});
  });
  server.route("POST", "/api/v1/drones/{name}/approve", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_admin(req)) return *denied;
    if (auto st = ctx.drones.approve(req.params.at("name")); !st) return HttpResponse::from_error(st.error());
    return HttpResponse::json({{"status", "ok"}});
  });
  server.route("POST", "/api/v1/drones/{name}/revoke", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_admin(req)) return *denied;
    if (auto st = ctx.drones.revoke(req.params.at("name")); !st) return HttpResponse::from_error(st.error());
    return HttpResponse::json({{"status", "ok"}});
  });
  server.route("POST", "/api/v1/drones/{name}/drain",
               [&ctx](const HttpRequest& req) { return control_action(ctx, req, "drain"); });
  server.route("POST", "/api/v1/drones/{name}/restart",
               [&ctx](const HttpRequest& req) { return control_action(ctx, req, "restart"); });
  server.route("GET", "/api/v1/drones/{name}/status", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_admin(req)) return *denied;
    auto d = ctx.registry.drone(req.params.at("name"));
    if (!d) return HttpResponse::error(404, "not_found", "no drone named '" + req.params.at("name") + "'");
    return ctx.control.call(*d, "status");
  });
  server.route("GET", "/api/v1/drones/{name}/logs", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_admin(req)) return *denied;
    std::string lines = req.query_or("lines", "100");
    if (lines.empty() || lines.size() > 6 || lines.find_first_not_of("0123456789") != std::string::npos || std::stoi(lines) < 1)
      return HttpResponse::error(400, "invalid", "lines must be a number from 1 to 999999");
    auto d = ctx.registry.drone(req.params.at("name"));
    if (!d) return HttpResponse::error(404, "not_found", "no drone named '" + req.params.at("name") + "'");
    return ctx.control.call(*d, "logs", "lines=" + lines);
  });
  server.route("GET", "/api/v1/known_hosts", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_admin(req)) return *denied;
    return HttpResponse::text(known_hosts_text(ctx));
  });
}

}  // namespace swarm::gateway
