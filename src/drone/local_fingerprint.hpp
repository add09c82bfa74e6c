#pragma once
// The drone's configuration fingerprint: emerge --info, -march=native resolved by the compiler, and
// a hash of the Portage configuration directory.

#include <chrono>
#include <filesystem>
#include <string>

#include "common/fingerprint.hpp"
#include "common/process_runner.hpp"

namespace swarm::drone {

/// Key set when emerge --info could not be run or read: the drone then matches no run and gets no work.
inline constexpr const char* kFingerprintErrorKey = "FINGERPRINT_ERROR";

struct FingerprintSources {
  std::string emerge_info_command = "emerge --info";
  std::string compiler = "gcc";
  std::filesystem::path portage_dir = "/etc/portage";
  std::chrono::milliseconds timeout{120'000};
};

/// Computes the fingerprint; never fails: problems are recorded under kFingerprintErrorKey.
Fingerprint collect_fingerprint(ProcessRunner& runner, const FingerprintSources& sources,
                                const std::filesystem::path& scratch_dir);

}  // namespace swarm::drone
