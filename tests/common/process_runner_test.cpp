#include "common/process_runner.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include <gtest/gtest.h>

#include "support/processes.hpp"
#include "support/test_support.hpp"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using test::read_file;
using test::TempDir;
using test::process_gone;
using test::wait_for;

ProcessSpec shell(const std::string& script, const fs::path& out = {}) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.output_file = out;
  return spec;
}

pid_t read_pid(const fs::path& p) {
  EXPECT_TRUE(wait_for([&] { return fs::exists(p) && fs::file_size(p) > 0; }, std::chrono::seconds(5)));
  return static_cast<pid_t>(std::stol(read_file(p)));
}

TEST(ProcessRunner, ReportsExitCodes) {
  PosixProcessRunner runner;
  auto ok = runner.run(shell("exit 0"));
  EXPECT_TRUE(ok.started);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.signal, 0);
  EXPECT_FALSE(ok.timed_out);
  EXPECT_TRUE(ok.success());
  EXPECT_EQ(describe(ok), "exit 0");

  auto three = runner.run(shell("exit 3"));
  EXPECT_TRUE(three.started);
  EXPECT_EQ(three.exit_code, 3);
  EXPECT_FALSE(three.success());
  EXPECT_EQ(describe(three), "exit 3");
}

TEST(ProcessRunner, ReportsDeathBySignal) {
  PosixProcessRunner runner;
  auto r = runner.run(shell("kill -9 $$"));
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.signal, 9);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(describe(r), "killed by signal 9");
}

TEST(ProcessRunner, AppendsStdoutAndStderrToTheOutputFile) {
  TempDir dir;
  test::write_file(dir / "log", "earlier\n");
  PosixProcessRunner runner;
  auto r = runner.run(shell("echo out; echo err >&2; read x || echo stdin-empty", dir / "log"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(read_file(dir / "log"), "earlier\nout\nerr\nstdin-empty\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777 & ~0644, 0u);
}

TEST(ProcessRunner, CreatesTheOutputFileAndDiscardsOutputWithoutOne) {
  TempDir dir;
  PosixProcessRunner runner;
  EXPECT_EQ(runner.run(shell("echo hello", dir / "new.log")).exit_code, 0);
  EXPECT_EQ(read_file(dir / "new.log"), "hello\n");
  EXPECT_EQ(runner.run(shell("echo nowhere")).exit_code, 0);

  auto bad = runner.run(shell("echo x", dir / "missing-dir" / "log"));
  EXPECT_FALSE(bad.started);
  EXPECT_NE(bad.error.find("No such file or directory"), std::string::npos) << bad.error;
}

TEST(ProcessRunner, KillsAHangingChildAtTheTimeout) {
  PosixProcessRunner runner;
  auto spec = shell("sleep 100");
  spec.timeout = milliseconds(200);
  auto r = runner.run(spec);
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_GE(r.duration, milliseconds(200));
  EXPECT_LT(r.duration, spec.timeout + spec.kill_grace);
  EXPECT_LT(r.duration, milliseconds(2000));
  EXPECT_EQ(describe(r).rfind("timed out after ", 0), 0u) << describe(r);
  EXPECT_FALSE(r.success());
}

TEST(ProcessRunner, KeepsTheExitCodeOfAChildThatExitsOnTerm) {
  PosixProcessRunner runner;
  auto spec = shell("trap 'exit 7' TERM; sleep 100 & wait");
  spec.timeout = milliseconds(200);
  auto r = runner.run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.signal, 0);
}

TEST(ProcessRunner, SendsKillAfterTheGraceWhenTermIsIgnored) {
  PosixProcessRunner runner;
  auto spec = shell("trap '' TERM; sleep 100");
  spec.timeout = milliseconds(200);
  spec.kill_grace = milliseconds(300);
  auto r = runner.run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(r.duration, milliseconds(500));
  EXPECT_LT(r.duration, milliseconds(3000));
}

TEST(ProcessRunner, KillsAHangingGrandchildAtTheTimeout) {
  TempDir dir;
  PosixProcessRunner runner;
  auto spec = shell("trap '' TERM; sleep 100 & echo $! > " + (dir / "pid").string() + "; wait");
  spec.timeout = milliseconds(300);
  spec.kill_grace = milliseconds(200);
  auto r = runner.run(spec);
  EXPECT_TRUE(r.timed_out);
  pid_t grandchild = read_pid(dir / "pid");
  EXPECT_TRUE(wait_for([&] { return process_gone(grandchild); }, milliseconds(2000)));
}

TEST(ProcessRunner, KillsADaemonisedGrandchildLeftInTheGroup) {
  TempDir dir;
  PosixProcessRunner runner;
  // The grandchild ignores TERM and HUP like a daemon; the child exits at once, successfully.
  auto spec = shell("(trap '' TERM HUP; exec sleep 100) >/dev/null 2>&1 & echo $! > " + (dir / "pid").string() +
                    "; exit 0");
  spec.timeout = milliseconds(10'000);
  auto r = runner.run(spec);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.duration, milliseconds(3000));
  pid_t grandchild = read_pid(dir / "pid");
  // run() returns only once the group is dead; no waiting should be needed.
  EXPECT_TRUE(process_gone(grandchild));
}

// Portage's pid-ns-init calls setsid(): the build leaves emerge's group and session.
TEST(ProcessRunner, KillsAGrandchildThatCalledSetsidAtTheTimeout) {
  TempDir dir;
  PosixProcessRunner runner;
  const std::string pids = (dir / "pids").string();
  // The grandchild's script runs in a new session (and so a new group), ignoring TERM.
  test::write_file(dir / "inner.sh", "trap '' TERM HUP; echo $$ >> " + pids + "; sleep 100 & echo $! >> " + pids + "; wait\n");
  auto spec = shell("setsid sh " + (dir / "inner.sh").string() + " & wait");
  spec.timeout = milliseconds(1000);
  spec.kill_grace = milliseconds(200);
  auto r = runner.run(spec);
  EXPECT_TRUE(r.timed_out);
  std::vector<pid_t> started;
  std::istringstream in(read_file(dir / "pids"));
  for (pid_t p; in >> p;) started.push_back(p);
  ASSERT_EQ(started.size(), 2u);
  for (pid_t p : started) EXPECT_TRUE(process_gone(p)) << p << " survived";
}

// setsid --fork: the grandchild's parent exits, so it is reparented out of the tree; the marker
// in its environment still finds it.
TEST(ProcessRunner, KillsAReparentedGrandchildByItsMarker) {
  TempDir dir;
  PosixProcessRunner runner;
  const std::string pid_file = (dir / "pid").string();
  auto spec = shell("setsid --fork sh -c 'trap \"\" TERM HUP; echo $$ > " + pid_file + "; exec sleep 100' </dev/null >/dev/null 2>&1; "
                    "while [ ! -s " + pid_file + " ]; do sleep 0.05; done; exit 0");
  spec.marker = "SWARM_TEST_MARKER=reparented-" + std::to_string(::getpid());
  spec.timeout = milliseconds(10'000);
  auto r = runner.run(spec);
  EXPECT_EQ(r.exit_code, 0);
  pid_t daemon = read_pid(dir / "pid");
  EXPECT_TRUE(process_gone(daemon));
}

TEST(ProcessRunner, ReportsTheChildBeforeItRuns) {
  TempDir dir;
  PosixProcessRunner runner;
  auto spec = shell("echo $$ > " + (dir / "pid").string());
  ProcessStarted seen;
  bool program_ran_before = true;
  spec.on_start = [&](const ProcessStarted& s) {
    seen = s;
    program_ran_before = fs::exists(dir / "pid");
  };
  auto r = runner.run(spec);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(program_ran_before);
  EXPECT_EQ(seen.pid, read_pid(dir / "pid"));
  EXPECT_GT(seen.start_ticks, 0u);
}

TEST(ProcessRunner, WritesAFloodOfOutputWithoutDeadlock) {
  TempDir dir;
  PosixProcessRunner runner;
  auto spec = shell("head -c 12000000 /dev/zero; head -c 1000000 /dev/zero >&2; echo end", dir / "log");
  spec.timeout = milliseconds(30'000);
  auto r = runner.run(spec);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(fs::file_size(dir / "log"), 13'000'004u);
  std::string tail = tail_of_file(dir / "log", 100);
  EXPECT_EQ(tail.size(), 100u);  // one long line: the window is returned as it is
  EXPECT_EQ(tail.substr(96), "end\n");
}

TEST(ProcessRunner, ControlsTheEnvironment) {
  TempDir dir;
  ::setenv("SWARM_PR_INHERITED", "from-parent", 1);
  ::setenv("SWARM_PR_DROPPED", "should-not-appear", 1);
  PosixProcessRunner runner;
  const std::string script =
      "echo \"A=${SWARM_PR_INHERITED-unset} B=${SWARM_PR_DROPPED-unset} C=${SWARM_PR_SET-unset} "
      "P=${PATH-unset}\"";

  auto spec = shell(script, dir / "inherit");
  spec.env_set = {{"SWARM_PR_SET", "a value with spaces"}, {"SWARM_PR_INHERITED", "overridden"}};
  spec.env_unset = {"SWARM_PR_DROPPED"};
  EXPECT_EQ(runner.run(spec).exit_code, 0);
  EXPECT_EQ(read_file(dir / "inherit"),
            "A=overridden B=unset C=a value with spaces P=" + std::string(std::getenv("PATH")) + "\n");

  auto clear = shell(script, dir / "clear");
  clear.argv[0] = "sh";  // found through the default PATH although the environment is empty
  clear.clear_env = true;
  clear.env_set = {{"SWARM_PR_SET", "only"}};
  auto r = runner.run(clear);
  EXPECT_EQ(r.exit_code, 0) << r.error;
  std::string out = read_file(dir / "clear");
  EXPECT_EQ(out.rfind("A=unset B=unset C=only P=", 0), 0u) << out;

  auto bad = shell("true");
  bad.env_set = {{"BAD=KEY", "x"}};
  EXPECT_FALSE(runner.run(bad).started);
  ::unsetenv("SWARM_PR_INHERITED");
  ::unsetenv("SWARM_PR_DROPPED");
}

TEST(ProcessRunner, RunsInTheGivenDirectory) {
  TempDir dir;
  fs::create_directory(dir / "work");
  PosixProcessRunner runner;
  auto spec = shell("pwd -P", dir / "log");
  spec.cwd = dir / "work";
  EXPECT_EQ(runner.run(spec).exit_code, 0);
  EXPECT_EQ(read_file(dir / "log"), fs::canonical(dir / "work").string() + "\n");

  spec.cwd = dir / "absent";
  auto r = runner.run(spec);
  EXPECT_FALSE(r.started);
  EXPECT_NE(r.error.find("chdir"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("No such file or directory"), std::string::npos) << r.error;
}

TEST(ProcessRunner, ReportsAMissingOrUnrunnableProgramWithoutStarting) {
  TempDir dir;
  PosixProcessRunner runner;
  ProcessSpec spec;
  spec.argv = {(dir / "no-such-program").string(), "--flag"};
  auto r = runner.run(spec);
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_NE(r.error.find("No such file or directory"), std::string::npos) << r.error;
  EXPECT_EQ(describe(r).rfind("failed to start: ", 0), 0u);

  spec.argv = {"swarm-no-such-program-anywhere"};
  r = runner.run(spec);
  EXPECT_FALSE(r.started);
  EXPECT_NE(r.error.find("No such file or directory"), std::string::npos) << r.error;

  test::write_file(dir / "not-executable", "#!/bin/sh\nexit 0\n");
  spec.argv = {(dir / "not-executable").string()};
  r = runner.run(spec);
  EXPECT_FALSE(r.started);
  EXPECT_NE(r.error.find("Permission denied"), std::string::npos) << r.error;

  spec.argv = {};
  EXPECT_FALSE(runner.run(spec).started);
}

TEST(ProcessRunner, StopsTheGroupWhenCancelled) {
  TempDir dir;
  PosixProcessRunner runner;
  std::atomic<bool> cancel{false};
  auto spec = shell("sleep 100 & echo $! > " + (dir / "pid").string() + "; wait");
  spec.timeout = milliseconds(60'000);
  auto future = std::async(std::launch::async, [&] { return runner.run(spec, &cancel); });
  pid_t grandchild = read_pid(dir / "pid");
  cancel = true;
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto r = future.get();
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(describe(r).rfind("cancelled after ", 0), 0u) << describe(r);
  EXPECT_TRUE(wait_for([&] { return process_gone(grandchild); }, milliseconds(2000)));
}

TEST(ProcessRunner, GivesTheChildDefaultSignalHandling) {
  TempDir dir;
  auto old = ::signal(SIGPIPE, SIG_IGN);
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);
  PosixProcessRunner runner;
  ProcessSpec spec;
  spec.argv = {"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"};  // grep's own state, no shell in between
  spec.output_file = dir / "log";
  auto r = runner.run(spec);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGPIPE, old);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(read_file(dir / "log"), "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

// This process's peak resident size (VmHWM), in kB.
long own_peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST(ProcessRunner, MeasuresPeakMemoryOfTheChildAndItsChildren) {
  PosixProcessRunner runner;
  // tail holds the whole newline-free 64 MB stream in memory.
  auto r = runner.run(shell("head -c 64000000 /dev/zero | tail > /dev/null"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_GT(r.max_rss_kb, 60'000);
  auto small = runner.run(shell("exit 0"));
  EXPECT_GT(small.max_rss_kb, 0);
  // Linux counts the child's pre-exec copy of this process, so the small child's peak is bounded by
  // this process's own peak (tens of MB under the sanitizers), not by a constant.
  const long self_kb = own_peak_rss_kb();
  ASSERT_GT(self_kb, 0);
  EXPECT_LT(small.max_rss_kb, self_kb + 20'000);
}

TEST(TailOfFile, StartsAtALineStart) {
  TempDir dir;
  test::write_file(dir / "log", "first line\nsecond line\nthird\n");
  EXPECT_EQ(tail_of_file(dir / "log", 1000), "first line\nsecond line\nthird\n");
  EXPECT_EQ(tail_of_file(dir / "log", 10), "third\n");           // cut inside "second line"
  EXPECT_EQ(tail_of_file(dir / "log", 18), "second line\nthird\n");  // window starts exactly at a line
  EXPECT_EQ(tail_of_file(dir / "log", 0), "");
  EXPECT_EQ(tail_of_file(dir / "absent", 100), "");
  test::write_file(dir / "one", "abcdefghij");
  EXPECT_EQ(tail_of_file(dir / "one", 4), "ghij");  // no line start in the window: its bytes anyway
  test::write_file(dir / "empty", "");
  EXPECT_EQ(tail_of_file(dir / "empty", 4), "");
}

TEST(Describe, NamesTheOutcome) {
  ProcessResult r;
  r.started = true;
  r.exit_code = 1;
  EXPECT_EQ(describe(r), "exit 1");
  r.exit_code = -1;
  r.signal = 9;
  EXPECT_EQ(describe(r), "killed by signal 9");
  r.timed_out = true;
  r.signal = 15;
  r.duration = milliseconds(30'040);
  EXPECT_EQ(describe(r), "timed out after 30s");
  r.duration = milliseconds(230);
  EXPECT_EQ(describe(r), "timed out after 0.2s");
  ProcessResult failed;
  failed.error = "no-such: No such file or directory";
  EXPECT_EQ(describe(failed), "failed to start: no-such: No such file or directory");
}

}  // namespace
}  // namespace swarm
