#include "common/process_tree.hpp"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>

namespace swarm {

namespace {

// How many freeze rounds to run before killing what was found anyway (each round finds new forks).
constexpr int kMaxFreezeRounds = 50;

bool is_pid_name(const char* name) {
  if (!*name) return false;
  for (const char* c = name; *c; ++c)
    if (*c < '0' || *c > '9') return false;
  return true;
}

// Members of the tree among `all` (zombies included: their children are searched too).
std::vector<ProcStat> members(const TreeSelector& s, const std::vector<ProcStat>& all) {
  const pid_t self = ::getpid();
  const pid_t own_group = ::getpgrp();
  const pid_t group = s.pgid == own_group ? 0 : s.pgid;  // never our own group
  std::set<pid_t> in;
  for (const auto& p : all) {
    if (p.pid == self || p.pid == 1) continue;
    const bool root = s.root > 0 && p.pid == s.root && (s.root_start == 0 || p.start_ticks == s.root_start);
    const bool grouped = group > 0 && p.pgrp == group;
    if (root || grouped || (!s.marker.empty() && !p.zombie() && environ_has(p.pid, s.marker))) in.insert(p.pid);
  }
  // Descendants, whatever their group or session: a parent that is still alive keeps them findable.
  for (bool grew = !in.empty(); grew;) {
    grew = false;
    for (const auto& p : all) {
      if (p.pid == self || p.pid == 1 || in.count(p.pid) || !in.count(p.ppid)) continue;
      in.insert(p.pid);
      grew = true;
    }
  }
  std::vector<ProcStat> out;
  for (const auto& p : all)
    if (in.count(p.pid)) out.push_back(p);
  return out;
}

}  // namespace

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  ProcStat s;
  s.pid = pid;
  long ppid = 0, pgrp = 0, session = 0;
  unsigned long long start = 0;
  // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  // priority nice num_threads itrealvalue starttime
  if (std::sscanf(line.c_str() + close + 1,
                  " %c %ld %ld %ld %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &s.state, &ppid,
                  &pgrp, &session, &start) != 5)
    return std::nullopt;
  s.ppid = static_cast<pid_t>(ppid);
  s.pgrp = static_cast<pid_t>(pgrp);
  s.session = static_cast<pid_t>(session);
  s.start_ticks = start;
  return s;
}

std::vector<ProcStat> list_processes() {
  std::vector<ProcStat> out;
  DIR* dir = ::opendir("/proc");
  if (!dir) return out;
  while (dirent* ent = ::readdir(dir)) {
    if (!is_pid_name(ent->d_name)) continue;
    if (auto s = read_proc_stat(static_cast<pid_t>(std::atol(ent->d_name)))) out.push_back(*s);
  }
  ::closedir(dir);
  return out;
}

bool environ_has(pid_t pid, std::string_view entry) {
  if (entry.empty()) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  if (!in) return false;
  const std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  while (pos < env.size()) {
    size_t end = env.find('\0', pos);
    if (end == std::string::npos) end = env.size();
    if (std::string_view(env).substr(pos, end - pos) == entry) return true;
    pos = end + 1;
  }
  return false;
}

std::vector<pid_t> find_process_tree(const TreeSelector& selector) {
  std::vector<pid_t> out;
  for (const auto& p : members(selector, list_processes()))
    if (!p.zombie()) out.push_back(p.pid);
  return out;
}

int signal_process_tree(const TreeSelector& selector, int sig) {
  int n = 0;
  for (pid_t pid : find_process_tree(selector))
    if (::kill(pid, sig) == 0) ++n;
  return n;
}

int kill_process_tree(const TreeSelector& selector, std::chrono::milliseconds wait) {
  // Real time on purpose: real processes are dying, and a frozen test clock must not make this spin forever.
  const auto until = std::chrono::steady_clock::now() + wait;
  std::set<pid_t> killed;
  while (true) {
    // Frozen processes cannot fork: repeat until a round finds nobody new, so no child escapes the kill.
    std::set<pid_t> frozen;
    for (int round = 0; round < kMaxFreezeRounds; ++round) {
      bool fresh = false;
      for (pid_t pid : find_process_tree(selector)) {
        if (!frozen.insert(pid).second) continue;
        ::kill(pid, SIGSTOP);
        fresh = true;
      }
      if (!fresh) break;
    }
    for (pid_t pid : frozen)
      if (::kill(pid, SIGKILL) == 0) killed.insert(pid);
    if (frozen.empty() || std::chrono::steady_clock::now() >= until) break;
    ::poll(nullptr, 0, 10);
  }
  return static_cast<int>(killed.size());
}

}  // namespace swarm
