#pragma once
// Gateway: swarm-gateway as a library object. create() opens the data directory (key, database, admin
// token); start() listens and starts the orchestrator poller and the event relays; stop() ends both.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "gateway/gateway_options.hpp"

namespace swarm {
class HttpServer;
}

namespace swarm::gateway {

class Registry;
class OrchestratorPool;
class TicketIssuer;
class GatewayMetrics;
class EventHub;
class EventRelay;
class DroneService;
class DroneControl;
class OrchestratorProxy;
class Dashboard;
struct GatewayContext;

class Gateway {
 public:
  /// Checks `options`, creates the data directory, loads or creates gateway.key and the admin token,
  /// opens gateway.db and seeds the tokens file; an error says what is wrong.
  static Result<std::unique_ptr<Gateway>> create(GatewayOptions options, std::shared_ptr<Clock> clock = system_clock());
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /// Listens on options.listen and starts the background threads; returns the bound port.
  Result<uint16_t> start();
  /// Stops listening and joins every thread. Idempotent.
  void stop();
  uint16_t port() const;

  /// Polls every orchestrator's status now (the poller does so every poll interval).
  void poll_orchestrators_now();
  /// Runs the periodic chores now: offline drones, event-stream keep-alives, event pruning.
  void maintenance_now();

  std::string public_key_pem() const;
  const std::string& admin_token() const { return m_admin_token; }
  const GatewayOptions& options() const { return m_options; }

 private:
  Gateway(GatewayOptions options, std::shared_ptr<Clock> clock);
  void run_poller();

  GatewayOptions m_options;
  std::shared_ptr<Clock> m_clock;
  std::string m_admin_token;
  std::unique_ptr<Registry> m_registry;
  std::unique_ptr<TicketIssuer> m_issuer;
  std::unique_ptr<GatewayMetrics> m_metrics;
  std::unique_ptr<EventHub> m_hub;
  std::unique_ptr<OrchestratorPool> m_pool;
  std::unique_ptr<DroneService> m_drones;
  std::unique_ptr<DroneControl> m_control;
  std::unique_ptr<OrchestratorProxy> m_proxy;
  std::unique_ptr<Dashboard> m_dashboard;
  std::unique_ptr<GatewayContext> m_context;
  std::unique_ptr<EventRelay> m_relay;
  std::unique_ptr<HttpServer> m_server;

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::atomic<bool> m_stop{false};
  bool m_started = false;
  std::thread m_poller;
};

}  // namespace swarm::gateway
