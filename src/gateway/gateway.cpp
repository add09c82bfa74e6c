#include "gateway/gateway.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/health.hpp"
#include "common/http_server.hpp"
#include "common/logging.hpp"
#include "gateway/admin_auth.hpp"
#include "gateway/dashboard.hpp"
#include "gateway/drone_control.hpp"
#include "gateway/drone_service.hpp"
#include "gateway/event_hub.hpp"
#include "gateway/event_relay.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/metrics.hpp"
#include "gateway/orchestrator_pool.hpp"
#include "gateway/orchestrator_proxy.hpp"
#include "gateway/registry.hpp"
#include "gateway/ticket_issuer.hpp"

namespace swarm::gateway {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::chrono::milliseconds seconds_ms(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0)); }

json envelope(const GatewayEvent& e) {
  return {{"source", "gateway"}, {"id", e.id}, {"kind", e.kind}, {"ts_ms", e.ts_ms}, {"drone", e.drone}, {"data", e.data}};
}

constexpr auto kKeepaliveEvery = std::chrono::seconds(15);
constexpr int64_t kEventsKept = 10'000;

}  // namespace

Gateway::Gateway(GatewayOptions options, std::shared_ptr<Clock> clock) : m_options(std::move(options)), m_clock(std::move(clock)) {}

Gateway::~Gateway() { stop(); }

Result<std::unique_ptr<Gateway>> Gateway::create(GatewayOptions options, std::shared_ptr<Clock> clock) {
  if (auto st = check_gateway_options(options); !st) return st.error();
  auto log = component_logger("gateway");
  fs::path dir = options.data_dir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return make_error(ErrorKind::io, "cannot create data directory " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);  // holds the signing key and the admin token
  }
  std::unique_ptr<Gateway> g(new Gateway(std::move(options), std::move(clock)));
  const GatewayOptions& o = g->m_options;

  auto key = TicketIssuer::load_or_create_key(dir / "gateway.key");
  if (!key) return make_error(key.error().kind, "gateway key " + (dir / "gateway.key").string() + ": " + key.error().message);

  g->m_admin_token = o.admin_token;
  if (g->m_admin_token.empty()) {
    if (const char* env = std::getenv("BUILD_SWARM_ADMIN_TOKEN"); env && *env) g->m_admin_token = env;
  }
  if (g->m_admin_token.empty()) {
    fs::path file = o.admin_token_file.empty() ? dir / "admin.token" : fs::path(o.admin_token_file);
    auto token = load_or_create_admin_token(file);
    if (!token) return token.error();
    g->m_admin_token = *token;
  }

  auto registry = Registry::open((dir / "gateway.db").string());
  if (!registry) return make_error(registry.error().kind, "gateway.db: " + registry.error().message);
  g->m_registry = std::move(*registry);
  g->m_issuer = std::make_unique<TicketIssuer>(*key, g->m_clock, o.ticket_ttl_s);
  g->m_metrics = std::make_unique<GatewayMetrics>();
  g->m_hub = std::make_unique<EventHub>();
  g->m_pool = std::make_unique<OrchestratorPool>(o.orchestrators, g->m_clock, seconds_ms(o.poll_timeout_s));

  Gateway* self = g.get();
  EventSink sink = [self](const std::string& kind, const std::string& drone, const json& data) {
    self->m_hub->publish(envelope(self->m_registry->add_event(self->m_clock->now_unix_ms(), kind, drone, data)));
  };
  DroneServiceOptions dso;
  dso.auto_approve = o.auto_approve;
  dso.heartbeat_interval_s = o.heartbeat_interval_s;
  dso.offline_after_ms = o.offline_after_s * 1000;
  g->m_drones = std::make_unique<DroneService>(*g->m_registry, *g->m_pool, *g->m_issuer, *g->m_metrics, g->m_clock, dso, sink);
  g->m_control = std::make_unique<DroneControl>(*g->m_issuer, *g->m_metrics, *parse_address_overrides(o.drone_address_overrides),
                                                seconds_ms(o.call_timeout_s));
  g->m_proxy = std::make_unique<OrchestratorProxy>(*g->m_pool, *g->m_issuer, *g->m_metrics, seconds_ms(o.call_timeout_s));
  g->m_dashboard = std::make_unique<Dashboard>(o.dashboard_dir);
  g->m_relay = std::make_unique<EventRelay>(*g->m_pool, *g->m_hub, g->m_clock, seconds_ms(o.poll_interval_s),
                                            std::chrono::minutes(5));
  g->m_pool->set_change_listener([self, sink](const OrchestratorState& s) {
    sink(s.up ? "orchestrator_up" : "orchestrator_down", "", {{"name", s.name}, {"url", s.url}, {"error", s.error}});
    if (s.up) self->m_relay->wake();
  });
  g->m_context.reset(new GatewayContext{o, g->m_clock, *g->m_registry, *g->m_pool, *g->m_issuer, *g->m_metrics, *g->m_hub,
                                        *g->m_drones, *g->m_control, *g->m_proxy, *g->m_dashboard, g->m_admin_token, sink});

  if (!o.tokens_file.empty()) {
    std::ifstream in(o.tokens_file);
    std::stringstream ss;
    ss << in.rdbuf();
    auto seeded = g->m_drones->seed_tokens(ss.str());
    if (!seeded) return make_error(ErrorKind::invalid, o.tokens_file + ": " + seeded.error().message);
    log->info("tokens file {}: {} token(s) added or changed", o.tokens_file, *seeded);
  }
  for (const auto& e : g->m_registry->events(100)) g->m_hub->publish(envelope(e));
  if (o.auto_approve)
    log->warn("--auto-approve is on: any host that can reach the gateway can publish binaries that your machines install");
  return g;
}

Result<uint16_t> Gateway::start() {
  if (m_started) return make_error(ErrorKind::invalid, "gateway already started");
  HttpServerOptions so;
  so.listen = m_options.listen;
  so.threads = m_options.http_threads;
  so.server_name = "swarm-gateway";
  m_server = std::make_unique<HttpServer>(so);
  add_health_route(*m_server, "gateway");
  add_drone_routes(*m_server, *m_context);
  add_admin_routes(*m_server, *m_context);
  add_proxy_routes(*m_server, *m_context);
  add_view_routes(*m_server, *m_context);
  auto port = m_server->start();
  if (!port) return port.error();
  m_started = true;
  m_stop = false;
  m_relay->start();
  m_poller = std::thread([this] { run_poller(); });
  component_logger("gateway")->info("swarm-gateway {} listening on port {} ({} orchestrator(s))", swarm_version(), *port,
                                    m_options.orchestrators.size());
  return port;
}

void Gateway::stop() {
  if (!m_started) return;
  m_started = false;
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_hub->close_all();
  m_server->stop();
  m_relay->stop();
  if (m_poller.joinable()) m_poller.join();
}

uint16_t Gateway::port() const { return m_server ? m_server->port() : 0; }

void Gateway::poll_orchestrators_now() { m_pool->poll_all(); }

void Gateway::maintenance_now() {
  m_drones->sweep_offline();
  m_hub->keepalive();
  m_registry->prune_events(kEventsKept);
}

std::string Gateway::public_key_pem() const { return m_issuer->public_pem(); }

void Gateway::run_poller() {
  auto log = component_logger("gateway");
  auto last_keepalive = std::chrono::steady_clock::now();
  int rounds = 0;
  while (!m_stop) {
    try {
      m_pool->poll_all();
      m_drones->sweep_offline();
      if (std::chrono::steady_clock::now() - last_keepalive >= kKeepaliveEvery) {
        m_hub->keepalive();
        last_keepalive = std::chrono::steady_clock::now();
      }
      if (++rounds % 1000 == 0) m_registry->prune_events(kEventsKept);
    } catch (const std::exception& e) {
      log->error("poller: {}", e.what());
    }
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, seconds_ms(m_options.poll_interval_s), [this] { return m_stop.load(); });
  }
}

}  // namespace swarm::gateway
