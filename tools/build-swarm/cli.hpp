#pragma once
// run_cli: the whole `build-swarm` command line (parsing, configuration, dispatch) behind one call,
// writing to the given streams, so tests run it against a fake gateway.

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace swarm {
class Clock;
class ProcessRunner;
}  // namespace swarm

namespace swarm::cli {

/// Exit codes (docs/CLI.md): ok, failed (API error, unreachable gateway, bad input file), usage.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

/// What run_cli takes from its surroundings; tests replace each piece.
struct CliContext {
  /// Read instead of /etc/build-swarm/build-swarm.conf when it exists and no --config is given.
  std::filesystem::path user_config_file;
  /// Runs `emerge --info` and gcc; nullptr: a PosixProcessRunner.
  ProcessRunner* runner = nullptr;
  /// Ages in `drones`; nullptr: the system clock.
  std::shared_ptr<Clock> clock;
};

/// The context of a real run: ~/.config/build-swarm/cli.conf ($XDG_CONFIG_HOME honoured), real processes and time.
CliContext default_cli_context();

/// Runs one command line (without the program name); returns the exit code. Not reentrant: it points
/// std::cout/std::cerr at `out`/`err` while CLI11 parses, since CLI11 and Config print there.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
/// Same with an explicit context.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const CliContext& context);

}  // namespace swarm::cli
