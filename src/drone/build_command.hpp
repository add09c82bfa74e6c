#pragma once
// The canonical emerge command (portage-formats.md "emerge on a drone") and what a finished build
// means. The command line comes from the atom alone: attempt numbers and retry data never enter it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/atom.hpp"
#include "common/process_runner.hpp"

namespace swarm::drone {

/// {emerge..., --ask=n, --oneshot, --buildpkg, --usepkg, --getbinpkg, --usepkg-exclude=CAT/PN, --with-bdeps=y,
/// =CAT/PF[:SLOT][::REPO]}.
std::vector<std::string> emerge_argv(const std::vector<std::string>& emerge_command, const Atom& atom);

/// Failure classes sent in CompleteRequest::failure_class.
namespace failure {
inline constexpr const char* kBuild = "build";         // emerge exited non-zero: the package's problem
inline constexpr const char* kTimeout = "timeout";     // killed at the lease's timeout
inline constexpr const char* kOom = "oom";             // out of memory: the drone's problem
inline constexpr const char* kDisk = "disk";           // out of disk: the drone's problem
inline constexpr const char* kSync = "sync";           // the ebuild tree could not be synced: the drone's
inline constexpr const char* kNoBinary = "no_binary";  // exit 0 but no binary in Packages: the drone's
inline constexpr const char* kCrash = "crash";         // emerge died by a signal, or could not start
inline constexpr const char* kDelivery = "delivery";   // built, but the orchestrator never took the binary in
}  // namespace failure

/// The failure class of a build that ran to its end (not cancelled), or nullopt when it exited 0
/// and a binary was found. `log_tail` is the end of the build log, searched for OOM and ENOSPC.
std::optional<std::string> classify_build(const ProcessResult& result, std::string_view log_tail, bool binary_found);

/// True when the log tail shows the OOM killer or an allocation failure.
bool log_shows_oom(std::string_view log_tail);
/// True when the log tail shows a full disk or quota.
bool log_shows_disk_full(std::string_view log_tail);

}  // namespace swarm::drone
