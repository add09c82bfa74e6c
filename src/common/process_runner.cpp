#include "common/process_runner.hpp"

#include "common/process_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <system_error>

extern char** environ;

namespace swarm {

namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// The cancel flag and the deadlines are looked at least this often.
constexpr milliseconds kPollInterval{50};
// How long to wait for killed leftovers of the group to die before giving up on them.
constexpr milliseconds kGroupGoneWait{2000};

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : m_fd(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return m_fd; }
  void reset(int fd = -1) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = fd;
  }

 private:
  int m_fd;
};

// Opens with O_CLOEXEC and moves the fd to 3 or above, so dup2 onto 0/1/2 in the child never aliases.
int open_high(const char* path, int flags, mode_t mode) {
  int fd = ::open(path, flags | O_CLOEXEC, mode);
  if (fd < 0 || fd >= 3) return fd;
  int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return high;
}

// The child's environment as "KEY=VALUE" strings.
Result<std::vector<std::string>> build_environment(const ProcessSpec& spec, const std::string& marker) {
  std::set<std::string> drop(spec.env_unset.begin(), spec.env_unset.end());
  const size_t eq = marker.find('=');
  if (eq == 0 || eq == std::string::npos || marker.find('\0') != std::string::npos)
    return make_error(ErrorKind::invalid, "invalid process marker '" + marker + "'");
  drop.insert(marker.substr(0, eq));
  for (const auto& [key, value] : spec.env_set) {
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos ||
        value.find('\0') != std::string::npos)
      return make_error(ErrorKind::invalid, "invalid environment variable '" + key + "'");
    drop.insert(key);
  }
  std::vector<std::string> env;
  if (!spec.clear_env) {
    for (char** e = environ; e && *e; ++e) {
      std::string entry(*e);
      if (!drop.count(entry.substr(0, entry.find('=')))) env.push_back(std::move(entry));
    }
  }
  for (const auto& [key, value] : spec.env_set)
    if (key != marker.substr(0, eq)) env.push_back(key + "=" + value);
  env.push_back(marker);
  return env;
}

// Finds argv[0] the way execvp would, but in the parent (execvp is not async-signal-safe).
Result<std::string> resolve_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.empty()) return make_error(ErrorKind::invalid, "empty program name");
  if (name.find('/') != std::string::npos) return name;
  std::string path_var = "/usr/local/bin:/usr/bin:/bin";
  bool found_path = false;
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) {
      path_var = e.substr(5);
      found_path = true;
    }
  }
  if (!found_path)
    if (const char* p = std::getenv("PATH")) path_var = p;
  int last_error = ENOENT;
  size_t pos = 0;
  while (pos <= path_var.size()) {
    size_t end = path_var.find(':', pos);
    if (end == std::string::npos) end = path_var.size();
    std::string dir = path_var.substr(pos, end - pos);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      last_error = EACCES;
    }
    pos = end + 1;
  }
  return make_error(ErrorKind::not_found, name + ": " + errno_text(last_error));
}

// What the child reports through the close-on-exec pipe when it cannot exec.
struct ChildFailure {
  int stage;  // 0 = dup2, 1 = chdir, 2 = exec, 3 = the caller went away before saying go
  int err;
};

// A marker no other run of any process shares.
std::string unique_marker() {
  static std::atomic<uint64_t> counter{0};
  return "SWARM_PROCESS_TREE=" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

[[noreturn]] void child_fail(int fd, int stage) {
  ChildFailure f{stage, errno};
  ssize_t n = ::write(fd, &f, sizeof f);
  (void)n;
  ::_exit(127);
}

// Only async-signal-safe calls from here: the parent may have other threads.
[[noreturn]] void exec_child(int go_fd, int go_write_fd, int in_fd, int out_fd, int err_fd, const char* cwd, const char* program,
                             char* const* argv, char* const* envp, int max_fd) {
  ::setpgid(0, 0);
  // Wait until the caller has recorded who we are; end at once if it died meanwhile.
  ::close(go_write_fd);
  char go = 0;
  ssize_t got;
  do {
    got = ::read(go_fd, &go, 1);
  } while (got < 0 && errno == EINTR);
  if (got != 1) {
    errno = 0;
    child_fail(err_fd, 3);
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);  // undo the caller's SIG_IGN (SIGPIPE)
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) child_fail(err_fd, 0);
  if (cwd && ::chdir(cwd) != 0) child_fail(err_fd, 1);
  if (::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0) {
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  ::execve(program, argv, envp);
  child_fail(err_fd, 2);
}

// Waits up to `wait` for the child to exit, leaving it unreaped so its pid (= pgid) stays ours.
bool wait_exit(int pidfd, pid_t pid, milliseconds wait) {
  int ms = static_cast<int>(std::max<long long>(0, wait.count()));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, ms);
    return r > 0;
  }
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid)
    return true;
  ::poll(nullptr, 0, std::min(ms, 10));
  return false;
}

}  // namespace

ProcessRunner::~ProcessRunner() = default;

PosixProcessRunner::PosixProcessRunner(std::shared_ptr<Clock> clock) : m_clock(std::move(clock)) {}

ProcessResult PosixProcessRunner::run(const ProcessSpec& spec, const std::atomic<bool>* cancel) {
  ProcessResult result;
  const SteadyTime start = m_clock->now_steady();
  if (spec.argv.empty()) {
    result.error = "empty argv";
    return result;
  }
  const std::string marker = spec.marker.empty() ? unique_marker() : spec.marker;
  auto env = build_environment(spec, marker);
  if (!env) {
    result.error = env.error().message;
    return result;
  }
  auto program = resolve_program(spec.argv[0], *env);
  if (!program) {
    result.error = program.error().message;
    return result;
  }

  std::string out_path = spec.output_file.empty() ? "/dev/null" : spec.output_file.string();
  UniqueFd out_fd(open_high(out_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644));
  if (out_fd.get() < 0) {
    result.error = "cannot open " + out_path + ": " + errno_text(errno);
    return result;
  }
  UniqueFd in_fd(open_high("/dev/null", O_RDONLY, 0));
  if (in_fd.get() < 0) {
    result.error = "cannot open /dev/null: " + errno_text(errno);
    return result;
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.error = "pipe: " + errno_text(errno);
    return result;
  }
  UniqueFd err_read(pipe_fds[0]);
  UniqueFd err_write(pipe_fds[1]);
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.error = "pipe: " + errno_text(errno);
    return result;
  }
  UniqueFd go_read(pipe_fds[0]);
  UniqueFd go_write(pipe_fds[1]);

  // Everything the child needs is built before fork: it may not allocate.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : *env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string cwd = spec.cwd.string();
  long open_max = ::sysconf(_SC_OPEN_MAX);
  int max_fd = static_cast<int>(std::clamp<long>(open_max, 256, 65536));

  pid_t pid = ::fork();
  if (pid < 0) {
    result.error = "fork: " + errno_text(errno);
    return result;
  }
  if (pid == 0)
    exec_child(go_read.get(), go_write.get(), in_fd.get(), out_fd.get(), err_write.get(), cwd.empty() ? nullptr : cwd.c_str(), program->c_str(),
               argv.data(), envp.data(), max_fd);

  // Also set here, so the group exists before we might signal it (EACCES once it has exec'd is fine).
  ::setpgid(pid, pid);
  const pid_t pgid = pid;
  err_write.reset();
  go_read.reset();
  in_fd.reset();
  out_fd.reset();
  const TreeSelector tree{pid, 0, pgid, marker};
  if (spec.on_start) {
    ProcessStarted started;
    started.pid = pid;
    if (auto st = read_proc_stat(pid)) started.start_ticks = st->start_ticks;
    try {
      spec.on_start(started);
    } catch (...) {
      // A failed record must not leave the child waiting forever: it runs, and is still killed as usual.
    }
  }
  {
    const char go = 1;
    ssize_t w;
    do {
      w = ::write(go_write.get(), &go, 1);
    } while (w < 0 && errno == EINTR);
    go_write.reset();
  }

  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(err_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const std::string what = failure.stage == 0   ? std::string("redirect output")
                             : failure.stage == 1 ? "chdir to " + cwd
                             : failure.stage == 3 ? std::string("start: no go from the caller")
                                                  : "execute " + *program;
    result.error = "cannot " + what + ": " + errno_text(failure.err);
    result.duration = std::chrono::duration_cast<milliseconds>(m_clock->now_steady() - start);
    return result;
  }
  result.started = true;

#ifdef SYS_pidfd_open
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
#else
  UniqueFd pidfd(-1);
#endif

  const bool has_deadline = spec.timeout.count() > 0;
  const SteadyTime deadline = start + spec.timeout;
  bool terminating = false;
  bool killed = false;
  SteadyTime kill_at{};
  milliseconds wait = kPollInterval;
  while (!wait_exit(pidfd.get(), pid, wait)) {
    const SteadyTime now = m_clock->now_steady();
    if (!terminating) {
      const bool cancel_now = cancel && cancel->load();
      const bool expired = has_deadline && now >= deadline;
      if (cancel_now || expired) {
        result.cancelled = cancel_now && !expired;
        result.timed_out = expired;
        ::kill(-pgid, SIGTERM);
        signal_process_tree(tree, SIGTERM);
        terminating = true;
        kill_at = now + spec.kill_grace;
      }
    }
    if (terminating && !killed && m_clock->now_steady() >= kill_at) {
      kill_process_tree(tree, kGroupGoneWait);
      killed = true;
    }
    // Sleep until the next thing to look at, never longer than the poll interval.
    wait = kPollInterval;
    const SteadyTime after = m_clock->now_steady();
    if (!terminating && has_deadline) wait = std::min(wait, std::chrono::duration_cast<milliseconds>(deadline - after));
    if (terminating && !killed) wait = std::min(wait, std::chrono::duration_cast<milliseconds>(kill_at - after));
    wait = std::max(wait, milliseconds(1));
  }

  // The leader is a zombie now, so neither its pid nor the pgid can be reused while we sweep the tree.
  kill_process_tree(tree, kGroupGoneWait);
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  result.duration = std::chrono::duration_cast<milliseconds>(m_clock->now_steady() - start);
  result.max_rss_kb = usage.ru_maxrss;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    result.signal = 0;
  } else if (WIFSIGNALED(status)) {
    result.exit_code = -1;
    result.signal = WTERMSIG(status);
  }
  return result;
}

std::string tail_of_file(const std::filesystem::path& path, size_t max_bytes) {
  if (max_bytes == 0) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size <= 0) return {};
  const std::streamoff want = static_cast<std::streamoff>(std::min<unsigned long long>(max_bytes, size));
  // One byte before the window tells whether the window already starts a line.
  const std::streamoff from = size - want;
  const std::streamoff read_from = from > 0 ? from - 1 : 0;
  std::string data(static_cast<size_t>(size - read_from), '\0');
  in.seekg(read_from);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (from == 0) return data;
  const bool at_line_start = !data.empty() && data[0] == '\n';
  data.erase(0, 1);
  if (at_line_start) return data;
  size_t nl = data.find('\n');
  // A window inside one huge line: better its end than nothing.
  if (nl == std::string::npos || nl + 1 == data.size()) return data;
  return data.substr(nl + 1);
}

namespace {
std::string seconds_text(milliseconds d) {
  long long ms = d.count();
  if (ms >= 10'000 || ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + "s";
}
}  // namespace

std::string describe(const ProcessResult& result) {
  if (!result.started) return "failed to start: " + result.error;
  if (result.timed_out) return "timed out after " + seconds_text(result.duration);
  if (result.cancelled) return "cancelled after " + seconds_text(result.duration);
  if (result.signal != 0) return "killed by signal " + std::to_string(result.signal);
  return "exit " + std::to_string(result.exit_code);
}

}  // namespace swarm
