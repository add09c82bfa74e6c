#pragma once
// Drone: swarm-drone as a library. register -> long-poll for work -> build -> upload -> complete ->
// clean up -> repeat, with the heartbeat thread and the control endpoint beside it.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/fingerprint.hpp"
#include "common/process_runner.hpp"
#include "drone/builder.hpp"
#include "drone/control_server.hpp"
#include "drone/delivery.hpp"
#include "drone/drone_config.hpp"
#include "drone/drone_state.hpp"
#include "drone/heartbeat_loop.hpp"
#include "drone/journal.hpp"
#include "drone/lease_runner.hpp"
#include "drone/log_ring.hpp"
#include "drone/uploader.hpp"

namespace swarm::drone {

class Drone {
 public:
  /// `clock` and `runner` must outlive the drone. The work dir is made absolute here.
  Drone(DroneConfig config, std::shared_ptr<Clock> clock, ProcessRunner& runner);
  ~Drone();
  Drone(const Drone&) = delete;
  Drone& operator=(const Drone&) = delete;

  /// Runs until drained or stopped: 0 on a clean end, 1 when it could not start.
  int run();
  /// SIGTERM/SIGINT: the first drains (no new work, finish the current one), the second stops hard.
  void handle_signal(int signal);
  /// What the control endpoint's drain and restart do (restart: drain, then main re-executes).
  void request_drain(bool restart = false);

  DroneState& state() { return m_state; }
  const DroneConfig& config() const { return m_config; }
  /// The control endpoint's port once run() has started it, 0 before.
  uint16_t control_port() const;
  /// Whether run() returned because a restart was asked for.
  bool restart_requested() const { return m_state.restart_requested(); }
  /// The body of GET /api/v1/status.
  nlohmann::json status_json() const;
  /// The fingerprint sent at registration (empty before run()).
  const Fingerprint& fingerprint() const { return m_fingerprint; }

 private:
  bool prepare();
  bool ensure_public_key();
  void work_loop();
  /// Long-polls for work; nullopt also when the drone began draining meanwhile (the poll is abandoned).
  std::optional<Result<std::optional<WorkLease>>> poll_for_work(const std::string& orchestrator);
  void release_unwanted(const WorkLease& lease, const std::string& orchestrator, const std::string& why);
  void resume_journal(bool only_due);
  bool enough_disk();
  void hygiene(bool force);
  RegisterRequest registration();
  HeartbeatRequest heartbeat() const;
  int64_t disk_free_mb() const;

  DroneConfig m_config;
  std::shared_ptr<Clock> m_clock;
  ProcessRunner& m_runner;
  DroneState m_state;
  Journal m_journal;
  Builder m_builder;
  Uploader m_uploader;
  Delivery m_delivery;
  LeaseRunner m_lease_runner;
  ControlAuth m_auth;
  LogRing m_log_ring;
  std::unique_ptr<ControlServer> m_control;
  std::unique_ptr<HeartbeatLoop> m_heartbeat;

  std::string m_token;
  std::string m_report_ip;
  std::string m_binary_sha256;
  Fingerprint m_fingerprint;
  std::atomic<uint16_t> m_control_port{0};
  std::optional<std::chrono::steady_clock::time_point> m_next_key_fetch;
  std::optional<std::chrono::steady_clock::time_point> m_next_hygiene;
  std::map<std::string, std::chrono::steady_clock::time_point> m_deferred;  // lease id -> next resume
  bool m_resumed = false;
  bool m_low_disk = false;
};

}  // namespace swarm::drone
