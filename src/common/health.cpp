#include "common/health.hpp"

#include "common/http_server.hpp"
#include "common/messages.hpp"

namespace swarm {

const char* swarm_version() { return BUILD_SWARM_VERSION; }

void add_health_route(HttpServer& server, const std::string& component) {
  server.route("GET", "/api/v1/health", [component](const HttpRequest&) {
    return HttpResponse::json(
        {{"status", "ok"}, {"component", component}, {"version", swarm_version()}, {"api", {kApiVersion}}});
  });
}

}  // namespace swarm
