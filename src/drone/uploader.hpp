#pragma once
// Uploader: one rsync-over-SSH run putting files into the lease's staging directory on the
// orchestrator (design.md "Accepting a binary", step 1). Retries are the caller's business.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/messages.hpp"
#include "common/process_runner.hpp"
#include "common/result.hpp"

namespace swarm::drone {

struct UploadSettings {
  std::filesystem::path key;          // ssh -i
  std::filesystem::path known_hosts;  // pinned host keys (StrictHostKeyChecking=yes)
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds alive_interval{5'000};
  std::chrono::milliseconds stall_timeout{60'000};     // rsync --timeout
  std::chrono::milliseconds overall_timeout{3'600'000};
  std::chrono::milliseconds kill_grace{2'000};
  std::string rsync_program = "rsync";
};

/// Refuses a host, user or path that could be read as an option or escape the staging root.
Status check_upload_target(const UploadTarget& target);

/// rsync --relative --timeout=S -e "ssh ..." SOURCES... USER@HOST:PATH/ (sources are relative to the
/// working directory, e.g. ./CATEGORY/PN/FILE, or use rsync's /./ marker).
std::vector<std::string> rsync_argv(const UploadSettings& settings, const UploadTarget& target,
                                    const std::vector<std::string>& sources);

class Uploader {
 public:
  Uploader(ProcessRunner& runner, UploadSettings settings);

  /// Runs one upload from `cwd`, rsync's output appended to `transcript`. Errors: invalid (bad target),
  /// timeout (overall timeout), conflict (cancelled), io (rsync failed: its exit and output tail).
  Status upload(const std::filesystem::path& cwd, const std::vector<std::string>& sources, const UploadTarget& target,
                const std::filesystem::path& transcript, const std::atomic<bool>* cancel) const;

  const UploadSettings& settings() const { return m_settings; }

 private:
  ProcessRunner& m_runner;
  UploadSettings m_settings;
};

}  // namespace swarm::drone
