// The drone against an orchestrator that fails completions (bounded 5xx retries, then a delivery
// failure), answers "in_progress", or is drained meanwhile; and a restart finding a predecessor's
// build still running.

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include "common/process_tree.hpp"
#include "drone/journal.hpp"
#include "drone/leftover_build.hpp"
#include "drone_harness.hpp"

extern char** environ;

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class DroneDeliveryTest : public DroneHarness {
 protected:
  std::optional<drone::JournalEntry> journal(const std::string& id) const {
    drone::Journal j(m_config.work_dir / "journal");
    auto e = j.load(id);
    if (!e) return std::nullopt;
    return *e;
  }
  std::vector<pid_t> pids_in(const fs::path& file) const {
    std::vector<pid_t> pids;
    if (!fs::exists(file)) return pids;
    std::istringstream in(read_file(file));
    for (pid_t p; in >> p;) pids.push_back(p);
    return pids;
  }
};

TEST_F(DroneDeliveryTest, FiveHundredsAreRetriedABoundedNumberOfTimesThenReportedAsADeliveryFailure) {
  m_config.complete_attempts = 3;
  m_orch->set_complete_unavailable(true, /*built_only=*/true);
  m_orch->add_lease(lease("D1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s)) << "attempts: " << m_orch->complete_attempts();
  EXPECT_EQ(m_orch->complete_attempts(), 4) << "3 tries of the binary, then the failure report";
  auto c = m_orch->completions().at(0);
  EXPECT_EQ(c.result, "failed");
  EXPECT_EQ(c.failure_class.value_or(""), "delivery");
  EXPECT_NE(c.log_tail.find("built but not taken in"), std::string::npos) << c.log_tail;
  // The binary stays, with a record saying where, that is never resumed.
  EXPECT_TRUE(wait_for([&] { return fs::exists(m_config.work_dir / "journal" / "D1.kept"); }, 5s));
  EXPECT_FALSE(journal("D1").has_value());
  EXPECT_TRUE(fs::exists(m_config.pkgdir / "dev-libs/foo/foo-1.0-1.gpkg.tar"));
  // The drone goes on taking work.
  m_orch->set_complete_unavailable(false);
  m_orch->add_lease(lease("D2", "=app-misc/bar-1.0"));
  ASSERT_TRUE(wait_for([&] { return answered(2); }, 30s));
  EXPECT_TRUE(m_orch->answers().at(1).accepted);
}

TEST_F(DroneDeliveryTest, InProgressAnswersAreFollowedByTheSameCompletionUntilTheFinalAnswer) {
  m_orch->answer_in_progress(2);
  m_orch->add_lease(lease("P1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  EXPECT_EQ(m_orch->complete_attempts(), 3);
  EXPECT_TRUE(m_orch->answers().at(0).accepted);
  EXPECT_EQ(m_orch->completions().at(0).result, "built");
  EXPECT_GT(m_orch->renewals("P1"), 0) << "the lease is renewed while the orchestrator works";
  EXPECT_TRUE(wait_for([&] { return !fs::exists(m_config.pkgdir / "dev-libs/foo/foo-1.0-1.gpkg.tar"); }, 5s));
}

TEST_F(DroneDeliveryTest, InProgressForLongerThanTheBusyTimeoutIsADeliveryFailure) {
  m_config.complete_busy_timeout_s = 1.5;
  m_orch->answer_in_progress(100);
  m_orch->add_lease(lease("P2", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  EXPECT_EQ(m_orch->completions().at(0).failure_class.value_or(""), "delivery");
  EXPECT_TRUE(fs::exists(m_config.pkgdir / "dev-libs/foo/foo-1.0-1.gpkg.tar"));
}

TEST_F(DroneDeliveryTest, DrainDoesNotWaitOnCompletionRetries) {
  m_config.complete_attempts = 0;  // unlimited: only the drain may end them
  m_orch->set_complete_unavailable(true);
  m_orch->add_lease(lease("R1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return m_orch->complete_attempts() >= 2; }, 30s));
  m_drone->handle_signal(SIGTERM);
  ASSERT_TRUE(wait_drone_exit(10s)) << "the drain waited on the retries";
  EXPECT_EQ(m_exit_code.load(), 0);
  auto entry = journal("R1");
  ASSERT_TRUE(entry.has_value()) << "the completion is sent again at the next start";
  EXPECT_EQ(entry->stage, drone::JournalStage::completion_sent);
  EXPECT_TRUE(fs::exists(m_config.pkgdir / entry->binary));
}

// A predecessor killed with SIGKILL mid-build: its emerge (here the stand-in, with a grandchild that
// left the session and was reparented) still runs. The restarted drone kills all of it first.
TEST_F(DroneDeliveryTest, RestartKillsThePredecessorsLeftoverBuildBeforeBuilding) {
  const fs::path pidfile = m_dir / "leftover.pids";
  const std::string fake = (source_dir() / "tests/support/fake-emerge").string();
  const std::vector<std::string> args = {"/usr/bin/env",
                                         drone::build_marker("K1"),
                                         "PKGDIR=" + m_config.pkgdir.string(),
                                         "FAKE_EMERGE_DAEMON=*",
                                         "FAKE_EMERGE_PIDFILE=" + pidfile.string(),
                                         fake,
                                         "=dev-libs/foo-1.0"};
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group, as the drone's runner does
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, &attr, argv.data(), environ), 0);
  posix_spawnattr_destroy(&attr);
  // emerge's pid and sleep's, then the daemon's: three pids once everything runs.
  // The three may be written in either order: the daemon is the one outside the build's session,
  // once setsid --fork's parent has exited and it was reparented.
  ASSERT_TRUE(wait_for([&] { return pids_in(pidfile).size() >= 3; }, scaled(20s)));
  const auto leftovers = pids_in(pidfile);
  ASSERT_TRUE(wait_for(
      [&] {
        for (pid_t p : leftovers) {
          auto st = read_proc_stat(p);
          if (p != pid && st && st->session != pid && st->ppid != pid) return true;
        }
        return false;
      },
      scaled(20s)))
      << "a grandchild left the build's session and was reparented";

  drone::Journal j(m_config.work_dir / "journal");
  ASSERT_TRUE(j.open().ok());
  drone::JournalEntry e;
  e.lease = lease("K1", "=dev-libs/foo-1.0");
  e.orchestrator = m_orch->url();
  e.stage = drone::JournalStage::leased;
  e.build_pid = pid;
  e.build_start_ticks = read_proc_stat(pid)->start_ticks;
  ASSERT_TRUE(j.save(e).ok());

  m_orch->add_lease(lease("K2", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);  // our child: reaped here
  for (pid_t p : leftovers) EXPECT_FALSE(process_alive(p)) << "pid " << p << " survived the restart";
  EXPECT_EQ(m_orch->released().at(0), "K1");
  EXPECT_TRUE(m_orch->answers().at(0).accepted);
  EXPECT_EQ(m_orch->completions().at(0).lease_id, "K2");
}

}  // namespace
}  // namespace swarm::test
