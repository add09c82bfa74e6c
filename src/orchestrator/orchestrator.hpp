#pragma once
// Orchestrator: the HTTP service around the Store: drone and admin authentication by gateway-signed
// tickets, long-polled work, completions through Intake, the binhost, events and metrics.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "orchestrator/store.hpp"

namespace swarm::orch {

struct OrchestratorOptions {
  std::string listen = "0.0.0.0:8080";
  std::string name = "orchestrator";       // the audience of tickets meant for this orchestrator
  std::string public_url;                  // how drones reach it; default http://<listen>
  std::filesystem::path data_dir = "/var/lib/build-swarm/orchestrator";
  std::filesystem::path pkgdir;            // default <data_dir>/packages
  std::filesystem::path staging_dir;       // default <data_dir>/staging
  std::string gateway_public_key_file;     // PEM; or fetched from gateway_url
  std::string gateway_url;
  int64_t offline_after_s = 60;
  int max_attempts = 3;
  int ground_after = 5;
  int64_t cool_off_s = 120;
  int64_t maintenance_interval_s = 15;
  int64_t long_poll_s = 25;
  int64_t index_batch_ms = 300;
  int64_t staging_max_age_s = 86400;       // staging of ended leases is removed after this
  std::string upload_host = "127.0.0.1";
  std::string upload_user = "build-swarm";
  int64_t upload_port = 22;
  bool private_status = false;
  int http_threads = 8;
  // Package signing (docs/SIGNING.md): on when a key is given, unless no_signing.
  std::string signing_key;           // fingerprint of a secret key in gnupg_home
  std::filesystem::path gnupg_home;  // default <data_dir>/gnupg
  bool no_signing = false;           // publish unsigned packages (stock clients refuse them)
  int64_t signing_timeout_s = 600;   // per gpg call; the image is hashed whole
  double complete_wait_s = 10;  // a built completion's intake still running after this is answered 202 in_progress
  /// Tests: runs first on each intake thread, with the flag that says the orchestrator is stopping.
  std::function<void(const std::string& lease_id, const std::atomic<bool>& stopping)> before_intake;
};

class Orchestrator {
 public:
  Orchestrator(OrchestratorOptions options, std::shared_ptr<Clock> clock = system_clock());
  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  /// Takes the data-directory lock, opens the store, reconciles PKGDIR, starts serving; returns the port.
  Result<uint16_t> start();
  /// Stops serving and the background threads. Idempotent.
  void stop();
  Store& store();

  class Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace swarm::orch
