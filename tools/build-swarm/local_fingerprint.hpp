#pragma once
// This machine's configuration fingerprint, for `build-swarm fingerprint` and `submit --fingerprint`:
// emerge --info parsed, -march=native resolved with the compiler, /etc/portage hashed.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/fingerprint.hpp"
#include "common/result.hpp"

namespace swarm {
class ProcessRunner;
}

namespace swarm::cli {

struct FingerprintSource {
  std::string emerge_info_command = "emerge --info";  // split on blanks, quotes honoured, no shell
  std::filesystem::path portage_dir = "/etc/portage";
  std::string compiler = "gcc";                // resolves -march=native
  std::chrono::milliseconds timeout{120'000};  // emerge --info reads the whole tree
};

/// Splits a command line into argv: blanks separate words, '...' and "..." group them; invalid for an
/// unterminated quote or an empty command.
Result<std::vector<std::string>> split_command(const std::string& command);

/// Runs the emerge --info command and builds the fingerprint the drones build for themselves;
/// io/timeout when the command fails, invalid when its output is not emerge --info output.
Result<Fingerprint> local_fingerprint(ProcessRunner& runner, const FingerprintSource& source);

}  // namespace swarm::cli
