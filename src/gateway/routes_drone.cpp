#include "common/json_fields.hpp"
#include "gateway/gateway_context.hpp"

namespace swarm::gateway {

namespace {

HttpResponse to_http(const DroneAnswer& a) {
  if (a.status != 200) return HttpResponse::error(a.status, a.error_code, a.message);
  return HttpResponse::json(a.response.to_json());
}

}  // namespace

void add_drone_routes(HttpServer& server, GatewayContext& ctx) {
  server.route("POST", "/api/v1/register", [&ctx](const HttpRequest& req) {
    auto body = req.json();
    if (!body) return HttpResponse::from_error(body.error());
    auto msg = RegisterRequest::from_json(*body);
    if (!msg) {
      ctx.metrics.count_registration("invalid");
      return HttpResponse::from_error(msg.error());
    }
    return to_http(ctx.drones.register_drone(*msg, req.bearer_token(), req.remote_ip));
  });
  server.route("POST", "/api/v1/heartbeat", [&ctx](const HttpRequest& req) {
    auto body = req.json();
    if (!body) return HttpResponse::from_error(body.error());
    auto msg = HeartbeatRequest::from_json(*body);
    if (!msg) {
      ctx.metrics.count_heartbeat("invalid");
      return HttpResponse::from_error(msg.error());
    }
    return to_http(ctx.drones.heartbeat(*msg, req.bearer_token(), req.remote_ip));
  });
}

}  // namespace swarm::gateway
