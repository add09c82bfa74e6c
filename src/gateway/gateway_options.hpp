#pragma once
// GatewayOptions: every setting of swarm-gateway, their flags (CLI11, env, config file) and checks.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/result.hpp"

namespace swarm::gateway {

struct GatewayOptions {
  std::string listen = "0.0.0.0:8090";
  std::string data_dir = "/var/lib/build-swarm/gateway";
  std::vector<std::string> orchestrators;           // base URLs
  std::string admin_token_file;                     // empty: <data-dir>/admin.token
  std::string admin_token;                          // set directly (tests) or from BUILD_SWARM_ADMIN_TOKEN
  std::string tokens_file;                          // "name token" lines, pre-seeded at start
  bool auto_approve = false;
  int64_t heartbeat_interval_s = 10;
  int64_t offline_after_s = 60;
  int64_t ticket_ttl_s = 600;
  double poll_interval_s = 5.0;
  double poll_timeout_s = 5.0;                      // one orchestrator status fetch
  double call_timeout_s = 30.0;                     // proxied admin calls and drone control calls
  std::vector<std::string> drone_address_overrides;  // NAME=HOST
  std::string dashboard_dir;                        // empty: the copy built into the executable
  bool private_status = false;                      // GET status calls need the admin token too
  int http_threads = 16;                            // proxied and control calls block one each
  std::string log_level = "info";
  std::string log_file;
  bool check_config = false;
  std::string port_file;                            // write the bound port here once listening
};

/// Adds every gateway flag (with its environment variable) to `app`, writing into `options`.
void add_gateway_options(CLI::App& app, GatewayOptions& options);

/// Checks values that CLI11 cannot (URLs, addresses, ranges, overrides, files); invalid says which.
Status check_gateway_options(const GatewayOptions& options);

/// Parses the NAME=HOST overrides; invalid on a malformed entry.
Result<std::map<std::string, std::string>> parse_address_overrides(const std::vector<std::string>& entries);

/// Parses a tokens file's text ("name token" per line, '#' comments); invalid names the bad line.
Result<std::vector<std::pair<std::string, std::string>>> parse_tokens_text(const std::string& text);

/// True for a usable drone name: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.
bool valid_drone_name(const std::string& name);

}  // namespace swarm::gateway
