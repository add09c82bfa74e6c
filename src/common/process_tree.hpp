#pragma once
// Process trees as /proc shows them: finding every process of a build, including those that left its
// process group or session (setsid, as Portage's pid-ns-init does) or were reparented after their
// parent died, and killing them all (frozen with SIGSTOP first so none forks away meanwhile).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm {

/// The fields of /proc/PID/stat a tree walk needs.
struct ProcStat {
  pid_t pid = 0;
  char state = '?';  // R, S, D, T, Z, ...
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  uint64_t start_ticks = 0;  // field 22: start time after boot, in clock ticks (guards against pid reuse)
  bool zombie() const { return state == 'Z' || state == 'X'; }
};

/// /proc/PID/stat of one process; nullopt when it is gone.
std::optional<ProcStat> read_proc_stat(pid_t pid);
/// Every process /proc lists now.
std::vector<ProcStat> list_processes();
/// True when /proc/PID/environ holds exactly `entry` ("KEY=VALUE"); false when unreadable.
bool environ_has(pid_t pid, std::string_view entry);

/// What belongs to a tree: any of the roots below, and every descendant of a member.
struct TreeSelector {
  pid_t root = 0;            // a process and its descendants; 0: none
  uint64_t root_start = 0;   // when set, `root` counts only while its start time matches
  pid_t pgid = 0;            // every member of this process group; 0: none
  std::string marker;        // every process whose environment holds this "KEY=VALUE"; empty: none
};

/// The live (non-zombie) processes the selector names now, never this process or pid 1.
std::vector<pid_t> find_process_tree(const TreeSelector& selector);

/// Sends `sig` to every live process of the tree once; returns how many were signalled.
int signal_process_tree(const TreeSelector& selector, int sig);

/// Freezes every process of the tree with SIGSTOP (again until no new one appears), then SIGKILLs
/// them, repeating until none is alive or `wait` has passed. Returns how many were killed.
int kill_process_tree(const TreeSelector& selector, std::chrono::milliseconds wait);

}  // namespace swarm
