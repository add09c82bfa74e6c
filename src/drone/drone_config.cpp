#include "drone/drone_config.hpp"

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <fstream>

#include <CLI/CLI.hpp>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/logging.hpp"

namespace swarm::drone {

namespace fs = std::filesystem;

std::chrono::milliseconds seconds_ms(double seconds) {
  if (!(seconds > 0)) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000.0)));
}

void add_drone_options(CLI::App& app, DroneConfig& c) {
  app.add_option("--gateway", c.gateway_url, "Gateway base URL, e.g. http://gateway:8090")->envname("GATEWAY_URL");
  app.add_option("--name", c.name, "This drone's name (default: the host name)")->envname("DRONE_NAME");
  app.add_option("--token-file", c.token_file, "File holding this drone's token")->envname("DRONE_TOKEN_FILE");
  app.add_option("--report-ip", c.report_ip, "Address to report to the gateway (default: auto-detected)")
      ->envname("REPORT_IP");
  app.add_option("--gateway-public-key", c.gateway_public_key_file,
                 "PEM file of the gateway's public key (default: fetched from the gateway)");
  app.add_option("--emerge-command", c.emerge_command, "emerge program (and leading arguments)");
  app.add_option("--emerge-info-command", c.emerge_info_command, "Command printing emerge --info");
  app.add_option("--sync-command", c.sync_command,
                 "Command syncing the ebuild repository (SWARM_REPO_REVISION in its environment)");
  app.add_option("--repo-dir", c.repo_dir, "The ebuild repository whose revision must match the lease's");
  app.add_option("--compiler", c.compiler, "Compiler resolving -march=native for the fingerprint");
  app.add_option("--portage-dir", c.portage_dir, "Portage configuration directory hashed into the fingerprint");
  app.add_option("--pkgdir", c.pkgdir, "Portage PKGDIR the builds write to")->envname("PKGDIR");
  app.add_option("--work-dir", c.work_dir, "Journal and build logs");
  app.add_option("--upload-key", c.upload_key, "SSH private key for uploads");
  app.add_option("--known-hosts", c.known_hosts, "Pinned SSH host keys of the orchestrators");
  app.add_option("--ssh-host-key", c.ssh_host_key_file, "This host's SSH public host key, reported at registration");
  app.add_option("--control-listen", c.control_listen, "HOST:PORT of the signed control endpoint");
  app.add_flag("--keep-binaries", c.keep_binaries, "Keep local binaries after the orchestrator accepted them");
  app.add_option("--min-free-mb", c.min_free_mb, "Ask for no work below this much free disk");
  app.add_option("--log-retention-days", c.log_retention_days, "Delete build logs older than this");
  app.add_option("--binary-retention-days", c.binary_retention_days, "Delete leftover local binaries older than this");
  app.add_option("--http-timeout", c.http_timeout_s, "Seconds for a gateway or orchestrator call");
  app.add_option("--work-poll-timeout", c.work_poll_timeout_s, "Seconds to wait on a work long-poll");
  app.add_option("--renew-interval", c.renew_interval_s, "Seconds between lease renewals");
  app.add_option("--drain-timeout", c.drain_timeout_s, "Seconds a drain may take before the build is killed (0: none)");
  app.add_option("--upload-connect-timeout", c.upload_connect_timeout_s, "ssh ConnectTimeout, seconds");
  app.add_option("--upload-alive-interval", c.upload_alive_interval_s, "ssh ServerAliveInterval, seconds");
  app.add_option("--staging-stall-timeout", c.staging_stall_timeout_s, "rsync --timeout: seconds without progress");
  app.add_option("--upload-timeout", c.upload_timeout_s, "Seconds one whole upload may take");
  app.add_option("--upload-attempts", c.upload_attempts, "Upload attempts before giving up (0: no limit)");
  app.add_option("--complete-attempts", c.complete_attempts,
                 "Completion attempts failing with 5xx or transport errors before the build is reported failed (0: no limit)");
  app.add_option("--complete-backoff-initial", c.complete_backoff_initial_s, "First completion retry delay, seconds");
  app.add_option("--complete-backoff-max", c.complete_backoff_max_s, "Longest completion retry delay, seconds");
  app.add_option("--complete-busy-timeout", c.complete_busy_timeout_s,
                 "Seconds to keep re-sending a completion the orchestrator answers in_progress");
  app.add_option("--sync-timeout", c.sync_timeout_s, "Seconds the sync command may take");
  app.add_option("--revision-timeout", c.revision_timeout_s, "Seconds git may take to tell the repository's revision");
  app.add_option("--kill-grace", c.kill_grace_s, "Seconds between SIGTERM and SIGKILL of a build");
  app.add_option("--backoff-initial", c.backoff_initial_s, "First retry delay, seconds");
  app.add_option("--backoff-max", c.backoff_max_s, "Longest retry delay, seconds");
  app.add_option("--log-tail-bytes", c.log_tail_bytes, "Bytes of build log sent with a completion");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn or error");
  app.add_option("--log-file", c.log_file, "Log file (besides stderr)");
  app.add_option("--port-file", c.port_file, "Write the control endpoint's port here once listening");
  app.add_flag("--check-config", c.check_config, "Check the configuration and exit (0 good, 2 bad)");
}

void apply_machine_defaults(DroneConfig& c) {
  if (c.name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) c.name = host;
  }
}

std::vector<std::string> split_command(const std::string& command) {
  std::vector<std::string> argv;
  std::string word;
  for (char ch : command) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      if (!word.empty()) argv.push_back(std::move(word));
      word.clear();
    } else {
      word += ch;
    }
  }
  if (!word.empty()) argv.push_back(std::move(word));
  return argv;
}

namespace {

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64 || s[0] == '-' || s[0] == '.') return false;
  for (char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') return false;
  return true;
}

bool has_space(const std::string& s) {
  for (char ch : s)
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == '\'' || ch == '"') return true;
  return false;
}

// True when argv[0] of `command` names an executable (absolute, relative or on PATH).
bool command_exists(const std::string& command) {
  auto argv = split_command(command);
  if (argv.empty()) return false;
  if (argv[0].find('/') != std::string::npos) return ::access(argv[0].c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(pos, end - pos) + "/" + argv[0];
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

std::vector<std::string> check_drone_config(const DroneConfig& c) {
  std::vector<std::string> problems;
  auto need = [&](bool ok, const std::string& message) {
    if (!ok) problems.push_back(message);
  };
  if (c.gateway_url.empty()) {
    problems.push_back("--gateway is required");
  } else if (auto url = parse_url(c.gateway_url); !url) {
    problems.push_back("--gateway: " + url.error().message);
  }
  need(valid_name(c.name), "--name '" + c.name + "' must be 1-64 characters of [A-Za-z0-9._-]");
  std::ifstream token(c.token_file);
  std::string first_line;
  need(token && std::getline(token, first_line) && !first_line.empty(),
       "--token-file " + c.token_file.string() + " is missing or empty");
  if (!c.gateway_public_key_file.empty())
    need(fs::is_regular_file(c.gateway_public_key_file),
         "--gateway-public-key " + c.gateway_public_key_file.string() + " does not exist");
  need(command_exists(c.emerge_command), "--emerge-command '" + c.emerge_command + "' is not an executable");
  need(command_exists(c.emerge_info_command), "--emerge-info-command '" + c.emerge_info_command + "' is not an executable");
  need(c.sync_command.empty() || command_exists(c.sync_command),
       "--sync-command '" + c.sync_command + "' is not an executable");
  need(fs::is_directory(c.pkgdir), "--pkgdir " + c.pkgdir.string() + " is not a directory");
  need(!c.work_dir.empty(), "--work-dir must be set");
  need(fs::is_regular_file(c.upload_key), "--upload-key " + c.upload_key.string() + " does not exist");
  need(fs::is_regular_file(c.known_hosts), "--known-hosts " + c.known_hosts.string() + " does not exist");
  // rsync splits its -e command on white space: paths with spaces or quotes would break it.
  need(!has_space(c.upload_key.string()), "--upload-key path must not contain spaces or quotes");
  need(!has_space(c.known_hosts.string()), "--known-hosts path must not contain spaces or quotes");
  need(parse_host_port(c.control_listen).ok(), "--control-listen '" + c.control_listen + "' is not HOST:PORT");
  need(valid_log_level(c.log_level), "--log-level '" + c.log_level + "' is not a log level");
  need(c.min_free_mb >= 0, "--min-free-mb must not be negative");
  need(c.http_timeout_s > 0, "--http-timeout must be positive");
  need(c.work_poll_timeout_s > 0, "--work-poll-timeout must be positive");
  need(c.renew_interval_s > 0, "--renew-interval must be positive");
  need(c.drain_timeout_s >= 0, "--drain-timeout must not be negative");
  need(c.upload_connect_timeout_s >= 1, "--upload-connect-timeout must be at least 1 second");
  need(c.upload_alive_interval_s >= 1, "--upload-alive-interval must be at least 1 second");
  need(c.staging_stall_timeout_s >= 1, "--staging-stall-timeout must be at least 1 second");
  need(c.upload_timeout_s > 0, "--upload-timeout must be positive");
  need(c.upload_attempts >= 0 && c.complete_attempts >= 0, "attempt counts must not be negative");
  need(c.backoff_initial_s > 0 && c.backoff_max_s >= c.backoff_initial_s,
       "--backoff-initial must be positive and at most --backoff-max");
  need(c.log_tail_bytes >= 0, "--log-tail-bytes must not be negative");
  need(c.complete_backoff_initial_s > 0 && c.complete_backoff_max_s >= c.complete_backoff_initial_s,
       "--complete-backoff-initial must be positive and at most --complete-backoff-max");
  need(c.complete_busy_timeout_s > 0, "--complete-busy-timeout must be positive");
  return problems;
}

}  // namespace swarm::drone
