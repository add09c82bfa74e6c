// swarm-drone: builds Gentoo binary packages for the swarm. All the work is in drone_lib.

#include <unistd.h>

#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/config.hpp"
#include "common/logging.hpp"
#include "common/process_runner.hpp"
#include "common/signals.hpp"
#include "drone/drone.hpp"

int main(int argc, char** argv) {
  swarm::drone::Drone* running = nullptr;
  std::mutex running_mutex;
  // Before any thread starts, so that every thread inherits the blocked signal mask.
  swarm::SignalWatcher signals([&](int sig) {
    std::lock_guard lock(running_mutex);
    if (running) running->handle_signal(sig);
  });

  CLI::App app{"swarm-drone: builds Gentoo binary packages for the build swarm", "swarm-drone"};
  swarm::drone::DroneConfig config;
  swarm::drone::add_drone_options(app, config);
  swarm::Config loader(app, "drone");
  if (auto code = loader.parse(argc, argv)) return *code;
  swarm::drone::apply_machine_defaults(config);

  auto problems = swarm::drone::check_drone_config(config);
  for (const auto& p : problems) std::cerr << "swarm-drone: " << p << "\n";
  if (config.check_config) {
    if (problems.empty()) std::cout << "configuration ok" << (loader.config_file().empty() ? "" : " (" + loader.config_file() + ")") << "\n";
    return problems.empty() ? 0 : 2;
  }
  if (!problems.empty()) return 2;

  swarm::setup_logging(swarm::LogOptions{config.log_level, config.log_file});
  auto clock = swarm::system_clock();
  swarm::PosixProcessRunner runner(clock);
  int code = 0;
  bool restart = false;
  {
    swarm::drone::Drone drone(config, clock, runner);
    {
      std::lock_guard lock(running_mutex);
      running = &drone;
    }
    code = drone.run();
    restart = drone.restart_requested();
    std::lock_guard lock(running_mutex);
    running = nullptr;
  }
  if (code == 0 && restart) {
    // A restart asked over the control endpoint: the same command line, possibly a new executable.
    ::execv("/proc/self/exe", argv);
    std::cerr << "swarm-drone: cannot re-execute itself\n";
    return 1;
  }
  return code;
}
