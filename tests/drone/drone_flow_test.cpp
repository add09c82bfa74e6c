// The drone end to end against fakes: builds with the stand-in emerge, uploads with real rsync over a
// real sshd into rrsync's staging root, completes, and cleans up only after acceptance.

#include <gtest/gtest.h>

#include <fstream>

#include "common/crypto.hpp"
#include "common/packages_index.hpp"
#include "drone_harness.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class DroneFlowTest : public DroneHarness {};

// The Packages entries of the drone's PKGDIR.
std::vector<PackagesEntry> local_entries(const fs::path& pkgdir) {
  if (!fs::exists(pkgdir / "Packages")) return {};
  auto index = parse_packages(read_file(pkgdir / "Packages"));
  return index ? index->packages : std::vector<PackagesEntry>{};
}

TEST_F(DroneFlowTest, HappyPathUploadsCompletesAndCleansUp) {
  m_orch->add_lease(lease("L1", "=dev-libs/foo-1.0"));
  m_orch->add_lease(lease("L2", "=app-misc/bar-2.3-r1"));
  m_orch->add_lease(lease("L3", "=sys-apps/baz-0.1_rc2"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(3); }, 60s)) << "completions: " << m_orch->completions().size();

  auto completions = m_orch->completions();
  ASSERT_EQ(completions.size(), 3u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"L1", "dev-libs/foo/foo-1.0-1.gpkg.tar"},
      {"L2", "app-misc/bar/bar-2.3-r1-1.gpkg.tar"},
      {"L3", "sys-apps/baz/baz-0.1_rc2-1.gpkg.tar"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& c = completions[i];
    EXPECT_EQ(c.lease_id, expected[i].first);
    EXPECT_EQ(c.result, "built");
    ASSERT_TRUE(c.path.has_value());
    EXPECT_EQ(*c.path, expected[i].second);
    const fs::path staged = m_orch->staged(c.lease_id, *c.path);
    ASSERT_TRUE(fs::exists(staged)) << staged;
    EXPECT_EQ(*sha256_file_hex(staged), c.sha256.value_or(""));
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(staged)), c.size.value_or(-1));
    EXPECT_EQ(c.log_path.value_or(""), "logs/" + c.lease_id + ".log");
    EXPECT_TRUE(fs::exists(m_orch->staged(c.lease_id, "logs/" + c.lease_id + ".log")));
    EXPECT_NE(c.log_tail.find(">>> Completed"), std::string::npos) << c.log_tail;
    EXPECT_FALSE(c.failure_class.has_value());
    EXPECT_TRUE(m_orch->answers()[i].accepted);
  }
  // The ledger (outside the swarm) agrees on what was built and its hash.
  const std::string ledger = read_file(m_dir / "ledger");
  for (const auto& c : completions) EXPECT_NE(ledger.find(c.sha256.value_or("?")), std::string::npos);

  // Local copies and their Packages entries go only after acceptance: wait for the clean-up.
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& [id, path] : expected)
          if (fs::exists(m_config.pkgdir / path)) return false;
        return local_entries(m_config.pkgdir).empty();
      },
      10s));
  EXPECT_TRUE(wait_for([&] { return fs::is_empty(m_config.work_dir / "journal"); }, 5s));
  // The per-attempt build logs stay on the drone.
  EXPECT_TRUE(fs::exists(m_config.work_dir / "logs" / "dev-libs_foo-1.0" / "1.log"));

  auto reg = m_gateway->last_registration();
  ASSERT_TRUE(reg.has_value());
  EXPECT_EQ(reg->name, kDrone);
  EXPECT_EQ(reg->report_ip, "127.0.0.1");
  EXPECT_GT(reg->control_port, 0);
  EXPECT_EQ(reg->binary_sha256.size(), 64u);
  EXPECT_EQ(reg->fingerprint.value("CHOST", ""), "x86_64-pc-linux-gnu");
  EXPECT_TRUE(reg->fingerprint.contains("PORTAGE_CONFIG_HASH"));
  EXPECT_TRUE(reg->fingerprint.contains("hash"));
}

TEST_F(DroneFlowTest, KeepBinariesLeavesTheLocalCopy) {
  m_config.keep_binaries = true;
  m_orch->add_lease(lease("K1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  ASSERT_TRUE(wait_for([&] { return fs::is_empty(m_config.work_dir / "journal"); }, 5s));
  EXPECT_TRUE(fs::exists(m_config.pkgdir / "dev-libs/foo/foo-1.0-1.gpkg.tar"));
  EXPECT_EQ(local_entries(m_config.pkgdir).size(), 1u);
}

TEST_F(DroneFlowTest, RetryUploadAnsweredOnceMeansOneMoreUploadAndNoRebuild) {
  m_orch->ask_retry_upload(1);
  m_orch->add_lease(lease("R1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(2); }, 30s));
  auto answers = m_orch->answers();
  EXPECT_TRUE(answers[0].retry_upload);
  EXPECT_TRUE(answers[1].accepted);
  auto completions = m_orch->completions();
  EXPECT_EQ(completions[0].sha256, completions[1].sha256);
  EXPECT_EQ(argv_log().size(), 1u) << "the binary must not be rebuilt";
  EXPECT_GE(m_drone->state().status().upload_attempts, 1);
  EXPECT_TRUE(wait_for([&] { return !fs::exists(m_config.pkgdir / "dev-libs/foo/foo-1.0-1.gpkg.tar"); }, 5s));
}

TEST_F(DroneFlowTest, DamagedInTransitIsUploadedAgain) {
  std::atomic<int> damaged{0};
  m_orch->on_complete([&](const CompleteRequest& c) {
    if (damaged.fetch_add(1) != 0) return;
    // Same size, different bytes: what a corrupted transfer looks like to the orchestrator.
    fs::path staged = m_orch->staged(c.lease_id, c.path.value_or(""));
    std::fstream f(staged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.write("XXXXXXXX", 8);
  });
  m_orch->add_lease(lease("D1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(2); }, 30s));
  auto answers = m_orch->answers();
  EXPECT_TRUE(answers[0].retry_upload);
  EXPECT_EQ(answers[0].reason, "sha256 mismatch");
  EXPECT_TRUE(answers[1].accepted) << answers[1].reason;
  EXPECT_EQ(argv_log().size(), 1u);
}

TEST_F(DroneFlowTest, FinalRefusalKeepsTheBinary) {
  m_orch->set_refusal("manifest does not verify");
  m_orch->add_lease(lease("F1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  ASSERT_TRUE(wait_for([&] { return fs::is_empty(m_config.work_dir / "journal"); }, 5s));
  EXPECT_TRUE(fs::exists(m_config.pkgdir / "dev-libs/foo/foo-1.0-1.gpkg.tar"));
  EXPECT_EQ(local_entries(m_config.pkgdir).size(), 1u);
}

TEST_F(DroneFlowTest, FailedBuildLeavingThePlaceholderIsReportedAndNeverUploaded) {
  control("FAKE_EMERGE_PLACEHOLDER_ONLY=dev-libs/foo-1.0\n");
  m_orch->add_lease(lease("P1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  auto c = m_orch->completions().at(0);
  EXPECT_EQ(c.result, "failed");
  EXPECT_EQ(c.failure_class.value_or(""), "build");
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_FALSE(c.path.has_value());
  EXPECT_FALSE(c.sha256.has_value());
  EXPECT_NE(c.log_tail.find("leaving the placeholder"), std::string::npos) << c.log_tail;
  EXPECT_FALSE(fs::exists(m_orch->staged("P1", "dev-libs"))) << "nothing but the log may be uploaded";
  EXPECT_TRUE(fs::exists(m_orch->staged("P1", "logs/P1.log")));
  EXPECT_FALSE(fs::exists(m_config.pkgdir / "dev-libs/foo/foo-1.0-1.gpkg.tar")) << "placeholder removed";
}

TEST_F(DroneFlowTest, ExitZeroWithoutBinaryIsNoBinary) {
  control("FAKE_EMERGE_NOFILE=*\n");
  m_orch->add_lease(lease("N1", "=dev-libs/foo-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  auto c = m_orch->completions().at(0);
  EXPECT_EQ(c.result, "failed");
  EXPECT_EQ(c.failure_class.value_or(""), "no_binary");
  EXPECT_EQ(c.exit_code, 0);
}

TEST_F(DroneFlowTest, CrashAndOomAreClassified) {
  control("FAKE_EMERGE_CRASH=dev-libs/foo-1.0\nFAKE_EMERGE_OOM=dev-libs/bar-1.0\nFAKE_EMERGE_OOM_MB=8\n");
  m_orch->add_lease(lease("C1", "=dev-libs/foo-1.0"));
  m_orch->add_lease(lease("C2", "=dev-libs/bar-1.0"));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(2); }, 30s));
  auto cs = m_orch->completions();
  EXPECT_EQ(cs[0].failure_class.value_or(""), "crash");
  EXPECT_EQ(cs[1].failure_class.value_or(""), "oom");
}

TEST_F(DroneFlowTest, CommandLineIsIdenticalOnEveryAttempt) {
  // EMERGE_DEFAULT_OPTS="--ask" on the drone: --ask=n keeps emerge from waiting for an answer.
  control("FAKE_EMERGE_FAIL=dev-libs/foo-1.0\n");
  m_config.emerge_command.insert(std::string("/usr/bin/env ").size(), "EMERGE_DEFAULT_OPTS=--ask ");
  for (int attempt = 1; attempt <= 3; ++attempt)
    m_orch->add_lease(lease("A" + std::to_string(attempt), "=dev-libs/foo-1.0:2::overlay", attempt, 60, attempt));
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(3); }, 30s));
  auto lines = argv_log();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], lines[1]);
  EXPECT_EQ(lines[1], lines[2]);
  EXPECT_EQ(lines[0], "--ask=n --oneshot --buildpkg --usepkg --getbinpkg --usepkg-exclude=dev-libs/foo --with-bdeps=y "
                      "=dev-libs/foo-1.0:2::overlay");
  for (const auto& c : m_orch->completions()) {
    EXPECT_EQ(c.failure_class.value_or(""), "build");
    // Portage's own reason is the last line (what the queue shows), the build output before it kept.
    const std::string last = c.log_tail.substr(c.log_tail.rfind('\n', c.log_tail.size() - 2) + 1);
    EXPECT_EQ(last, "ERROR: dev-libs/foo-1.0::overlay failed (compile phase): emake failed\n") << c.log_tail;
    EXPECT_NE(c.log_tail.find("make: *** [Makefile:42: all] Error 1"), std::string::npos) << c.log_tail;
  }
  // Each attempt has its own log.
  for (int attempt = 1; attempt <= 3; ++attempt)
    EXPECT_TRUE(fs::exists(m_config.work_dir / "logs/dev-libs_foo-1.0" / (std::to_string(attempt) + ".log")));
}

TEST_F(DroneFlowTest, BuildHangIsKilledAtTheTimeoutWithItsGrandchild) {
  control("FAKE_EMERGE_HANG=*\nFAKE_EMERGE_PIDFILE=" + (m_dir / "hang.pids").string() + "\n");
  m_orch->add_lease(lease("H1", "=dev-libs/foo-1.0", 1, /*timeout_s=*/2));
  start_drone();
  pid_t subshell = 0, grandchild = 0;
  // The stand-in writes the file in steps: wait until both pids are there.
  ASSERT_TRUE(wait_for(
      [&] {
        if (!fs::exists(m_dir / "hang.pids")) return false;
        std::istringstream pids(read_file(m_dir / "hang.pids"));
        pids >> subshell >> grandchild;
        return grandchild > 0;
      },
      20s));
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 20s));
  auto c = m_orch->completions().at(0);
  EXPECT_EQ(c.result, "failed");
  EXPECT_EQ(c.failure_class.value_or(""), "timeout");
  EXPECT_NE(c.log_tail.find("Compiling source"), std::string::npos) << c.log_tail;
  EXPECT_FALSE(process_alive(grandchild)) << "the grandchild survived";
  EXPECT_FALSE(process_alive(subshell)) << "the subshell survived";
  EXPECT_GE(c.duration_s, 2.0);
  EXPECT_LT(c.duration_s, 10.0);
}

TEST_F(DroneFlowTest, SyncRunsWhenTheLeaseNeedsANewerTreeAndItsFailureIsTheDrones) {
  // The stand-in sync brings the tree (no .git: metadata/timestamp.commit) to the revision it is given.
  fs::create_directories(m_dir / "repo" / "metadata");
  write_file(m_dir / "sync.sh", "#!/bin/sh\necho synced \"$SWARM_REPO_REVISION\" >> " + (m_dir / "syncs").string() +
                                    "\n[ \"$SWARM_REPO_REVISION\" != bad ] || exit 3\necho \"$SWARM_REPO_REVISION 1\" > " +
                                    (m_dir / "repo" / "metadata" / "timestamp.commit").string() + "\n");
  fs::permissions(m_dir / "sync.sh", fs::perms::owner_all);
  m_config.sync_command = (m_dir / "sync.sh").string();
  m_config.repo_dir = m_dir / "repo";
  auto l1 = lease("S1", "=dev-libs/foo-1.0");
  l1.repo_revision = "rev-1";
  auto l2 = lease("S2", "=dev-libs/bar-1.0");
  l2.repo_revision = "rev-1";  // already there: no second sync
  auto l3 = lease("S3", "=dev-libs/baz-1.0");
  l3.repo_revision = "bad";
  m_orch->add_lease(l1);
  m_orch->add_lease(l2);
  m_orch->add_lease(l3);
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(3); }, 30s));
  EXPECT_EQ(read_file(m_dir / "syncs"), "synced rev-1\nsynced bad\n");
  auto cs = m_orch->completions();
  EXPECT_EQ(cs[0].result, "built");
  EXPECT_EQ(cs[1].result, "built");
  EXPECT_EQ(cs[2].result, "failed");
  EXPECT_EQ(cs[2].failure_class.value_or(""), "sync");
  EXPECT_EQ(argv_log().size(), 2u) << "no build after a failed sync";
}

// Issue 10, defect 7: `--repo-revision deadbeef` with `--sync-command /bin/true` was "synced".
TEST_F(DroneFlowTest, ATreeNotAtTheLeasesRevisionAfterTheSyncFailsAndTheRunIsTakenNoMore) {
  ASSERT_EQ(run_shell("git init -q " + (m_dir / "repo").string()), 0);
  write_file(m_dir / "repo" / "file", "x\n");
  const std::string git = "git -C " + (m_dir / "repo").string() + " -c user.name=t -c user.email=t@example.org ";
  ASSERT_EQ(run_shell(git + "add file && " + git + "commit -q -m c && " + git + "rev-parse HEAD > " +
                      (m_dir / "head").string()),
            0);
  std::string head = read_file(m_dir / "head");
  head.pop_back();
  write_file(m_dir / "sync.sh", "#!/bin/sh\necho \"$SWARM_REPO_REVISION\" >> " + (m_dir / "syncs").string() + "\n");
  fs::permissions(m_dir / "sync.sh", fs::perms::owner_all);
  m_config.sync_command = (m_dir / "sync.sh").string();  // exits 0 and changes nothing, like /bin/true
  m_config.repo_dir = m_dir / "repo";

  auto bad = lease("R1", "=dev-libs/foo-1.0");
  bad.repo_revision = "deadbeef";
  m_orch->add_lease(bad);
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  auto c = m_orch->completions().at(0);
  EXPECT_EQ(c.result, "failed");
  EXPECT_EQ(c.failure_class.value_or(""), "sync");
  EXPECT_NE(c.log_tail.find("the lease needs deadbeef"), std::string::npos) << c.log_tail;
  EXPECT_TRUE(argv_log().empty()) << "emerge ran on the wrong tree";
  EXPECT_EQ(read_file(m_dir / "syncs"), "deadbeef\n");

  // More work of that run is handed back untouched: no sync, no build, no completion.
  auto same_run = lease("R2", "=dev-libs/bar-1.0");
  same_run.repo_revision = "deadbeef";
  m_orch->add_lease(same_run);
  ASSERT_TRUE(wait_for([&] { return m_orch->released().size() == 1; }, 30s));
  EXPECT_EQ(m_orch->released().at(0), "R2");
  EXPECT_EQ(read_file(m_dir / "syncs"), "deadbeef\n");
  EXPECT_EQ(m_orch->completions().size(), 1u);
  EXPECT_TRUE(argv_log().empty());

  // A run at the tree's revision (abbreviated) builds.
  auto good = lease("R3", "=dev-libs/baz-1.0");
  good.repo_revision = head.substr(0, 12);
  m_orch->add_lease(good);
  ASSERT_TRUE(wait_for([&] { return answered(2); }, 30s));
  EXPECT_EQ(m_orch->completions().at(1).result, "built");
  EXPECT_EQ(argv_log().size(), 1u);
  EXPECT_EQ(read_file(m_dir / "syncs"), "deadbeef\n") << "no sync for a tree already there";
}

TEST_F(DroneFlowTest, ARunWhoseRevisionTheTreeReachesLaterIsTakenAgain) {
  fs::create_directories(m_dir / "repo" / "metadata");
  write_file(m_dir / "repo" / "metadata" / "timestamp.commit", "aaaaaaaaaa 1\n");
  m_config.repo_dir = m_dir / "repo";  // the harness's sync is /bin/true
  auto l1 = lease("T1", "=dev-libs/foo-1.0");
  l1.repo_revision = "bbbbbbbbbb";
  m_orch->add_lease(l1);
  start_drone();
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));
  EXPECT_EQ(m_orch->completions().at(0).failure_class.value_or(""), "sync");

  // Someone brings the tree there: the next lease of the run builds.
  write_file(m_dir / "repo" / "metadata" / "timestamp.commit", "bbbbbbbbbb 2\n");
  auto l2 = lease("T2", "=dev-libs/bar-1.0");
  l2.repo_revision = "bbbbbbbbbb";
  m_orch->add_lease(l2);
  ASSERT_TRUE(wait_for([&] { return answered(2); }, 30s));
  EXPECT_EQ(m_orch->completions().at(1).result, "built");
  EXPECT_TRUE(m_orch->released().empty());
}

}  // namespace
}  // namespace swarm::test
