// The real swarm-drone process killed and stopped at chosen moments, next to the real gateway,
// orchestrator, sshd (rrsync) and the stand-in emerge: kill -9 after the upload and after the build,
// SIGTERM mid-build, a second SIGTERM, SIGKILL leaving a lease the orchestrator reclaims, and SIGKILL
// mid-build leaving emerge (and a setsid'd grandchild) running, which the restarted drone kills first.
// Checked from views the drone does not control: the stand-in's ledger and argv log, the
// orchestrator's queue, the staging directory, /proc.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "common/packages_index.hpp"
#include "common/process_tree.hpp"
#include "integration/swarm_fixture.hpp"
#include "support/processes.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using Env = std::map<std::string, std::string>;

// Lines of `file` naming `atom` as a whole word (the ledger and the argv log).
size_t count_atom(const fs::path& file, const std::string& atom) {
  size_t n = 0;
  for (const auto& l : lines_of(file))
    if ((" " + l + " ").find(" " + atom + " ") != std::string::npos) ++n;
  return n;
}

size_t builds(const Swarm& s, const std::string& atom) { return count_atom(s.dir / "ledger", atom); }
size_t emerge_calls(const Swarm& s, const std::string& atom) { return count_atom(s.dir / "argv.log", atom); }

// Queues `atoms` through the gateway, once it has seen the orchestrator (503 until its first poll).
bool submit(const Swarm& s, const std::vector<std::string>& atoms) {
  std::string last;
  bool ok = wait_for(
      [&] {
        auto r = s.admin().post_json("/api/v1/queue", {{"atoms", atoms}});
        last = r ? std::to_string(r->status) + " " + r->body : r.error().message;
        return r && r->status != 503;
      },
      20s);
  EXPECT_TRUE(ok && last.starts_with("200 ")) << last;
  return ok && last.starts_with("200 ");
}

// The orchestrator's state for `atom` ("" when unknown or unreachable). Never call it while the
// orchestrator is stopped.
std::string request_state(const Swarm& s, const std::string& atom) {
  HttpClientOptions o;
  o.total_timeout = 3s;
  auto q = HttpClient(s.orch_url, o).get("/api/v1/queue");
  if (!q || q->status != 200) return "";
  auto list = q->json();
  if (!list) return "";
  for (const auto& e : *list)
    if (e.value("atom", "") == atom) return e.value("state", "");
  return "";
}

// Stages of the drone's journal records, read as stored on disk.
std::vector<std::string> journal_stages(const Swarm& s) {
  std::vector<std::string> stages;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(s.dir / "d1-work" / "journal", ec)) {
    if (e.path().extension() != ".json") continue;
    json j = json::parse(read_file(e.path()), nullptr, false);
    stages.push_back(j.is_object() ? j.value("stage", "?") : "?");
  }
  return stages;
}
bool journal_at(const Swarm& s, const std::string& stage) {
  return journal_stages(s) == std::vector<std::string>{stage};
}

// Finished uploads of binaries in the orchestrator's staging root (rsync's dot-temp files excluded).
size_t staged_binaries(const Swarm& s) {
  size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(s.dir / "orch" / "staging", ec), end; it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file() && name.ends_with(".gpkg.tar") && name[0] != '.') ++n;
  }
  return n;
}

size_t local_binaries(const Swarm& s) {
  size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(s.dir / "d1-pkgdir", ec), end; it != end; it.increment(ec))
    if (it->is_regular_file() && it->path().string().ends_with(".gpkg.tar") && fs::file_size(it->path()) > 0) ++n;
  return n;
}

// --- /proc ------------------------------------------------------------------------------------

// Alive: exists and is not a zombie waiting to be reaped.
bool alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  for (const auto& p : all_processes())
    if (p.pid == pid) return p.state != 'Z';
  return false;
}

pid_t pgid_of(pid_t pid) {
  for (const auto& p : all_processes())
    if (p.pid == pid) return p.pgid;
  return 0;
}

// The process groups of everything below `root` (the drone puts emerge and rsync in their own groups).
std::set<pid_t> descendant_groups(pid_t root) {
  auto procs = all_processes();
  std::vector<pid_t> tree{root};
  for (size_t i = 0; i < tree.size(); ++i)
    for (const auto& p : procs)
      if (p.ppid == tree[i]) tree.push_back(p.pid);
  std::set<pid_t> groups;
  for (const auto& p : procs)
    if (std::find(tree.begin() + 1, tree.end(), p.pid) != tree.end() && p.pgid != root) groups.insert(p.pgid);
  return groups;
}

// kill -9 of the drone as a crashed machine sees it: frozen first (it cannot fork any more), then the
// drone and the process groups it started (emerge, rsync) die together. Returns those groups.
std::set<pid_t> kill_drone_hard(Swarm& s) {
  s.drone->signal(SIGSTOP);
  std::set<pid_t> groups = descendant_groups(s.drone->pid());
  s.drone->kill();
  for (pid_t g : groups) ::kill(-g, SIGKILL);
  return groups;
}

// SIGCONT for a stopped process on every way out of a test, so the fixture can stop it.
class Resume {
 public:
  explicit Resume(std::function<void()> cont) : m_cont(std::move(cont)) {}
  ~Resume() { now(); }
  void now() {
    if (m_cont) m_cont();
    m_cont = nullptr;
  }

 private:
  std::function<void()> m_cont;
};

// The orchestrator again on the same port and data, with `extra` flags (the fixture has no way to pass them).
void restart_orchestrator(Swarm& s, const std::vector<std::string>& extra) {
  s.orchestrator->signal(SIGTERM);
  ASSERT_TRUE(s.orchestrator->wait(15s).has_value());
  const std::string port = s.orch_url.substr(s.orch_url.rfind(':') + 1);
  fs::remove(s.dir / "orch.port");
  std::vector<std::string> args{"--listen", "127.0.0.1:" + port, "--port-file", (s.dir / "orch.port").string(),
                                "--data-dir", (s.dir / "orch").string(), "--gateway", s.gateway_url, "--name", "orch",
                                "--upload-host", "127.0.0.1", "--upload-port", std::to_string(s.sshd->port()),
                                "--upload-user", s.sshd->user(), "--maintenance-interval", "1", "--config", "/dev/null"};
  args.insert(args.end(), extra.begin(), extra.end());
  s.orchestrator = std::make_unique<DaemonProcess>(executable("swarm-orchestrator"), args, s.dir / "orchestrator-2.log");
  ASSERT_NE(wait_for_port_file(s.dir / "orch.port", 20s), 0) << s.orchestrator->log_text();
}

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// --- the leftover build ------------------------------------------------------------------------

// A process as first seen: a later check counts it only while its start time is the same (no pid reuse).
struct Seen {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
};
bool still_running(const Seen& p) {
  auto st = read_proc_stat(p.pid);
  return st && !st->zombie() && st->start_ticks == p.start_ticks;
}

// The stand-in emerges building `atom` now (not zombies), without their own subshells: the processes
// running fake-emerge for the atom whose parent is not one of them.
std::vector<pid_t> emerges_of(const std::string& atom) {
  std::map<pid_t, pid_t> found;  // pid -> ppid
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string arg;
    bool stand_in = false, for_atom = false;
    while (std::getline(in, arg, '\0')) {
      stand_in = stand_in || arg.ends_with("/fake-emerge");
      for_atom = for_atom || arg == atom;
    }
    if (!stand_in || !for_atom) continue;
    auto st = read_proc_stat(static_cast<pid_t>(std::stol(name)));
    if (st && !st->zombie()) found[st->pid] = st->ppid;
  }
  std::vector<pid_t> roots;
  for (const auto& [pid, ppid] : found)
    if (!found.contains(ppid)) roots.push_back(pid);
  return roots;
}

// Watches /proc on its own thread for the whole test: the most stand-in emerges for one atom seen at once.
class EmergeWatch {
 public:
  explicit EmergeWatch(std::string atom)
      : m_thread([this, atom = std::move(atom)](std::stop_token stop) {
          while (!stop.stop_requested()) {
            auto now = emerges_of(atom);
            {
              std::lock_guard lock(m_mutex);
              if (now.size() > m_most.size()) m_most = now;
              m_all.insert(now.begin(), now.end());
            }
            std::this_thread::sleep_for(5ms);
          }
        }) {}
  std::vector<pid_t> most() {
    std::lock_guard lock(m_mutex);
    return m_most;
  }
  size_t distinct() {
    std::lock_guard lock(m_mutex);
    return m_all.size();
  }

 private:
  std::mutex m_mutex;
  std::vector<pid_t> m_most;
  std::set<pid_t> m_all;
  std::jthread m_thread;  // last: stopped and joined before the members it uses go
};

// Sourced by every non-interactive bash of the drone's builds (BASH_ENV) before its script runs: in the
// stand-in emerge building `atom`, and nowhere else, it appends one line to `starts` at the very start
// of the build: "<time> <own pid> alive=<pids of `watched` still running> others=<other stand-in
// emerges for the atom>". `watched` holds "PID START_TICKS" lines (absent: nothing watched). Builtins
// only, so the emerge has no child of its own while it looks.
std::string start_hook(const std::string& atom, const fs::path& watched, const fs::path& starts) {
  return R"(if [[ ${0##*/} == fake-emerge && " $* " == *" )" + atom + R"( "* ]]; then
  __hook_alive="" __hook_others=""
  if [[ -r ')" + watched.string() + R"(' ]]; then
    while read -r __hook_pid __hook_ticks; do
      { read -r __hook_stat <"/proc/$__hook_pid/stat"; } 2>/dev/null || continue
      read -r -a __hook_f <<<"${__hook_stat##*) }"
      [[ ${__hook_f[0]} != [ZX] && ${__hook_f[19]} == "$__hook_ticks" ]] && __hook_alive+=",$__hook_pid"
    done <')" + watched.string() + R"('
  fi
  for __hook_dir in /proc/[0-9]*; do
    [[ ${__hook_dir#/proc/} == "$$" ]] && continue
    { mapfile -d '' -t __hook_argv <"$__hook_dir/cmdline"; } 2>/dev/null || continue
    [[ " ${__hook_argv[*]} " == *"/fake-emerge "* && " ${__hook_argv[*]} " == *" )" + atom + R"( "* ]] || continue
    { read -r __hook_stat <"$__hook_dir/stat"; } 2>/dev/null || continue
    read -r -a __hook_f <<<"${__hook_stat##*) }"
    [[ ${__hook_f[0]} != [ZX] ]] && __hook_others+=",${__hook_dir#/proc/}"
  done
  printf '%s %s alive=%s others=%s\n' "$EPOCHREALTIME" "$$" "${__hook_alive#,}" "${__hook_others#,}" >>')" +
         starts.string() + R"('
  unset __hook_alive __hook_others __hook_pid __hook_ticks __hook_stat __hook_f __hook_dir __hook_argv
fi
)";
}

// --- tests --------------------------------------------------------------------------------------

TEST(DroneProcess, KillNineAfterUploadBeforeCompletion) {
  const std::string atom = "=dev-libs/journal-1.0";
  Swarm s(Env{{"FAKE_EMERGE_SLEEP", "1"}});
  ASSERT_TRUE(submit(s, {atom}));
  ASSERT_TRUE(wait_for([&] { return emerge_calls(s, atom) == 1; }, 60s)) << s.logs();
  // Frozen while the build runs: the upload goes to sshd, but the completion can get no answer.
  s.orchestrator->signal(SIGSTOP);
  Resume orchestrator([&] { s.orchestrator->signal(SIGCONT); });
  ASSERT_TRUE(wait_for([&] { return journal_at(s, "completion_sent") && staged_binaries(s) == 1; }, 30s))
      << testing::PrintToString(journal_stages(s)) << "\n" << s.logs();
  kill_drone_hard(s);
  EXPECT_TRUE(journal_at(s, "completion_sent"));
  EXPECT_EQ(local_binaries(s), 1u) << "the local copy stays until the completion is answered";
  orchestrator.now();

  s.start_drone();
  ASSERT_TRUE(wait_for([&] { return request_state(s, atom) == "published"; }, 60s)) << s.logs();
  EXPECT_EQ(builds(s, atom), 1u) << "no rebuild";
  EXPECT_EQ(emerge_calls(s, atom), 1u);
  // The record goes first, then the drone logs the answer.
  ASSERT_TRUE(wait_for(
      [&] {
        return journal_stages(s).empty() && local_binaries(s) == 0 &&
               s.drone->log_text().find("): accepted") != std::string::npos;
      },
      20s))
      << s.logs();
  const std::string log = s.drone->log_text();
  EXPECT_NE(log.find("resuming " + atom + " at stage completion_sent"), std::string::npos) << log;
  EXPECT_EQ(log.find(": uploaded "), std::string::npos) << "resumed with the completion, not a new upload\n" << log;
}

TEST(DroneProcess, KillNineAfterBuildResumesUpload) {
  const std::string atom = "=dev-libs/upload-2.0";
  Swarm s;
  s.sshd->signal_tree(SIGSTOP);
  Resume sshd([&] { s.sshd->signal_tree(SIGCONT); });
  ASSERT_TRUE(submit(s, {atom}));
  ASSERT_TRUE(wait_for([&] { return builds(s, atom) == 1 && journal_at(s, "built"); }, 60s))
      << testing::PrintToString(journal_stages(s)) << "\n" << s.logs();
  EXPECT_EQ(staged_binaries(s), 0u) << "sshd is stopped: nothing can have arrived";
  kill_drone_hard(s);
  EXPECT_TRUE(journal_at(s, "built"));
  EXPECT_EQ(request_state(s, atom), "leased");
  sshd.now();

  s.start_drone();
  ASSERT_TRUE(wait_for([&] { return request_state(s, atom) == "published"; }, 60s)) << s.logs();
  EXPECT_EQ(builds(s, atom), 1u) << "no rebuild";
  EXPECT_EQ(emerge_calls(s, atom), 1u);
  ASSERT_TRUE(wait_for([&] { return journal_stages(s).empty() && local_binaries(s) == 0; }, 20s)) << s.logs();
  const std::string log = s.drone->log_text();
  EXPECT_NE(log.find("resuming " + atom + " at stage built"), std::string::npos) << log;
  EXPECT_NE(log.find(": uploaded "), std::string::npos) << log;
}

TEST(DroneProcess, SigtermMidBuildFinishesThenExitsZero) {
  const std::vector<std::string> atoms{"=dev-libs/first-1.0", "=dev-libs/second-1.0"};
  Swarm s(Env{{"FAKE_EMERGE_SLEEP", "3"}});
  ASSERT_TRUE(submit(s, atoms));
  std::string building;
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& a : atoms)
          if (emerge_calls(s, a) == 1) building = a;
        return !building.empty();
      },
      60s))
      << s.logs();
  const std::string other = building == atoms[0] ? atoms[1] : atoms[0];
  ASSERT_EQ(builds(s, building), 0u) << "the build must still be running";
  ASSERT_EQ(request_state(s, building), "leased");
  ASSERT_EQ(::kill(s.drone->pid(), SIGTERM), 0);

  auto code = s.drone->wait(40s);
  ASSERT_TRUE(code.has_value()) << "the drone did not exit\n" << s.logs();
  EXPECT_EQ(*code, 0) << s.logs();
  EXPECT_TRUE(wait_for([&] { return request_state(s, building) == "published"; }, 20s)) << s.logs();
  EXPECT_EQ(builds(s, building), 1u);
  EXPECT_EQ(request_state(s, other), "needed") << "a draining drone takes no new work";
  EXPECT_EQ(emerge_calls(s, other), 0u);
  EXPECT_NE(s.drone->log_text().find("draining"), std::string::npos);
}

TEST(DroneProcess, SecondSigtermReleasesTheLease) {
  const std::string atom = "=dev-libs/endless-1.0";
  TempDir ctl;
  const fs::path pids_file = ctl / "hang.pids";
  write_file(ctl / "control", "FAKE_EMERGE_HANG=*\nFAKE_EMERGE_PIDFILE=" + pids_file.string() + "\n");
  Swarm s(Env{{"FAKE_EMERGE_CONTROL", (ctl / "control").string()}}, {"--kill-grace", "2"});
  ASSERT_TRUE(submit(s, {atom}));
  std::vector<pid_t> hang;
  ASSERT_TRUE(wait_for(
      [&] {
        hang.clear();
        std::istringstream in(fs::exists(pids_file) ? read_file(pids_file) : "");
        for (pid_t p; in >> p;) hang.push_back(p);
        return hang.size() == 2;
      },
      60s))
      << s.logs();
  const pid_t group = pgid_of(hang[0]);
  ASSERT_GT(group, 0);
  ASSERT_NE(group, s.drone->pid()) << "emerge runs in its own process group";
  ASSERT_GE(live_group_members(group).size(), 3u) << "emerge, its subshell and the grandchild";
  ASSERT_EQ(request_state(s, atom), "leased");

  ASSERT_EQ(::kill(s.drone->pid(), SIGTERM), 0);
  // A second signal sent before the first is taken would merge with it: wait until it is.
  ASSERT_TRUE(wait_for([&] { return s.drone->log_text().find("draining") != std::string::npos; }, 10s)) << s.logs();
  ASSERT_EQ(::kill(s.drone->pid(), SIGTERM), 0);
  const auto second = SteadyClock::now();

  auto code = s.drone->wait(15s);
  ASSERT_TRUE(code.has_value()) << "the drone did not exit\n" << s.logs();
  EXPECT_LT(*code, 128) << "it exits on its own, not by a signal";
  // Released, not left to expire: the orchestrator's offline_after is 60 s.
  ASSERT_TRUE(wait_for([&] { return request_state(s, atom) == "needed"; }, 5s)) << request_state(s, atom) << s.logs();
  EXPECT_LT(seconds_since(second), 20.0);
  EXPECT_TRUE(live_group_members(group).empty()) << "the build's process group survived";
  for (pid_t p : hang) EXPECT_FALSE(alive(p)) << "pid " << p << " survived";
  EXPECT_EQ(builds(s, atom), 0u);
  EXPECT_TRUE(journal_stages(s).empty()) << "a released lease leaves no journal record";
  EXPECT_NE(s.drone->log_text().find("released"), std::string::npos) << s.drone->log_text();
}

TEST(DroneProcess, SigkillLeavesALeaseTheOrchestratorReclaims) {
  const std::string atom = "=dev-libs/orphan-1.0";
  TempDir ctl;
  write_file(ctl / "control", "FAKE_EMERGE_SLEEP=60\n");
  Swarm s(Env{{"FAKE_EMERGE_CONTROL", (ctl / "control").string()}});
  ASSERT_NO_FATAL_FAILURE(restart_orchestrator(s, {"--offline-after", "5"}));
  ASSERT_TRUE(submit(s, {atom}));
  ASSERT_TRUE(wait_for([&] { return emerge_calls(s, atom) == 1 && request_state(s, atom) == "leased"; }, 60s))
      << s.logs();
  const auto killed = SteadyClock::now();
  auto groups = kill_drone_hard(s);
  EXPECT_EQ(groups.size(), 1u) << "the build's process group";
  EXPECT_EQ(request_state(s, atom), "leased") << "a dead drone's lease is held until it expires";
  ASSERT_TRUE(wait_for([&] { return request_state(s, atom) == "needed"; }, 20s)) << s.logs();
  EXPECT_GT(seconds_since(killed), 1.0) << "reclaimed only once not renewed";
  EXPECT_TRUE(journal_at(s, "leased"));

  // Back again: the stale record is released, the package built afresh and published.
  write_file(ctl / "control", "FAKE_EMERGE_SLEEP=0.2\n");
  s.start_drone();
  ASSERT_TRUE(wait_for([&] { return request_state(s, atom) == "published"; }, 60s)) << s.logs();
  EXPECT_EQ(builds(s, atom), 1u);
  EXPECT_EQ(emerge_calls(s, atom), 2u);
  EXPECT_NE(s.drone->log_text().find("resuming " + atom + " at stage leased"), std::string::npos)
      << s.drone->log_text();
}

// kill -9 of the drone alone, mid-build: its emerge, the emerge's child and a grandchild that left the
// session (setsid --fork, as Portage's pid-ns-init does) live on, still writing into the same PKGDIR.
// The restarted drone must kill all of them before it builds the atom again there: one build per PKGDIR.
TEST(DroneProcess, KillNineMidBuildRestartKillsTheLeftoverBuildFirst) {
  const std::string atom = "=dev-libs/one-pkgdir-7.0";
  TempDir ctl;
  const fs::path pids_file = ctl / "daemon.pids", watched = ctl / "watched", starts = ctl / "starts";
  write_file(ctl / "control", "FAKE_EMERGE_DAEMON=*\nFAKE_EMERGE_PIDFILE=" + pids_file.string() + "\n");
  write_file(ctl / "hook.sh", start_hook(atom, watched, starts));
  Swarm s(Env{{"FAKE_EMERGE_CONTROL", (ctl / "control").string()}, {"BASH_ENV", (ctl / "hook.sh").string()}});

  // Whatever happens, nothing of the first build outlives the test (declared after `s`: runs first).
  std::vector<Seen> old_build;
  std::string old_lease;
  Resume cleanup([&] {
    for (const auto& p : old_build)
      if (still_running(p)) ::kill(p.pid, SIGKILL);
    if (!old_lease.empty()) {
      TreeSelector marked;
      marked.marker = "SWARM_BUILD_LEASE=" + old_lease;
      kill_process_tree(marked, std::chrono::seconds(5));
    }
  });
  EmergeWatch watch(atom);

  ASSERT_TRUE(submit(s, {atom}));
  // The stand-in hangs: emerge ("$$ $!": itself and its `sleep` child) and the setsid'd grandchild ("$$").
  pid_t emerge = 0, child = 0, daemon = 0;
  ASSERT_TRUE(wait_for(
      [&] {
        std::vector<std::string> lines = lines_of(pids_file);
        for (const auto& l : lines) {
          std::istringstream in(l);
          pid_t a = 0, b = 0;
          if (in >> a >> b) {
            emerge = a;
            child = b;
          } else if (a > 0) {
            daemon = a;
          }
        }
        return emerge > 0 && child > 0 && daemon > 0;
      },
      scaled(60s)))
      << s.logs();
  for (pid_t p : {emerge, child, daemon})
    if (auto st = read_proc_stat(p)) old_build.push_back({p, st->start_ticks});
  ASSERT_EQ(old_build.size(), 3u) << "a process of the build already gone";

  // The journal names the lease and the build's pid before emerge runs.
  json record;
  ASSERT_TRUE(wait_for(
      [&] {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(s.dir / "d1-work" / "journal", ec))
          if (e.path().extension() == ".json") {
            record = json::parse(read_file(e.path()), nullptr, false);
            old_lease = e.path().stem().string();
          }
        return record.is_object() && record.value("build_pid", 0) > 0;
      },
      scaled(10s)))
      << record.dump();
  EXPECT_EQ(record.value("stage", ""), "leased");
  EXPECT_EQ(record.value("build_pid", 0), emerge) << record.dump();
  ASSERT_EQ(request_state(s, atom), "leased");
  ASSERT_EQ(emerge_calls(s, atom), 1u);
  const auto emerge_stat = read_proc_stat(emerge), daemon_stat = read_proc_stat(daemon);
  ASSERT_TRUE(emerge_stat && daemon_stat);
  ASSERT_NE(emerge_stat->pgrp, s.drone->pid()) << "emerge runs in its own process group";
  ASSERT_NE(daemon_stat->session, emerge_stat->session) << "the grandchild left the build's session";
  ASSERT_NE(daemon_stat->pgrp, emerge_stat->pgrp);

  // kill -9 of the drone's process alone, not its group.
  const pid_t old_drone = s.drone->pid();
  ASSERT_EQ(::kill(old_drone, SIGKILL), 0);
  ASSERT_TRUE(s.drone->wait(scaled(10s)).has_value());
  for (const auto& p : old_build) ASSERT_TRUE(still_running(p)) << "pid " << p.pid << " died with the drone";
  ASSERT_NE(read_proc_stat(emerge).value_or(ProcStat{}).ppid, old_drone) << "emerge was reparented";
  ASSERT_TRUE(journal_at(s, "leased"));
  // The start hook now watches the old build; the next build does not hang.
  {
    std::ostringstream w;
    for (const auto& p : old_build) w << p.pid << ' ' << p.start_ticks << '\n';
    write_file(watched, w.str());
  }
  write_file(ctl / "control", "FAKE_EMERGE_SLEEP=0.5\n");

  s.start_drone();
  ASSERT_TRUE(wait_for([&] { return request_state(s, atom) == "published"; }, scaled(90s))) << s.logs();

  // At the moment the second emerge started, nothing of the first build and no other emerge was running.
  const std::vector<std::string> started = lines_of(starts);
  ASSERT_EQ(started.size(), 2u) << testing::PrintToString(started) << "\n" << s.logs();
  EXPECT_NE(started[0].find(" " + std::to_string(emerge) + " alive= others="), std::string::npos) << started[0];
  EXPECT_TRUE(started[1].ends_with(" alive= others=")) << "the predecessor still ran when the new build started: "
                                                       << started[1] << "\n" << s.drone->log_text();
  for (const auto& p : old_build) EXPECT_FALSE(still_running(p)) << "pid " << p.pid << " of the old build survived";
  {
    TreeSelector marked;
    marked.marker = "SWARM_BUILD_LEASE=" + old_lease;
    EXPECT_TRUE(find_process_tree(marked).empty()) << "a process carrying the old lease's marker survived";
  }
  EXPECT_EQ(watch.most().size(), 1u) << "emerges at once for " << atom << ": " << testing::PrintToString(watch.most());
  EXPECT_EQ(watch.distinct(), 2u) << "the first emerge and the rebuild";

  // Built once more, published exactly once.
  EXPECT_EQ(emerge_calls(s, atom), 2u);
  EXPECT_EQ(builds(s, atom), 1u) << "only the second emerge finished a build";
  auto pk = HttpClient(s.orch_url).get("/binhost/Packages");
  ASSERT_TRUE(pk && pk->status == 200);
  auto index = parse_packages(pk->body);
  ASSERT_TRUE(index.ok()) << index.error().message;
  size_t published = 0;
  for (const auto& p : index->packages) published += p.at("CPV") == atom.substr(1) ? 1 : 0;
  EXPECT_EQ(published, 1u) << pk->body;
  const std::string log = s.drone->log_text();
  EXPECT_NE(log.find("killed"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming " + atom + " at stage leased"), std::string::npos) << log;
}

}  // namespace
}  // namespace swarm::test
