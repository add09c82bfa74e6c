#include "support/processes.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace swarm::test {

namespace fs = std::filesystem;

std::vector<ProcInfo> all_processes() {
  std::vector<ProcInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;  // it just exited
    // After "PID (COMM) ": STATE PPID PGRP ...; COMM may hold anything, so look for the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    ProcInfo p;
    p.pid = static_cast<pid_t>(std::stol(name));
    long ppid = 0, pgid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld %ld", &p.state, &ppid, &pgid) != 3) continue;
    p.ppid = static_cast<pid_t>(ppid);
    p.pgid = static_cast<pid_t>(pgid);
    out.push_back(p);
  }
  return out;
}

bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return true;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

std::vector<pid_t> live_group_members(pid_t pgid) {
  std::vector<pid_t> out;
  for (const auto& p : all_processes())
    if (p.pgid == pgid && p.state != 'Z') out.push_back(p.pid);
  return out;
}

}  // namespace swarm::test
