#pragma once
// The commands of `build-swarm`, each a function of its already-parsed arguments: it calls the
// gateway, prints the answer (raw JSON with --json) and returns the exit code.

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "build-swarm/gateway_api.hpp"
#include "build-swarm/local_fingerprint.hpp"
#include "common/messages.hpp"
#include "common/result.hpp"

namespace swarm {
class Clock;
class ProcessRunner;
}  // namespace swarm

namespace swarm::cli {

struct CommandContext {
  const GatewayApi& api;
  std::ostream& out;
  std::ostream& err;
  bool json = false;
  std::shared_ptr<Clock> clock;
  ProcessRunner& runner;
};

/// Prints "build-swarm: <message>" on err; returns kExitFailed.
int fail(const CommandContext& ctx, const std::string& message);
/// Prints "build-swarm: <message>" on err; returns kExitUsage.
int usage(std::ostream& err, const std::string& message);
/// Prints an answer's body as it came, ending in a newline (--raw).
void print_raw(const CommandContext& ctx, const std::string& body);

// ---- read commands (commands_read.cpp) ----
int cmd_status(const CommandContext& ctx);
int cmd_drones(const CommandContext& ctx);
/// `state` empty: every request.
int cmd_queue(const CommandContext& ctx, const std::string& state);
int cmd_binhost_snapshots(const CommandContext& ctx);
/// `<drone> status|queue|logs [N]|restart|drain|ip|ssh`: `query` names the drone partially.
int cmd_node(const CommandContext& ctx, const std::string& query, const std::string& action,
             const std::vector<std::string>& args);
/// The actions cmd_node knows, in help order.
const std::vector<std::string>& node_actions();

// ---- write commands (commands_write.cpp) ----
struct SubmitArgs {
  std::vector<std::string> atoms;
  std::string file;
  std::string graph;
  std::string from_emerge;
  bool fingerprint = false;
  FingerprintSource fingerprint_source;
  std::string repo_revision;
  std::string orchestrator;
  int64_t priority = 0;
};
int cmd_submit(const CommandContext& ctx, const SubmitArgs& args);
/// `action` is retry, cancel, pause or resume.
int cmd_queue_action(const CommandContext& ctx, const std::string& action, const QueueAction& target);
/// `action` is approve or revoke; `name` is exact.
int cmd_drone_admin(const CommandContext& ctx, const std::string& action, const std::string& name);
int cmd_token_create(const CommandContext& ctx, const std::string& name);
int cmd_binhost_rollback(const CommandContext& ctx, const std::string& orchestrator, const std::string& snapshot);

// ---- local commands (commands_local.cpp) ----
int cmd_fingerprint(const CommandContext& ctx, const FingerprintSource& source);
/// Prints the binrepos.conf entry for the binhost of the orchestrator at `url`.
int cmd_binhost_client_config(const CommandContext& ctx, const std::string& url, int priority, const std::string& name);
/// The binrepos.conf text for `orchestrator_url` (http:// or https://, "/binhost" appended unless
/// there); invalid for any other URL or a repository name that is not [A-Za-z0-9_-]+.
Result<std::string> binrepos_snippet(const std::string& orchestrator_url, int priority, const std::string& name);

}  // namespace swarm::cli
