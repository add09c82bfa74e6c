#include "support/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "support/test_support.hpp"

extern char** environ;

namespace swarm::test {

namespace fs = std::filesystem;

DaemonProcess::DaemonProcess(fs::path exe, std::vector<std::string> args, fs::path log, std::map<std::string, std::string> env)
    : m_log(std::move(log)) {
  std::vector<std::string> argv_s{exe.string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : merged) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, m_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  int rc = posix_spawn(&m_pid, exe.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + exe.string());
}

DaemonProcess::~DaemonProcess() { kill(); }

void DaemonProcess::signal(int sig) {
  if (m_pid > 0 && !m_status) ::kill(-m_pid, sig);
}

std::optional<int> DaemonProcess::wait(std::chrono::milliseconds deadline) {
  if (m_status) return m_status;
  bool done = wait_for(
      [&] {
        int status = 0;
        pid_t r = waitpid(m_pid, &status, WNOHANG);
        if (r == m_pid) {
          m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        }
        return false;
      },
      deadline);
  if (!done) return std::nullopt;
  return m_status;
}

void DaemonProcess::kill() {
  if (m_pid <= 0 || m_status) return;
  ::kill(-m_pid, SIGKILL);
  wait(std::chrono::seconds(10));
}

bool DaemonProcess::running() {
  if (m_status) return false;
  int status = 0;
  pid_t r = waitpid(m_pid, &status, WNOHANG);
  if (r == m_pid) {
    m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::string DaemonProcess::log_text() const {
  try {
    return read_file(m_log);
  } catch (...) {
    return "";
  }
}

uint16_t wait_for_port_file(const fs::path& port_file, std::chrono::milliseconds deadline) {
  uint16_t port = 0;
  wait_for(
      [&] {
        std::error_code ec;
        if (!fs::exists(port_file, ec)) return false;
        try {
          std::string s = read_file(port_file);
          if (s.empty() || s.back() != '\n') return false;  // written completely, newline last
          port = static_cast<uint16_t>(std::stoi(s));
          return port != 0;
        } catch (...) {
          return false;
        }
      },
      deadline);
  return port;
}

fs::path executable(const std::string& name) {
  if (name == "build-swarm") return binary_dir() / "tools" / "build-swarm" / name;
  std::string dir = name.substr(std::string("swarm-").size());
  return binary_dir() / "src" / dir / name;
}

}  // namespace swarm::test
