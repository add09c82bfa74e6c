#pragma once
// What /proc says about processes, for tests that check what a kill left behind.

#include <sys/types.h>

#include <vector>

namespace swarm::test {

/// One process as /proc/<pid>/stat shows it.
struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  char state = 0;  // 'R', 'S', 'Z', ...
};

/// Every process visible in /proc.
std::vector<ProcInfo> all_processes();

/// Gone, or a zombie: a zombie runs nothing, and this container's init does not reap orphans.
bool process_gone(pid_t pid);

/// The processes of group `pgid` that are not zombies.
std::vector<pid_t> live_group_members(pid_t pgid);

}  // namespace swarm::test
