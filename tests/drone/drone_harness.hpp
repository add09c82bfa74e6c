#pragma once
// DroneHarness: the real Drone (in this process, on its own thread) against the fake gateway and
// orchestrator, a real sshd with rrsync, real rsync and the stand-in emerge.

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <memory>
#include <thread>

#include "common/process_runner.hpp"
#include "drone/drone.hpp"
#include "support/sshd_fixture.hpp"
#include "support/test_support.hpp"
#include "fake_swarm.hpp"

namespace swarm::test {

/// True while `pid` runs (a zombie runs nothing: it only waits to be reaped, maybe by nobody here).
inline bool process_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' && line[close + 2] != 'X';
}

class DroneHarness : public ::testing::Test {
 protected:
  static constexpr const char* kDrone = "drone-a";

  void SetUp() override {
    if (!std::filesystem::exists("/usr/sbin/sshd") || !std::filesystem::exists("/usr/bin/rrsync"))
      GTEST_SKIP() << "needs /usr/sbin/sshd and /usr/bin/rrsync";
    m_sshd = std::make_unique<SshdFixture>(m_dir / "staging", kDrone);
    ASSERT_TRUE(m_sshd->start()) << m_sshd->error();
    m_gateway = std::make_unique<FakeGateway>("drone-token");
    ASSERT_TRUE(m_gateway->start());
    m_orch = std::make_unique<FakeOrchestrator>(m_gateway->ticket(), m_sshd->staging_dir());
    ASSERT_TRUE(m_orch->start());
    m_gateway->set_orchestrator(m_orch->url());

    write_file(m_dir / "token", "drone-token\n");
    write_file(m_dir / "control", "");
    std::filesystem::create_directories(m_dir / "pkgdir");
    std::filesystem::create_directories(m_dir / "etc-portage");
    write_file(m_dir / "etc-portage" / "package.use", "dev-libs/foo bar\n");
    const std::string fake = (source_dir() / "tests/support/fake-emerge").string();
    m_config.gateway_url = m_gateway->url();
    m_config.name = kDrone;
    m_config.token_file = m_dir / "token";
    m_config.report_ip = "127.0.0.1";
    m_config.emerge_command = "/usr/bin/env FAKE_EMERGE_CONTROL=" + (m_dir / "control").string() +
                              " FAKE_EMERGE_ARGV_LOG=" + (m_dir / "argv.log").string() +
                              " FAKE_EMERGE_LEDGER=" + (m_dir / "ledger").string() + " FAKE_EMERGE_DRONE=" + kDrone +
                              " " + fake;
    m_config.emerge_info_command = fake + " --info";
    m_config.sync_command = "/bin/true";
    m_config.portage_dir = m_dir / "etc-portage";
    m_config.pkgdir = m_dir / "pkgdir";
    m_config.work_dir = m_dir / "work";
    m_config.upload_key = m_sshd->user_key();
    m_config.known_hosts = m_sshd->known_hosts();
    m_config.ssh_host_key_file = m_dir / "no-host-key.pub";
    m_config.control_listen = "127.0.0.1:0";
    m_config.min_free_mb = 0;
    m_config.http_timeout_s = 5;
    m_config.work_poll_timeout_s = 5;
    m_config.renew_interval_s = 0.2;
    m_config.upload_connect_timeout_s = 2;
    m_config.upload_alive_interval_s = 1;
    m_config.staging_stall_timeout_s = 2;
    m_config.upload_timeout_s = 30;
    m_config.kill_grace_s = 1;
    m_config.backoff_initial_s = 0.05;
    m_config.backoff_max_s = 0.5;
    m_config.complete_backoff_initial_s = 0.05;
    m_config.complete_backoff_max_s = 0.5;
    m_config.log_level = "debug";
  }

  void TearDown() override {
    stop_drone();
    m_orch.reset();
    m_gateway.reset();
    if (m_sshd) m_sshd->stop();
  }

  /// Writes the stand-in emerge's control file (KEY=value lines).
  void control(const std::string& lines) { write_file(m_dir / "control", lines); }

  WorkLease lease(const std::string& id, const std::string& atom, int64_t attempt = 1, int64_t timeout_s = 60,
                  int64_t fence = 1) const {
    WorkLease l;
    l.lease_id = id;
    l.fence = fence;
    l.atom = atom;
    l.attempt = attempt;
    l.lease_ttl_s = 30;
    l.timeout_s = timeout_s;
    l.orchestrator = m_orch->url();
    l.upload = UploadTarget{"127.0.0.1", m_sshd->user(), m_sshd->port(), id + "/"};
    return l;
  }

  void start_drone() {
    ASSERT_FALSE(m_drone);
    m_exit_code = -1;
    m_drone = std::make_unique<drone::Drone>(m_config, m_clock, m_runner);
    m_thread = std::thread([this] { m_exit_code = m_drone->run(); });
  }

  /// Asks for a hard stop and joins; the journal stays as it is.
  void stop_drone() {
    if (!m_drone) return;
    m_drone->state().request_hard_stop();
    if (m_thread.joinable()) m_thread.join();
    m_drone.reset();
  }

  /// Waits for run() to return by itself.
  bool wait_drone_exit(std::chrono::milliseconds deadline) {
    bool ended = wait_for([&] { return m_exit_code.load() != -1; }, deadline);
    if (ended && m_thread.joinable()) m_thread.join();
    return ended;
  }

  std::vector<std::string> argv_log() const {
    std::vector<std::string> lines;
    if (!std::filesystem::exists(m_dir / "argv.log")) return lines;
    std::istringstream in(read_file(m_dir / "argv.log"));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  bool answered(size_t n) const { return m_orch->answers().size() >= n; }

  TempDir m_dir;
  std::unique_ptr<SshdFixture> m_sshd;
  std::unique_ptr<FakeGateway> m_gateway;
  std::unique_ptr<FakeOrchestrator> m_orch;
  drone::DroneConfig m_config;
  std::shared_ptr<Clock> m_clock = system_clock();
  PosixProcessRunner m_runner{system_clock()};
  std::unique_ptr<drone::Drone> m_drone;
  std::thread m_thread;
  std::atomic<int> m_exit_code{-1};
};

}  // namespace swarm::test
