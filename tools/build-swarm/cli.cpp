#include "build-swarm/cli.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>

#include "build-swarm/commands.hpp"
#include "build-swarm/render.hpp"
#include "build-swarm/submission.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "common/process_runner.hpp"

namespace swarm::cli {

namespace {

// Everything the command line can set, bound to CLI11 options.
struct Options {
  std::string gateway = "http://localhost:8090";
  std::string admin_token_file;
  std::string admin_token;
  bool json = false;
  double timeout_s = 30;
  std::string queue_state;
  SubmitArgs submit;
  std::string atom;
  int64_t run = 0;
  std::string orchestrator;
  std::string name;
  FingerprintSource fingerprint;
  std::string node_query;
  std::string node_action;
  std::vector<std::string> node_args;
  std::string binhost_url;
  int binhost_priority = 10;
  std::string binhost_name = "swarm";
  std::string snapshot;
  std::string push_only;  // push is not implemented yet: its options parse, then it says so
  bool push_dry_run = false;
};

const std::set<std::string> kCommands = {"status", "drones", "queue", "submit",      "retry",   "cancel", "pause",
                                         "resume", "drone",  "token", "fingerprint", "binhost", "push",   "node"};
const std::set<std::string> kValueOptions = {"--gateway", "--admin-token-file", "--admin-token", "--timeout",
                                             "--config"};

// CLI11 and Config print help and parse errors on std::cout/std::cerr; this sends them to our streams.
class StreamRedirect {
 public:
  StreamRedirect(std::ostream& stream, std::ostream& target) : m_stream(stream), m_old(stream.rdbuf(target.rdbuf())) {}
  ~StreamRedirect() { m_stream.rdbuf(m_old); }
  StreamRedirect(const StreamRedirect&) = delete;
  StreamRedirect& operator=(const StreamRedirect&) = delete;

 private:
  std::ostream& m_stream;
  std::streambuf* m_old;
};

bool given(const std::vector<std::string>& args, const std::string& option) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == option || a.rfind(option + "=", 0) == 0) return true;
  }
  return false;
}

// `build-swarm NAME ACTION ...` becomes `build-swarm node NAME ACTION ...`: a drone name stands where a
// command would. Returns the unknown word when it has no action after it.
std::optional<std::string> route_drone_commands(std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return std::nullopt;
    if (!a.empty() && a[0] == '-') {
      if (kValueOptions.count(a)) ++i;
      continue;
    }
    if (kCommands.count(a)) return std::nullopt;
    bool has_action = false;
    for (size_t j = i + 1; j < args.size(); ++j)
      if (!args[j].empty() && args[j][0] != '-') has_action = true;
    if (!has_action) return a;
    args.insert(args.begin() + static_cast<std::ptrdiff_t>(i), "node");
    return std::nullopt;
  }
  return std::nullopt;
}

Result<std::string> read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::io, "cannot read the admin token file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  auto b = token.find_first_not_of(" \t\r\n");
  auto e = token.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) return make_error(ErrorKind::invalid, "the admin token file " + path + " is empty");
  return token.substr(b, e - b + 1);
}

void add_fingerprint_options(CLI::App* cmd, FingerprintSource& source) {
  cmd->add_option("--emerge-info-command", source.emerge_info_command,
                  "Command printing this machine's `emerge --info` (run without a shell)")
      ->capture_default_str();
  cmd->add_option("--portage-dir", source.portage_dir, "Portage configuration to hash")->capture_default_str();
  cmd->add_option("--compiler", source.compiler, "Compiler that resolves -march=native")->capture_default_str();
}

struct Commands {
  CLI::App* status;
  CLI::App* drones;
  CLI::App* queue;
  CLI::App* submit;
  CLI::App* retry;
  CLI::App* cancel;
  CLI::App* pause;
  CLI::App* resume;
  CLI::App* drone;
  CLI::App* approve;
  CLI::App* revoke;
  CLI::App* token_create;
  CLI::App* fingerprint;
  CLI::App* client_config;
  CLI::App* snapshots;
  CLI::App* rollback;
  CLI::App* push;
  CLI::App* node;
  CLI::Option* run_option[4];
};

Commands define_commands(CLI::App& app, Options& o) {
  Commands c{};
  c.status = app.add_subcommand("status", "Drone and queue counts, orchestrators, a progress bar per run");
  c.drones = app.add_subcommand("drones", "Every drone: approval, activity, address, build, fingerprint");
  c.queue = app.add_subcommand("queue", "Build requests (all, or in one state)");
  c.queue->add_option("--state", o.queue_state, "Only requests in this state")->check(CLI::IsMember(request_states()));

  c.submit = app.add_subcommand("submit", "Submit packages as a new run (admin)");
  c.submit->add_option("atoms", o.submit.atoms, "Exact-version atoms, e.g. dev-libs/foo-1.2");
  c.submit->add_option("--file", o.submit.file, "A file with one atom per line (# comments)")->check(CLI::ExistingFile);
  c.submit->add_option("--graph", o.submit.graph, "A JSON package graph {\"packages\":[...]}")
      ->check(CLI::ExistingFile);
  c.submit
      ->add_option("--from-emerge", o.submit.from_emerge,
                   "Saved `emerge --pretend --tree` output: the packages in merge order with their dependency edges")
      ->check(CLI::ExistingFile);
  c.submit->add_flag("--fingerprint", o.submit.fingerprint, "Send this machine's fingerprint as the run's reference");
  add_fingerprint_options(c.submit, o.submit.fingerprint_source);
  c.submit->add_option("--repo-revision", o.submit.repo_revision, "Ebuild repository revision drones must have");
  c.submit->add_option("--orchestrator", o.submit.orchestrator, "The orchestrator that takes the run");
  c.submit->add_option("--priority", o.submit.priority, "Priority of packages that do not carry their own");

  CLI::App** queue_actions[] = {&c.retry, &c.cancel, &c.pause, &c.resume};
  const char* descriptions[] = {"Build requests again (admin)", "Cancel requests (admin)",
                                "Pause a request, a run, or every run (admin)",
                                "Resume a request, a run, or every run (admin)"};
  const char* names[] = {"retry", "cancel", "pause", "resume"};
  for (int i = 0; i < 4; ++i) {
    CLI::App* cmd = app.add_subcommand(names[i], descriptions[i]);
    cmd->add_option("atom", o.atom, "The request's atom (its latest request)");
    c.run_option[i] = cmd->add_option("--run", o.run, "The run")->check(CLI::PositiveNumber);
    cmd->add_option("--orchestrator", o.orchestrator, "Only this orchestrator");
    *queue_actions[i] = cmd;
  }

  c.drone = app.add_subcommand("drone", "Approve or revoke a drone (admin)");
  c.drone->require_subcommand(1);
  c.approve = c.drone->add_subcommand("approve", "Let a pending drone take work");
  c.approve->add_option("name", o.name, "The drone's exact name")->required();
  c.revoke = c.drone->add_subcommand("revoke", "Refuse a drone and its token from now on");
  c.revoke->add_option("name", o.name, "The drone's exact name")->required();

  CLI::App* token = app.add_subcommand("token", "Drone tokens (admin)");
  token->require_subcommand(1);
  c.token_create = token->add_subcommand("create", "Create (or replace) a drone's token; printed once");
  c.token_create->add_option("name", o.name, "The drone's name")->required();

  c.fingerprint = app.add_subcommand("fingerprint", "Print this machine's configuration fingerprint");
  add_fingerprint_options(c.fingerprint, o.fingerprint);

  CLI::App* binhost = app.add_subcommand("binhost", "Binhost snapshots, rollback, client configuration");
  binhost->require_subcommand(1);
  c.client_config =
      binhost->add_subcommand("client-config", "Print the binrepos.conf entry for an orchestrator's binhost");
  c.client_config->add_option("url", o.binhost_url, "The orchestrator's URL, e.g. http://orchestrator:8080")
      ->required();
  c.client_config->add_option("--priority", o.binhost_priority, "Repository priority")->capture_default_str();
  c.client_config->add_option("--name", o.binhost_name, "Repository name")->capture_default_str();
  c.snapshots = binhost->add_subcommand("snapshots", "List the kept run snapshots");
  c.rollback = binhost->add_subcommand("rollback", "Publish an older snapshot's content again (admin)");
  c.rollback->add_option("--orchestrator", o.orchestrator, "The orchestrator whose binhost rolls back");
  c.rollback->add_option("--snapshot", o.snapshot, "The snapshot (default: the one before the current)");

  c.push = app.add_subcommand("push", "Copy the installed executables to every drone (not yet implemented)");
  c.push->add_option("--only", o.push_only, "Only this drone");
  c.push->add_flag("--dry-run", o.push_dry_run, "Say what would be done");
  c.node = app.add_subcommand("node", "Act on one drone: node NAME ACTION, the same as NAME ACTION");
  c.node->add_option("name", o.node_query, "Part of the drone's name, hostname or address")->required();
  c.node->add_option("action", o.node_action, "status, queue, logs [N], restart, drain, ip")->required();
  c.node->add_option("args", o.node_args, "logs: how many lines (default 100)");
  return c;
}

int queue_action(const CommandContext& ctx, const Commands& c, CLI::App* cmd, const Options& o) {
  int index = cmd == c.retry ? 0 : cmd == c.cancel ? 1 : cmd == c.pause ? 2 : 3;
  QueueAction action;
  bool has_run = c.run_option[index]->count() > 0;
  if (has_run) action.run = o.run;
  if (!o.orchestrator.empty()) action.orchestrator = o.orchestrator;
  // retry and cancel need a target; pause and resume without one act on every run.
  if (index < 2 && o.atom.empty() && !has_run)
    return usage(ctx.err, cmd->get_name() + ": give an ATOM or --run N (one of them)");
  if (!o.atom.empty() && has_run) return usage(ctx.err, cmd->get_name() + ": give an ATOM or --run N, not both");
  if (!o.atom.empty()) {
    auto cpv = normalize_atom(o.atom);
    if (!cpv) return usage(ctx.err, cmd->get_name() + ": " + cpv.error().message);
    action.atom = *cpv;
  }
  return cmd_queue_action(ctx, cmd->get_name(), action);
}

int dispatch(const CommandContext& ctx, const Commands& c, CLI::App& app, const Options& o) {
  CLI::App* cmd = app.get_subcommands().front();
  CLI::App* sub = cmd->get_subcommands().empty() ? nullptr : cmd->get_subcommands().front();
  if (cmd == c.status) return cmd_status(ctx);
  if (cmd == c.drones) return cmd_drones(ctx);
  if (cmd == c.queue) return cmd_queue(ctx, o.queue_state);
  if (cmd == c.submit) return cmd_submit(ctx, o.submit);
  if (cmd == c.retry || cmd == c.cancel || cmd == c.pause || cmd == c.resume) return queue_action(ctx, c, cmd, o);
  if (sub == c.approve || sub == c.revoke) return cmd_drone_admin(ctx, sub->get_name(), o.name);
  if (sub == c.token_create) return cmd_token_create(ctx, o.name);
  if (cmd == c.fingerprint) return cmd_fingerprint(ctx, o.fingerprint);
  if (sub == c.client_config) return cmd_binhost_client_config(ctx, o.binhost_url, o.binhost_priority, o.binhost_name);
  if (sub == c.snapshots) return cmd_binhost_snapshots(ctx);
  if (sub == c.rollback) return cmd_binhost_rollback(ctx, o.orchestrator, o.snapshot);
  if (cmd == c.push) return fail(ctx, "push is not implemented yet");
  if (cmd == c.node) return cmd_node(ctx, o.node_query, o.node_action, o.node_args);
  return usage(ctx.err, "no command given (see build-swarm --help)");
}

}  // namespace

CliContext default_cli_context() {
  CliContext ctx;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    ctx.user_config_file = std::filesystem::path(xdg) / "build-swarm" / "cli.conf";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    ctx.user_config_file = std::filesystem::path(home) / ".config" / "build-swarm" / "cli.conf";
  }
  return ctx;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_cli(args, out, err, default_cli_context());
}

int run_cli(const std::vector<std::string>& raw_args, std::ostream& out, std::ostream& err, const CliContext& context) {
  std::vector<std::string> args = raw_args;
  if (auto unknown = route_drone_commands(args))
    return usage(err, "unknown command '" + *unknown +
                          "' (a drone name needs an action: status, queue, logs [N], "
                          "restart, drain, ip); see build-swarm --help");
  std::error_code ec;
  if (!given(args, "--config") && !context.user_config_file.empty() &&
      std::filesystem::exists(context.user_config_file, ec))
    args.insert(args.begin(), {"--config", context.user_config_file.string()});

  Options o;
  CLI::App app("build-swarm: the command line of a build-swarm, over the gateway's API", "build-swarm");
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", BUILD_SWARM_VERSION);
  app.add_option("--gateway", o.gateway, "Gateway URL")->envname("BUILD_SWARM_GATEWAY")->capture_default_str();
  app.add_option("--admin-token-file", o.admin_token_file,
                 "File holding the admin token (else $BUILD_SWARM_ADMIN_TOKEN, else the config file)");
  // Config-file and environment key only: a token on the command line would show in `ps`.
  app.add_option("--admin-token", o.admin_token, "")->envname("BUILD_SWARM_ADMIN_TOKEN")->group("");
  app.add_flag("--json", o.json, "Print the API's raw JSON instead of tables");
  app.add_option("--timeout", o.timeout_s, "Seconds allowed for each call to the gateway")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  Commands commands = define_commands(app, o);
  app.footer(
      "A drone by name: build-swarm DRONE status|queue|logs [N]|restart|drain|ip (part of its name, hostname or\n"
      "address, case-insensitive; `build-swarm node DRONE ACTION` when a drone is named like a command).\n"
      "Not implemented yet: push, DRONE ssh.\n"
      "Config: ~/.config/build-swarm/cli.conf, else /etc/build-swarm/build-swarm.conf (gateway, admin-token-file, ...).\n"
      "Exit codes: 0 ok, 1 failed (API error, gateway unreachable), 2 usage.");
  Config config(app, "build-swarm");
  std::optional<int> stop;
  {
    StreamRedirect redirect_out(std::cout, out);
    StreamRedirect redirect_err(std::cerr, err);
    stop = config.parse(args);
  }
  if (stop) return *stop;

  std::string token;
  if (given(args, "--admin-token-file")) {
    auto t = read_token(o.admin_token_file);
    if (!t) return usage(err, t.error().message);
    token = *t;
  } else if (!o.admin_token.empty()) {
    token = o.admin_token;
  } else if (!o.admin_token_file.empty()) {
    auto t = read_token(o.admin_token_file);
    if (t)
      token = *t;
    else
      err << "build-swarm: warning: " << t.error().message << " (from " << config.config_file() << ")\n";
  }

  GatewayApiOptions api_options;
  api_options.total_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  api_options.connect_timeout = std::min(api_options.total_timeout, std::chrono::milliseconds(5'000));
  std::string gateway = o.gateway;
  while (gateway.size() > 1 && gateway.back() == '/') gateway.pop_back();
  GatewayApi api(gateway, token, api_options);
  PosixProcessRunner posix_runner;
  ProcessRunner& runner = context.runner ? *context.runner : posix_runner;
  CommandContext ctx{api, out, err, o.json, context.clock ? context.clock : system_clock(), runner};
  return dispatch(ctx, commands, app, o);
}

}  // namespace swarm::cli
