// The drone under faults: hung uploads, revoked leases, restarts between steps, drains and stops.

#include <gtest/gtest.h>

#include <csignal>

#include "common/crypto.hpp"
#include "drone/journal.hpp"
#include "drone_harness.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class DroneFaultTest : public DroneHarness {
 protected:
  drone::DroneStatus status() const { return m_drone->state().status(); }
  bool building(const std::string& lease_id) const {
    auto s = status();
    return s.lease && s.lease->lease_id == lease_id && s.activity != "idle" && !argv_log().empty();
  }
  std::optional<drone::JournalEntry> journal(const std::string& id) const {
    drone::Journal j(m_config.work_dir / "journal");
    auto e = j.load(id);
    if (!e) return std::nullopt;
    return *e;
  }
  std::vector<pid_t> hang_pids() const {
    std::vector<pid_t> pids;
    if (!fs::exists(m_dir / "hang.pids")) return pids;
    std::istringstream in(read_file(m_dir / "hang.pids"));
    for (pid_t p; in >> p;) pids.push_back(p);
    return pids;
  }
  static bool all_dead(const std::vector<pid_t>& pids) {
    for (pid_t p : pids)
      if (process_alive(p)) return false;
    return true;
  }
  void hang_builds() { control("FAKE_EMERGE_HANG=*\nFAKE_EMERGE_PIDFILE=" + (m_dir / "hang.pids").string() + "\n"); }
};

TEST_F(DroneFaultTest, HungUploadEndsWithinTheStallTimeoutAndSucceedsAfterSigcont) {
  m_sshd->signal_tree(SIGSTOP);
  m_orch->add_lease(lease("U1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return status().upload_failures >= 1; }, 30s)) << "no upload attempt ended";
  auto failed = status();
  // Connect timeout and rsync's stall timeout are 2 s each: the attempt may not hang beyond them.
  EXPECT_LE(failed.last_upload_ms, 5000) << failed.last_upload_error;
  EXPECT_FALSE(failed.last_upload_error.empty());
  EXPECT_TRUE(m_orch->completions().empty()) << "upload trouble is not a build failure";
  m_sshd->signal_tree(SIGCONT);
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  EXPECT_TRUE(m_orch->answers()[0].accepted);
  EXPECT_EQ(m_orch->completions()[0].result, "built");
  EXPECT_EQ(argv_log().size(), 1u) << "no rebuild";
}

TEST_F(DroneFaultTest, UploadStalledMidTransferEndsWithinTheStallTimeout) {
  control("FAKE_EMERGE_SIZE_KB=65536\n");
  m_orch->add_lease(lease("U2", "=dev-libs/foo-1.0"));
  start_drone();
  // Freeze the server side as soon as a session exists: rsync then hears nothing more.
  ASSERT_TRUE(wait_for([&] { return m_sshd->process_tree().size() > 1; }, 60s)) << "no upload session";
  m_sshd->signal_tree(SIGSTOP);
  ASSERT_TRUE(wait_for([&] { return status().upload_failures >= 1 || answered(1); }, 30s));
  m_sshd->signal_tree(SIGCONT);
  if (answered(1)) GTEST_SKIP() << "the upload finished before it could be frozen";
  auto failed = status();
  EXPECT_LE(failed.last_upload_ms, 5000) << failed.last_upload_error;
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 60s));
  EXPECT_TRUE(m_orch->answers()[0].accepted);
  EXPECT_EQ(argv_log().size(), 1u) << "no rebuild";
}

TEST_F(DroneFaultTest, ConflictOnRenewKillsTheBuildAndNothingIsUploaded) {
  hang_builds();
  m_orch->add_lease(lease("V1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return hang_pids().size() == 2; }, 20s));
  ASSERT_TRUE(wait_for([&] { return m_orch->renewals("V1") >= 1; }, 10s)) << "no renewal";
  m_orch->revoke("V1");
  ASSERT_TRUE(wait_for([&] { return all_dead(hang_pids()); }, 10s)) << "build not killed";
  ASSERT_TRUE(wait_for([&] { return !status().lease; }, 10s));
  EXPECT_TRUE(m_orch->completions().empty());
  EXPECT_FALSE(fs::exists(m_orch->staged("V1", "")));
  EXPECT_FALSE(journal("V1").has_value());
  // The drone carries on with the next lease.
  control("");
  m_orch->add_lease(lease("V2", "=dev-libs/bar-1.0"));
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  EXPECT_EQ(m_orch->completions()[0].lease_id, "V2");
}

TEST_F(DroneFaultTest, RestartAfterUploadSendsTheCompletionFromTheJournal) {
  m_config.complete_attempts = 0;  // retried until the stop
  m_orch->set_complete_unavailable(true);
  m_orch->add_lease(lease("J1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return m_orch->complete_attempts() >= 2; }, 30s));
  stop_drone();
  auto entry = journal("J1");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->stage, drone::JournalStage::completion_sent);
  const fs::path binary = m_config.pkgdir / entry->binary;
  ASSERT_TRUE(fs::exists(binary));
  EXPECT_TRUE(fs::exists(m_orch->staged("J1", entry->binary)));
  EXPECT_EQ(entry->sha256, *sha256_file_hex(binary)) << "hashed during the upload, recorded with it";

  m_orch->set_complete_unavailable(false);
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  auto c = m_orch->completions()[0];
  EXPECT_EQ(c.lease_id, "J1");
  EXPECT_EQ(c.sha256.value_or(""), entry->sha256);
  EXPECT_TRUE(m_orch->answers()[0].accepted);
  EXPECT_EQ(argv_log().size(), 1u) << "resumed, not rebuilt";
  EXPECT_TRUE(wait_for([&] { return !fs::exists(binary) && !journal("J1"); }, 10s));
}

TEST_F(DroneFaultTest, RestartAfterBuildResumesTheUpload) {
  m_sshd->signal_tree(SIGSTOP);
  m_orch->add_lease(lease("J2", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return status().upload_failures >= 1; }, 30s));
  stop_drone();
  auto entry = journal("J2");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->stage, drone::JournalStage::built);
  EXPECT_TRUE(entry->sha256.empty()) << "the hash is taken during the upload, not before";
  EXPECT_TRUE(m_orch->released().empty()) << "a built lease is kept for the resume";
  const std::string sha = *sha256_file_hex(m_config.pkgdir / entry->binary);
  m_sshd->signal_tree(SIGCONT);
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  EXPECT_TRUE(m_orch->answers()[0].accepted);
  EXPECT_EQ(m_orch->completions()[0].sha256.value_or(""), sha);
  EXPECT_EQ(argv_log().size(), 1u);
}

TEST_F(DroneFaultTest, InterruptedBuildFoundAtStartIsReleased) {
  drone::Journal j(m_config.work_dir / "journal");
  ASSERT_TRUE(j.open().ok());
  drone::JournalEntry e;
  e.lease = lease("J3", "=dev-libs/foo-1.0");
  e.orchestrator = m_orch->url();
  e.stage = drone::JournalStage::leased;
  ASSERT_TRUE(j.save(e).ok());
  start_drone();
  ASSERT_TRUE(wait_for([&] { return !m_orch->released().empty(); }, 20s));
  EXPECT_EQ(m_orch->released()[0], "J3");
  EXPECT_TRUE(wait_for([&] { return !journal("J3"); }, 5s));
  EXPECT_TRUE(argv_log().empty());
}

TEST_F(DroneFaultTest, SigtermFinishesTheBuildReportsAndExitsZero) {
  control("FAKE_EMERGE_SLEEP=1.5\n");
  m_orch->add_lease(lease("T1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return building("T1"); }, 20s));
  m_orch->add_lease(lease("T2", "=dev-libs/bar-1.0"));
  m_drone->handle_signal(SIGTERM);
  ASSERT_TRUE(wait_drone_exit(30s));
  EXPECT_EQ(m_exit_code.load(), 0);
  ASSERT_EQ(m_orch->completions().size(), 1u);
  EXPECT_EQ(m_orch->completions()[0].lease_id, "T1");
  EXPECT_TRUE(m_orch->answers()[0].accepted);
  EXPECT_EQ(m_orch->queued(), 1u) << "no new work while draining";
}

TEST_F(DroneFaultTest, SecondSigtermKillsTheBuildAndReleasesTheLease) {
  hang_builds();
  m_orch->add_lease(lease("T3", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return hang_pids().size() == 2; }, 20s));
  m_drone->handle_signal(SIGTERM);
  m_drone->handle_signal(SIGTERM);
  ASSERT_TRUE(wait_drone_exit(15s));
  EXPECT_EQ(m_orch->released(), std::vector<std::string>{"T3"});
  EXPECT_TRUE(all_dead(hang_pids()));
  EXPECT_TRUE(m_orch->completions().empty());
  EXPECT_FALSE(journal("T3").has_value());
}

TEST_F(DroneFaultTest, DrainTimeoutStopsTheBuild) {
  m_config.drain_timeout_s = 1;
  hang_builds();
  m_orch->add_lease(lease("T4", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return hang_pids().size() == 2; }, 20s));
  m_drone->handle_signal(SIGTERM);
  ASSERT_TRUE(wait_drone_exit(15s));
  EXPECT_EQ(m_orch->released(), std::vector<std::string>{"T4"});
  EXPECT_TRUE(all_dead(hang_pids()));
}

TEST_F(DroneFaultTest, PendingDroneKeepsRegisteringAndTakesNoWork) {
  m_gateway->set_approval("pending");
  m_orch->add_lease(lease("W1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return m_gateway->registrations() >= 3; }, 20s));
  EXPECT_EQ(m_orch->queued(), 1u);
  EXPECT_EQ(status().approval, "pending");
  m_gateway->set_approval("approved");
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  EXPECT_TRUE(m_orch->answers()[0].accepted);
  // Approved: heartbeats from now on, carrying the activity.
  EXPECT_TRUE(wait_for([&] { return m_gateway->heartbeats() >= 1; }, 10s));
}

TEST_F(DroneFaultTest, ANewOrchestratorIsUsedAfterTheCurrentLease) {
  FakeOrchestrator second(m_gateway->ticket(), m_sshd->staging_dir());
  ASSERT_TRUE(second.start());
  control("FAKE_EMERGE_SLEEP=1.5\n");
  m_orch->add_lease(lease("O1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return building("O1"); }, 20s));
  m_gateway->set_orchestrator(second.url());
  second.add_lease(lease("O2", "=dev-libs/bar-1.0"));
  ASSERT_TRUE(wait_for([&] { return second.answers().size() >= 1; }, 30s));
  ASSERT_EQ(m_orch->completions().size(), 1u);
  EXPECT_EQ(m_orch->completions()[0].lease_id, "O1") << "the old lease finishes with the old orchestrator";
  EXPECT_EQ(second.completions()[0].lease_id, "O2");
  stop_drone();
}

TEST_F(DroneFaultTest, HeartbeatsCarryTheLease) {
  control("FAKE_EMERGE_SLEEP=2.5\n");
  m_orch->add_lease(lease("B1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& h : m_gateway->heartbeat_log())
          if (h.lease_id.value_or("") == "B1" && h.activity == "building" && h.atom.value_or("") == "=dev-libs/foo-1.0")
            return true;
        return false;
      },
      20s));
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
}

}  // namespace
}  // namespace swarm::test
