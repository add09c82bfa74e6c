#pragma once
// GET /api/v1/health: every daemon reports its version and the API versions it speaks.

#include <string>

namespace swarm {

class HttpServer;

/// Adds GET /api/v1/health answering {status:"ok", component, version, api:["v1"]}.
void add_health_route(HttpServer& server, const std::string& component);
/// This build's version string.
const char* swarm_version();

}  // namespace swarm
