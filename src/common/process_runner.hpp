#pragma once
// ProcessRunner: runs one external command (argv, no shell) in its own process group, with output
// to a file, a timeout and a cancel flag. An interface so callers can be tested with a fake.
// Killing reaches the whole tree (process_tree.hpp): the group, every descendant and every process
// carrying the run's marker variable, even those that called setsid() or were reparented.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace swarm {

/// The started child, reported before it executes the program.
struct ProcessStarted {
  int pid = 0;               // also its process group id
  uint64_t start_ticks = 0;  // /proc/PID/stat start time: tells the process from a later one with its pid
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it holds no '/'
  std::filesystem::path cwd;      // empty = the caller's working directory
  std::map<std::string, std::string> env_set;
  std::vector<std::string> env_unset;
  bool clear_env = false;              // start from an empty environment, then apply env_set
  std::filesystem::path output_file;   // stdout+stderr appended; empty = /dev/null
  std::chrono::milliseconds timeout{0};       // 0 = none
  std::chrono::milliseconds kill_grace{5000};  // SIGTERM to the tree, then SIGKILL after this
  // "KEY=VALUE" added to the environment; every process carrying it is part of the tree (it survives
  // setsid and reparenting). Empty: a unique SWARM_PROCESS_TREE=... is used.
  std::string marker;
  // Called in the caller after fork, while the child waits: the program runs only once it returns.
  std::function<void(const ProcessStarted&)> on_start;
};

struct ProcessResult {
  bool started = false;
  int exit_code = -1;  // -1 if signalled or not started
  int signal = 0;      // 0 if exited
  bool timed_out = false;
  bool cancelled = false;  // stopped because the cancel flag turned true
  std::chrono::milliseconds duration{0};
  // Peak resident memory from the child's wait4 rusage (its waited-for children included). Linux
  // counts the forked copy of the caller before exec too, so it is never below the caller's own
  // resident size at the fork (a few MB for the daemons; irrelevant next to a compiler's peak).
  long max_rss_kb = 0;
  std::string error;    // why it did not start, empty otherwise

  /// True when the command ran to completion and exited 0.
  bool success() const { return started && !timed_out && !cancelled && signal == 0 && exit_code == 0; }
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner();
  /// Runs spec to the end (or to timeout/cancel, killing its whole tree); never throws. Leftovers of
  /// the tree still alive when the program exits are killed too.
  virtual ProcessResult run(const ProcessSpec& spec, const std::atomic<bool>* cancel = nullptr) = 0;
};

/// fork+exec on POSIX; waits on a pidfd with poll(), polling `cancel` every 50 ms at most.
class PosixProcessRunner final : public ProcessRunner {
 public:
  explicit PosixProcessRunner(std::shared_ptr<Clock> clock = system_clock());
  ProcessResult run(const ProcessSpec& spec, const std::atomic<bool>* cancel = nullptr) override;

 private:
  std::shared_ptr<Clock> m_clock;
};

/// The last max_bytes (at most) of a file, starting at a line start; "" if it cannot be read.
std::string tail_of_file(const std::filesystem::path& path, size_t max_bytes);

/// One phrase for logs and reports: "exit 1", "killed by signal 9", "timed out after 30s".
std::string describe(const ProcessResult& result);

}  // namespace swarm
