// swarm-gateway: node registry, ticket signer, the API and the dashboard (see docs/GATEWAY.md).
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>

#include "common/config.hpp"
#include "common/logging.hpp"
#include "common/port_file.hpp"
#include "common/signals.hpp"
#include "gateway/gateway.hpp"

int main(int argc, char** argv) {
  using namespace swarm;
  CLI::App app("swarm-gateway: drone registry, tickets, the build-swarm API and dashboard");
  gateway::GatewayOptions options;
  gateway::add_gateway_options(app, options);
  Config config(app, "gateway");
  if (auto rc = config.parse(argc, argv)) return *rc;
  if (auto st = gateway::check_gateway_options(options); !st) {
    std::cerr << "swarm-gateway: " << st.error().message << "\n";
    return 2;
  }
  if (options.check_config) {
    std::cout << "configuration ok" << (config.config_file().empty() ? "" : " (" + config.config_file() + ")") << "\n"
              << app.config_to_str(true, false);
    return 0;
  }
  setup_logging(LogOptions{options.log_level, options.log_file});

  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;
  SignalWatcher signals([&](int sig) {
    if (sig == SIGHUP) return;
    std::lock_guard lock(mutex);
    stop = true;
    cv.notify_all();
  });
  auto gw = gateway::Gateway::create(options);
  if (!gw) {
    component_logger("gateway")->error("{}", gw.error().message);
    return 1;
  }
  auto port = (*gw)->start();
  if (!port) {
    component_logger("gateway")->error("{}", port.error().message);
    return 1;
  }
  if (!options.port_file.empty() && !write_port_file(options.port_file, *port)) {
    component_logger("gateway")->error("cannot write port file {}", options.port_file);
    return 1;
  }
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return stop; });
  component_logger("gateway")->info("stopping");
  (*gw)->stop();
  return 0;
}
