// The sshd fixture itself: a real sshd whose only use is rrsync into STAGING/<drone>.
#include "support/sshd_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>

#include "drone/uploader.hpp"
#include "common/crypto.hpp"
#include "common/process_runner.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;

class SshdFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/sbin/sshd") || !fs::exists("/usr/bin/rrsync")) GTEST_SKIP() << "needs sshd and rrsync";
    m_sshd = std::make_unique<SshdFixture>(m_dir / "staging", "drone-a");
    ASSERT_TRUE(m_sshd->start()) << m_sshd->error();
    write_file(m_dir / "src/cat/pn/pn-1.0-1.gpkg.tar", std::string(100'000, 'x'));
  }

  drone::UploadSettings settings(const fs::path& known_hosts) const {
    drone::UploadSettings s;
    s.key = m_sshd->user_key();
    s.known_hosts = known_hosts;
    s.connect_timeout = std::chrono::seconds(3);
    s.alive_interval = std::chrono::seconds(1);
    s.stall_timeout = std::chrono::seconds(3);
    s.overall_timeout = std::chrono::seconds(20);
    return s;
  }

  Status upload(const fs::path& known_hosts, const std::string& dest = "L1/") {
    PosixProcessRunner runner;
    drone::Uploader up(runner, settings(known_hosts));
    return up.upload(m_dir / "src", {"./cat/pn/pn-1.0-1.gpkg.tar"},
                     UploadTarget{"127.0.0.1", m_sshd->user(), m_sshd->port(), dest}, m_dir / "rsync.log", nullptr);
  }

  TempDir m_dir;
  std::unique_ptr<SshdFixture> m_sshd;
};

TEST_F(SshdFixtureTest, RsyncLandsInTheDronesStagingDirectory) {
  auto st = upload(m_sshd->known_hosts());
  ASSERT_TRUE(st.ok()) << st.error().message << "\n" << m_sshd->log();
  const fs::path landed = m_dir / "staging/drone-a/L1/cat/pn/pn-1.0-1.gpkg.tar";
  ASSERT_TRUE(fs::exists(landed));
  EXPECT_EQ(*sha256_file_hex(landed), *sha256_file_hex(m_dir / "src/cat/pn/pn-1.0-1.gpkg.tar"));
  // Again, over a damaged copy of the same size: rsync must not skip it.
  write_file(landed, std::string(100'000, 'y'));
  ASSERT_TRUE(upload(m_sshd->known_hosts()).ok());
  EXPECT_EQ(*sha256_file_hex(landed), *sha256_file_hex(m_dir / "src/cat/pn/pn-1.0-1.gpkg.tar"));
}

TEST_F(SshdFixtureTest, RrsyncKeepsUploadsInsideTheRoot) {
  EXPECT_FALSE(upload(m_sshd->known_hosts(), "../escape/").ok());  // refused before rsync runs
  EXPECT_FALSE(fs::exists(m_dir / "staging/escape"));
}

TEST_F(SshdFixtureTest, AnUnpinnedHostKeyIsRefused) {
  write_file(m_dir / "empty_known_hosts", "");
  auto st = upload(m_dir / "empty_known_hosts");
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fs::exists(m_dir / "staging/drone-a/L1"));
}

TEST_F(SshdFixtureTest, TheKeyCannotRunOtherCommands) {
  int rc = run_shell("ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" +
                     m_sshd->known_hosts().string() + " -i " + m_sshd->user_key().string() + " -p " +
                     std::to_string(m_sshd->port()) + " " + m_sshd->user() + "@127.0.0.1 'touch " +
                     (m_dir / "pwned").string() + "' </dev/null >/dev/null 2>&1");
  EXPECT_NE(rc, 0);
  EXPECT_FALSE(fs::exists(m_dir / "pwned"));
}

TEST_F(SshdFixtureTest, StoppedServerMakesTheUploadFailWithinItsTimeouts) {
  m_sshd->signal_tree(SIGSTOP);
  auto t0 = std::chrono::steady_clock::now();
  auto st = upload(m_sshd->known_hosts());
  auto took = std::chrono::steady_clock::now() - t0;
  m_sshd->signal_tree(SIGCONT);
  EXPECT_FALSE(st.ok());
  EXPECT_LT(took, std::chrono::seconds(8));
  EXPECT_TRUE(upload(m_sshd->known_hosts()).ok());
}

TEST_F(SshdFixtureTest, StopIsIdempotentAndFreesThePort) {
  pid_t pid = m_sshd->pid();
  m_sshd->stop();
  m_sshd->stop();
  EXPECT_NE(::kill(pid, 0), 0);
}

}  // namespace
}  // namespace swarm::test
