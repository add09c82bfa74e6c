#pragma once
// Leftover builds: a drone killed with SIGKILL leaves its emerge running. The journal records each
// build's pid and start time before emerge runs, and the build's environment carries a marker, so a
// restarted drone finds and stops what its predecessor left before it builds again in the same PKGDIR.

#include <chrono>
#include <string>

#include "common/process_tree.hpp"
#include "drone/journal.hpp"

namespace swarm::drone {

/// "SWARM_BUILD_LEASE=<lease id>": put in the environment of the lease's sync and build.
std::string build_marker(const std::string& lease_id);

/// The processes of the record's build: its marker, and its pid (with its group) while the pid still
/// names the process that was started (same start time).
TreeSelector leftover_selector(const JournalEntry& entry);

/// Kills what is still alive of the record's build; returns how many processes were killed.
int stop_leftover_build(const JournalEntry& entry, std::chrono::milliseconds wait = std::chrono::seconds(5));

}  // namespace swarm::drone
