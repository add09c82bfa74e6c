#include "gateway/gateway_options.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/logging.hpp"

namespace swarm::gateway {

namespace {
std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool valid_host(const std::string& host) {
  if (host.empty() || host.size() > 255) return false;
  return host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == std::string::npos;
}
}  // namespace

bool valid_drone_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  return name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
}

void add_gateway_options(CLI::App& app, GatewayOptions& o) {
  app.add_option("--listen", o.listen, "Address to listen on, HOST:PORT")->envname("GATEWAY_LISTEN")->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "Directory for gateway.key, gateway.db and admin.token")
      ->envname("GATEWAY_DATA_DIR")
      ->capture_default_str();
  app.add_option("--orchestrator", o.orchestrators, "Orchestrator base URL (repeatable, or comma-separated)")
      ->envname("GATEWAY_ORCHESTRATORS")
      ->delimiter(',');
  app.add_option("--admin-token-file", o.admin_token_file,
                 "File holding the admin token, created (0600) when missing; default <data-dir>/admin.token; "
                 "the environment variable BUILD_SWARM_ADMIN_TOKEN takes precedence")
      ->envname("GATEWAY_ADMIN_TOKEN_FILE");
  app.add_option("--tokens-file", o.tokens_file, "File of `name token` lines pre-seeding drone tokens")
      ->envname("GATEWAY_TOKENS_FILE");
  app.add_flag("--auto-approve", o.auto_approve,
               "Approve every registering drone (any host that can reach the gateway can publish binaries "
               "that your machines install)");
  app.add_option("--heartbeat-interval", o.heartbeat_interval_s, "Seconds between drone heartbeats (told to drones)")
      ->envname("GATEWAY_HEARTBEAT_INTERVAL")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--offline-after", o.offline_after_s, "Seconds without a heartbeat before a drone counts as offline")
      ->envname("GATEWAY_OFFLINE_AFTER")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--ticket-ttl", o.ticket_ttl_s, "Lifetime of drone tickets, seconds")
      ->envname("GATEWAY_TICKET_TTL")
      ->check(CLI::Range(10, 86400))
      ->capture_default_str();
  app.add_option("--poll-interval", o.poll_interval_s, "Seconds between orchestrator status polls")
      ->envname("GATEWAY_POLL_INTERVAL")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  app.add_option("--poll-timeout", o.poll_timeout_s, "Timeout of one orchestrator status poll, seconds")
      ->envname("GATEWAY_POLL_TIMEOUT")
      ->check(CLI::Range(0.05, 600.0))
      ->capture_default_str();
  app.add_option("--call-timeout", o.call_timeout_s, "Timeout of a proxied admin call or a drone control call, seconds")
      ->envname("GATEWAY_CALL_TIMEOUT")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--drone-address-override", o.drone_address_overrides,
                 "NAME=HOST: where to send control calls for a drone when its reported address fails (repeatable)");
  app.add_option("--dashboard-dir", o.dashboard_dir, "Serve the dashboard from this directory instead of the built-in copy")
      ->envname("GATEWAY_DASHBOARD_DIR");
  app.add_flag("--private-status", o.private_status, "Require the admin token for the read-only status calls too");
  app.add_option("--http-threads", o.http_threads, "HTTP server threads")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn or error")
      ->envname("GATEWAY_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-file", o.log_file, "Also log to this file (rotated)")->envname("GATEWAY_LOG_FILE");
  app.add_flag("--check-config", o.check_config, "Check the configuration, print it, and exit (0 ok, 2 bad)");
  app.add_option("--port-file", o.port_file, "Write the bound port to this file once listening (for --listen HOST:0)");
}

Result<std::map<std::string, std::string>> parse_address_overrides(const std::vector<std::string>& entries) {
  std::map<std::string, std::string> out;
  for (const auto& e : entries) {
    auto eq = e.find('=');
    if (eq == std::string::npos)
      return make_error(ErrorKind::invalid, "--drone-address-override '" + e + "': expected NAME=HOST");
    std::string name = e.substr(0, eq);
    std::string host = e.substr(eq + 1);
    if (!valid_drone_name(name)) return make_error(ErrorKind::invalid, "--drone-address-override: bad drone name '" + name + "'");
    if (!valid_host(host)) return make_error(ErrorKind::invalid, "--drone-address-override: bad host '" + host + "'");
    out[name] = host;
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_tokens_text(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::istringstream words(t);
    std::string name, token, rest;
    words >> name >> token >> rest;
    if (token.empty() || !rest.empty())
      return make_error(ErrorKind::invalid, "tokens file line " + std::to_string(n) + ": expected `name token`");
    if (!valid_drone_name(name))
      return make_error(ErrorKind::invalid, "tokens file line " + std::to_string(n) + ": bad drone name '" + name + "'");
    if (token.size() < 16)
      return make_error(ErrorKind::invalid, "tokens file line " + std::to_string(n) + ": token shorter than 16 characters");
    out.emplace_back(name, token);
  }
  return out;
}

Status check_gateway_options(const GatewayOptions& o) {
  if (auto hp = parse_host_port(o.listen); !hp) return make_error(ErrorKind::invalid, "--listen: " + hp.error().message);
  if (o.data_dir.empty()) return make_error(ErrorKind::invalid, "--data-dir must not be empty");
  for (const auto& url : o.orchestrators) {
    if (auto u = parse_url(url); !u) return make_error(ErrorKind::invalid, "--orchestrator: " + u.error().message);
  }
  if (auto ov = parse_address_overrides(o.drone_address_overrides); !ov) return ov.error();
  if (!valid_log_level(o.log_level)) return make_error(ErrorKind::invalid, "--log-level: unknown level '" + o.log_level + "'");
  if (o.offline_after_s <= o.heartbeat_interval_s)
    return make_error(ErrorKind::invalid, "--offline-after must be longer than --heartbeat-interval");
  if (o.heartbeat_interval_s <= 0 || o.ticket_ttl_s <= 0 || o.poll_interval_s <= 0 || o.poll_timeout_s <= 0 ||
      o.call_timeout_s <= 0 || o.http_threads <= 0)
    return make_error(ErrorKind::invalid, "intervals, timeouts and thread counts must be positive");
  if (o.ticket_ttl_s <= o.heartbeat_interval_s)
    return make_error(ErrorKind::invalid, "--ticket-ttl must be longer than --heartbeat-interval (tickets are renewed by heartbeats)");
  if (!o.tokens_file.empty()) {
    std::ifstream in(o.tokens_file);
    if (!in) return make_error(ErrorKind::invalid, "--tokens-file: cannot read " + o.tokens_file);
    std::stringstream ss;
    ss << in.rdbuf();
    if (auto t = parse_tokens_text(ss.str()); !t) return make_error(ErrorKind::invalid, o.tokens_file + ": " + t.error().message);
  }
  if (!o.dashboard_dir.empty() && !std::filesystem::is_regular_file(std::filesystem::path(o.dashboard_dir) / "index.html"))
    return make_error(ErrorKind::invalid, "--dashboard-dir: no index.html in " + o.dashboard_dir);
  return {};
}

}  // namespace swarm::gateway
