// swarm-orchestrator: the queue, leases, intake of binaries and the binhost.
#include <condition_variable>
#include <iostream>
#include <mutex>

#include "common/config.hpp"
#include "common/logging.hpp"
#include "common/port_file.hpp"
#include "common/signals.hpp"
#include "orchestrator/orchestrator.hpp"

int main(int argc, char** argv) {
  swarm::orch::OrchestratorOptions o;
  swarm::LogOptions log;
  bool check_config = false;
  CLI::App app{"swarm-orchestrator: hands out build work to drones, checks every binary and publishes a Portage binhost"};
  app.add_option("--listen", o.listen, "HOST:PORT to serve the API and the binhost on")->envname("ORCHESTRATOR_LISTEN")->capture_default_str();
  app.add_option("--name", o.name, "This orchestrator's name: the audience of the tickets the gateway signs for it")->envname("ORCHESTRATOR_NAME")->capture_default_str();
  app.add_option("--public-url", o.public_url, "URL drones use to reach this orchestrator (default http://LISTEN)");
  app.add_option("--data-dir", o.data_dir, "Database, staging, logs and (by default) PKGDIR live here")->envname("ORCHESTRATOR_DATA_DIR")->capture_default_str();
  app.add_option("--pkgdir", o.pkgdir, "The binhost's PKGDIR (default DATA_DIR/packages)");
  app.add_option("--staging-dir", o.staging_dir, "Where drones upload, one rrsync root per drone (default DATA_DIR/staging)");
  app.add_option("--gateway-public-key", o.gateway_public_key_file, "The gateway's Ed25519 public key (PEM) that signs tickets");
  app.add_option("--gateway", o.gateway_url, "Gateway URL to fetch its public key from when no key file is given")->envname("GATEWAY_URL");
  app.add_option("--offline-after", o.offline_after_s, "Seconds without a lease renewal before the lease is reclaimed (the lease TTL drones see)")->check(CLI::Range(5, 86400))->capture_default_str();
  app.add_option("--max-attempts", o.max_attempts, "Failures of one package before it is quarantined")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--ground-after", o.ground_after, "Consecutive failures that ground a drone")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--cool-off", o.cool_off_s, "Seconds a grounded drone waits before its trial job")->check(CLI::Range(1, 86400))->capture_default_str();
  app.add_option("--maintenance-interval", o.maintenance_interval_s, "Seconds between reclaim passes")->check(CLI::Range(1, 3600))->capture_default_str();
  app.add_option("--long-poll", o.long_poll_s, "Seconds a drone's work request waits for work")->check(CLI::Range(0, 60))->capture_default_str();
  app.add_option("--upload-host", o.upload_host, "Host drones rsync to (this machine's sshd)")->capture_default_str();
  app.add_option("--upload-user", o.upload_user, "SSH user drones upload as (restricted with rrsync)")->capture_default_str();
  app.add_option("--upload-port", o.upload_port, "SSH port drones upload to")->capture_default_str();
  app.add_option("--staging-max-age", o.staging_max_age_s, "Seconds after which staging left by ended leases is removed")->check(CLI::Range(60, 365 * 86400))->capture_default_str();
  app.add_option("--complete-wait", o.complete_wait_s, "Seconds a completion waits for its binary's intake before the answer is 202 in_progress (the intake goes on; the drone asks again)")->check(CLI::Range(0.0, 3600.0))->capture_default_str();
  app.add_flag("--private-status", o.private_status, "Require an admin ticket for GET /api/v1/status");
  app.add_option("--signing-key", o.signing_key, "Fingerprint of the OpenPGP key that signs every package (scripts/make-signing-key.sh); without it packages are unsigned")->envname("ORCHESTRATOR_SIGNING_KEY");
  app.add_option("--gnupg-home", o.gnupg_home, "GnuPG home holding the signing key, mode 0700 (default DATA_DIR/gnupg)");
  app.add_flag("--no-signing", o.no_signing, "Publish unsigned packages even with a --signing-key: stock Portage clients (verify-signature = true) refuse them");
  app.add_option("--signing-timeout", o.signing_timeout_s, "Seconds one gpg call may take")->check(CLI::Range(1, 86400))->capture_default_str();
  app.add_option("--log-level", log.level, "trace, debug, info, warn, error")->check([](const std::string& l) {
    return swarm::valid_log_level(l) ? std::string() : "unknown log level " + l;
  })->capture_default_str();
  app.add_option("--log-file", log.file, "Also log to this file (rotated)");
  app.add_flag("--check-config", check_config, "Check the configuration and exit");
  std::string port_file;
  app.add_option("--port-file", port_file, "Write the bound port to this file once serving (for --listen HOST:0)");
  swarm::Config config(app, "orchestrator");
  if (auto rc = config.parse(argc, argv)) return *rc;
  if (check_config) {
    std::cout << "configuration ok" << (config.config_file().empty() ? "" : " (" + config.config_file() + ")") << "\n";
    return 0;
  }
  swarm::setup_logging(log);

  std::mutex m;
  std::condition_variable cv;
  bool stop = false;
  swarm::SignalWatcher signals([&](int sig) {
    spdlog::info("signal {}: stopping", sig);
    std::lock_guard lock(m);
    stop = true;
    cv.notify_all();
  });
  swarm::orch::Orchestrator orchestrator(o);
  auto port = orchestrator.start();
  if (!port) {
    spdlog::error("cannot start: {}", port.error().message);
    return 1;
  }
  if (!port_file.empty() && !swarm::write_port_file(port_file, *port)) {
    spdlog::error("cannot write port file {}", port_file);
    return 1;
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return stop; });
  orchestrator.stop();
  return 0;
}
