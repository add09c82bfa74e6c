#pragma once
// Builder: brings the ebuild tree to a lease's revision (syncing when it is elsewhere, then checking
// the tree itself), runs the canonical emerge command
// for one atom in its own process group with the lease's timeout, and finds the binary it produced.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/atom.hpp"
#include "common/clock.hpp"
#include "common/process_runner.hpp"
#include "drone/local_binaries.hpp"
#include "drone/portage_failure.hpp"

namespace swarm::drone {

struct BuilderSettings {
  std::vector<std::string> emerge_command = {"emerge"};
  std::vector<std::string> sync_command;  // empty: never sync
  std::filesystem::path repo_dir = "/var/db/repos/gentoo";  // the ebuild repository emerge builds from
  std::filesystem::path pkgdir;
  std::filesystem::path work_dir;         // holds repo_revision, the last revision the tree was found at
  std::chrono::milliseconds sync_timeout{1'800'000};
  std::chrono::milliseconds revision_timeout{60'000};  // git rev-parse HEAD
  std::chrono::milliseconds kill_grace{10'000};
};

struct BuildReport {
  bool cancelled = false;                    // stopped by the cancel flag: nothing to report
  std::optional<std::string> failure_class;  // nullopt with !cancelled: built
  LocalBinary binary;                        // when built
  int64_t exit_code = 0;
  double duration_s = 0;
  int64_t max_rss_mb = 0;
  int64_t start_unix = 0;
  std::string summary;  // one line for logs: "exit 0", "timed out after 30s", ...
  std::optional<PortageFailure> portage_failure;  // Portage's own reason, when it failed and said why
};

/// How one build is marked and reported while it runs (journal.hpp records both).
struct BuildTracking {
  std::string marker;                                // "KEY=VALUE" in the build's environment
  std::function<void(const ProcessStarted&)> on_start;  // before emerge runs
};

/// True when the tree at `actual` is the `wanted` revision: equal, or `wanted` abbreviates it (7+ characters).
bool revision_matches(const std::string& wanted, const std::string& actual);

class Builder {
 public:
  /// `runner` and `clock` must outlive the builder.
  Builder(BuilderSettings settings, ProcessRunner& runner, const Clock& clock);

  /// The ebuild repository revision the tree was last found at ("" when never checked).
  std::string local_revision() const;
  /// The tree's real revision: `git rev-parse HEAD` in repo_dir, else metadata/timestamp.commit's first word.
  Result<std::string> tree_revision() const;
  /// Makes the tree be at `wanted`: nothing when it is; else runs the sync command (output appended to
  /// `log_file`, SWARM_REPO_REVISION=wanted in its environment) and fails unless the tree then is.
  Status reach_revision(const std::string& wanted, const std::filesystem::path& log_file, const std::atomic<bool>* cancel,
                        const std::string& marker = {});

  /// Builds `atom` (output appended to `log_file`), killing the group at `timeout` or on cancel.
  BuildReport build(const Atom& atom, std::chrono::milliseconds timeout, const std::filesystem::path& log_file,
                    const std::atomic<bool>* cancel, size_t log_tail_bytes, const BuildTracking& tracking = {});

  /// Deletes the empty placeholders a failed build of `atom` left (files Packages does not list).
  int remove_placeholders(const Atom& atom) const;

 private:
  BuilderSettings m_settings;
  ProcessRunner& m_runner;
  const Clock& m_clock;
};

}  // namespace swarm::drone
