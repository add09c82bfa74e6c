#include "drone/leftover_build.hpp"

namespace swarm::drone {

std::string build_marker(const std::string& lease_id) { return "SWARM_BUILD_LEASE=" + lease_id; }

TreeSelector leftover_selector(const JournalEntry& entry) {
  TreeSelector selector;
  selector.marker = build_marker(entry.lease.lease_id);
  if (entry.build_pid > 0 && entry.build_start_ticks > 0) {
    const auto pid = static_cast<pid_t>(entry.build_pid);
    // A pid reused by an unrelated process has another start time: then neither it nor its group is ours.
    if (auto st = read_proc_stat(pid); st && st->start_ticks == entry.build_start_ticks) {
      selector.root = pid;
      selector.root_start = entry.build_start_ticks;
      selector.pgid = pid;
    }
  }
  return selector;
}

int stop_leftover_build(const JournalEntry& entry, std::chrono::milliseconds wait) {
  return kill_process_tree(leftover_selector(entry), wait);
}

}  // namespace swarm::drone
