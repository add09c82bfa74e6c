#pragma once
// DroneConfig: every setting of swarm-drone (flags, environment, /etc/build-swarm/drone.conf).
// Durations are seconds (fractions allowed) so tests can use short ones.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace CLI {
class App;
}

namespace swarm::drone {

struct DroneConfig {
  std::string gateway_url;                 // --gateway, GATEWAY_URL
  std::string name;                        // --name, DRONE_NAME; default: the host name
  std::filesystem::path token_file = "/etc/build-swarm/drone.token";
  std::string report_ip;                   // --report-ip, REPORT_IP; empty: auto-detected
  std::filesystem::path gateway_public_key_file;  // empty: GET {gateway}/api/v1/pubkey
  std::string emerge_command = "emerge";
  std::string emerge_info_command = "emerge --info";
  std::string sync_command = "emerge --sync";  // gets SWARM_REPO_REVISION, the revision the lease needs
  std::filesystem::path repo_dir = "/var/db/repos/gentoo";  // checked against the lease's revision
  std::string compiler = "gcc";            // resolves -march=native for the fingerprint
  std::filesystem::path portage_dir = "/etc/portage";
  std::filesystem::path pkgdir = "/var/cache/binpkgs";
  std::filesystem::path work_dir = "/var/lib/build-swarm/drone";
  std::filesystem::path upload_key = "/etc/build-swarm/drone_upload_key";
  std::filesystem::path known_hosts = "/etc/build-swarm/known_hosts";
  std::filesystem::path ssh_host_key_file = "/etc/ssh/ssh_host_ed25519_key.pub";
  std::string control_listen = "0.0.0.0:8070";
  bool keep_binaries = false;
  int64_t min_free_mb = 2048;
  double log_retention_days = 14;
  double binary_retention_days = 7;

  double http_timeout_s = 10;
  double work_poll_timeout_s = 35;   // the orchestrator holds a work request up to ~25 s
  double renew_interval_s = 5;
  double drain_timeout_s = 0;        // 0: a drain waits for the build, however long
  double upload_connect_timeout_s = 10;
  double upload_alive_interval_s = 5;
  double staging_stall_timeout_s = 60;  // rsync --timeout: no data for this long ends the attempt
  double upload_timeout_s = 3600;       // the whole rsync run
  int64_t upload_attempts = 0;          // 0: retry until it works (or the lease is lost)
  int64_t complete_attempts = 8;        // transport errors and 5xx before the build is reported failed; 0: no limit
  double complete_backoff_initial_s = 5;  // completion retries: 5, 10, ... 160 s: 8 tries take about 8-10 min
  double complete_backoff_max_s = 160;
  double complete_busy_timeout_s = 3600;  // how long "in_progress" answers are followed
  double sync_timeout_s = 1800;
  double revision_timeout_s = 60;  // git rev-parse HEAD of the repository
  double kill_grace_s = 10;
  double backoff_initial_s = 1;
  double backoff_max_s = 60;
  int64_t log_tail_bytes = 16 * 1024;

  std::string log_level = "info";
  std::string log_file;
  std::filesystem::path port_file;  // the control port is written here once listening (tests, --control-listen :0)
  bool check_config = false;
};

/// Seconds as milliseconds (negative values become 0).
std::chrono::milliseconds seconds_ms(double seconds);

/// Adds every drone option to `app`, bound to `config` (which must outlive the parse).
void add_drone_options(CLI::App& app, DroneConfig& config);

/// Fills defaults that depend on the machine (the name from the host name).
void apply_machine_defaults(DroneConfig& config);

/// Checks values and that files and commands exist; one message per problem, empty when fine.
std::vector<std::string> check_drone_config(const DroneConfig& config);

/// Splits a configured command ("emerge --info") into argv on whitespace; no shell involved.
std::vector<std::string> split_command(const std::string& command);

}  // namespace swarm::drone
