#include "drone/control_server.hpp"

#include "common/health.hpp"
#include "common/http_server.hpp"
#include "drone/loggers.hpp"

namespace swarm::drone {

ControlAuth::ControlAuth(std::string drone_name, const Clock& clock)
    : m_name(std::move(drone_name)), m_clock(clock), m_nonces(clock) {}

void ControlAuth::set_public_key(Ed25519Key key) {
  std::lock_guard lock(m_mutex);
  m_key = std::move(key);
}

bool ControlAuth::has_public_key() const {
  std::lock_guard lock(m_mutex);
  return !m_key.empty();
}

std::optional<HttpResponse> ControlAuth::check(const HttpRequest& request, const std::string& action) {
  auto refuse = [&](int status, const std::string& code, const std::string& why) {
    control_log()->warn("refused control call {} {} from {}: {}", request.method, request.path, request.remote_ip, why);
    return HttpResponse::error(status, code, why);
  };
  Ed25519Key key;
  {
    std::lock_guard lock(m_mutex);
    key = m_key;
  }
  if (key.empty()) return refuse(503, "unavailable", "the gateway's public key is not known yet");
  const std::string ticket = request.bearer_token();
  if (ticket.empty()) return refuse(401, "unauthorized", "no ticket");
  auto claims = verify_ticket(key, ticket, kControlAudience, m_clock);
  if (!claims) {
    const Error& e = claims.error();
    if (e.kind == ErrorKind::invalid) return refuse(403, "forbidden", e.message);
    return refuse(401, "unauthorized", e.kind == ErrorKind::timeout ? "ticket expired: " + e.message : e.message);
  }
  if (claims->subject != m_name)
    return refuse(409, "wrong target", "this is drone '" + m_name + "', the call is for '" + claims->subject + "'");
  const nlohmann::json& extra = claims->extra;
  if (!extra.contains("action") || !extra["action"].is_string() || extra["action"].get<std::string>() != action)
    return refuse(403, "forbidden", "the ticket is not for action '" + action + "'");
  if (!extra.contains("nonce") || !extra["nonce"].is_string())
    return refuse(401, "unauthorized", "the ticket carries no nonce");
  if (!m_nonces.check_and_remember(extra["nonce"].get<std::string>(), claims->expires_unix))
    return refuse(409, "replay", "nonce already used");
  control_log()->info("control call {} {} from {} allowed", request.method, request.path, request.remote_ip);
  return std::nullopt;
}

ControlServer::ControlServer(std::string listen, ControlAuth& auth, ControlHandlers handlers)
    : m_auth(auth), m_handlers(std::move(handlers)) {
  HttpServerOptions options;
  options.listen = std::move(listen);
  options.threads = 2;
  options.body_limit = 64 * 1024;
  options.read_timeout = std::chrono::seconds(10);
  m_server = std::make_unique<HttpServer>(options);
  add_health_route(*m_server, "drone");
  m_server->route("GET", "/api/v1/status", [this](const HttpRequest& req) {
    if (auto refusal = m_auth.check(req, "status")) return *refusal;
    return HttpResponse::json(m_handlers.status());
  });
  m_server->route("GET", "/api/v1/logs", [this](const HttpRequest& req) {
    if (auto refusal = m_auth.check(req, "logs")) return *refusal;
    size_t lines = 100;
    try {
      lines = static_cast<size_t>(std::stoul(req.query_or("lines", "100")));
    } catch (const std::exception&) {
      return HttpResponse::error(400, "invalid", "lines must be a number");
    }
    return HttpResponse::json({{"lines", m_handlers.logs(std::min<size_t>(lines, 10'000))}});
  });
  m_server->route("POST", "/api/v1/drain", [this](const HttpRequest& req) {
    if (auto refusal = m_auth.check(req, "drain")) return *refusal;
    m_handlers.drain();
    return HttpResponse::json({{"status", "ok"}});
  });
  m_server->route("POST", "/api/v1/restart", [this](const HttpRequest& req) {
    if (auto refusal = m_auth.check(req, "restart")) return *refusal;
    m_handlers.restart();
    return HttpResponse::json({{"status", "ok"}});
  });
}

ControlServer::~ControlServer() { stop(); }

Result<uint16_t> ControlServer::start() { return m_server->start(); }

void ControlServer::stop() {
  if (m_server) m_server->stop();
}

uint16_t ControlServer::port() const { return m_server->port(); }

}  // namespace swarm::drone

