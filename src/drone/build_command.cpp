#include "drone/build_command.hpp"

#include <csignal>

namespace swarm::drone {

std::vector<std::string> emerge_argv(const std::vector<std::string>& emerge_command, const Atom& atom) {
  std::vector<std::string> argv = emerge_command.empty() ? std::vector<std::string>{"emerge"} : emerge_command;
  // --ask=n overrides an --ask in EMERGE_DEFAULT_OPTS (parsed before the command line). The exclusion
  // stays CATEGORY/PN: emerge refuses a ::repo in --usepkg-exclude, and the target's slot and repo
  // are in the atom itself.
  argv.insert(argv.end(), {"--ask=n", "--oneshot", "--buildpkg", "--usepkg", "--getbinpkg",
                           "--usepkg-exclude=" + atom.cp(), "--with-bdeps=y", atom.to_string()});
  return argv;
}

namespace {
bool contains_any(std::string_view text, std::initializer_list<std::string_view> needles) {
  for (auto n : needles)
    if (text.find(n) != std::string_view::npos) return true;
  return false;
}
}  // namespace

bool log_shows_oom(std::string_view log_tail) {
  return contains_any(log_tail, {"Out of memory", "out of memory", "oom-kill", "Cannot allocate memory",
                                 "virtual memory exhausted", "std::bad_alloc"});
}

bool log_shows_disk_full(std::string_view log_tail) {
  return contains_any(log_tail, {"No space left on device", "Disk quota exceeded", "ENOSPC"});
}

std::optional<std::string> classify_build(const ProcessResult& result, std::string_view log_tail, bool binary_found) {
  if (!result.started) return std::string(failure::kCrash);
  if (result.timed_out) return std::string(failure::kTimeout);
  if (result.signal != 0) {
    // The OOM killer sends SIGKILL; any other death by signal is a crash of emerge itself.
    if (result.signal == SIGKILL && log_shows_oom(log_tail)) return std::string(failure::kOom);
    return std::string(failure::kCrash);
  }
  if (result.exit_code != 0) {
    if (log_shows_disk_full(log_tail)) return std::string(failure::kDisk);
    if (log_shows_oom(log_tail)) return std::string(failure::kOom);
    return std::string(failure::kBuild);
  }
  if (!binary_found) return std::string(failure::kNoBinary);
  return std::nullopt;
}

}  // namespace swarm::drone
