#pragma once
// DaemonProcess: a real executable started by a test in its own process group, with its output in a
// log file, stopped with a chosen signal. The port is read back from the daemon's --port-file.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace swarm::test {

class DaemonProcess {
 public:
  DaemonProcess(std::filesystem::path exe, std::vector<std::string> args, std::filesystem::path log,
                std::map<std::string, std::string> env = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  /// Sends `sig` to the process group.
  void signal(int sig);
  /// Waits for exit up to `deadline`; the exit status (or 128+signal), nothing on timeout.
  std::optional<int> wait(std::chrono::milliseconds deadline);
  /// SIGKILL and reap.
  void kill();
  bool running();
  pid_t pid() const { return m_pid; }
  std::string log_text() const;

 private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
  std::filesystem::path m_log;
};

/// Waits until `port_file` holds a port number; 0 on timeout.
uint16_t wait_for_port_file(const std::filesystem::path& port_file, std::chrono::milliseconds deadline);
/// Path of a built executable ("swarm-orchestrator" -> build/src/orchestrator/swarm-orchestrator).
std::filesystem::path executable(const std::string& name);

}  // namespace swarm::test
