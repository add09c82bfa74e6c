#include "drone/drone_config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "common/config.hpp"
#include "support/test_support.hpp"

namespace swarm::drone {
namespace {

namespace fs = std::filesystem;

TEST(DroneConfigTest, SplitCommandOnWhiteSpace) {
  EXPECT_EQ(split_command("  emerge   --info\t-v "), (std::vector<std::string>{"emerge", "--info", "-v"}));
  EXPECT_TRUE(split_command("   ").empty());
}

TEST(DroneConfigTest, SecondsToMilliseconds) {
  EXPECT_EQ(seconds_ms(1.5).count(), 1500);
  EXPECT_EQ(seconds_ms(-3).count(), 0);
  EXPECT_EQ(seconds_ms(0.0004).count(), 0);
}

TEST(DroneConfigTest, FlagsEnvironmentAndFile) {
  test::TempDir dir;
  test::write_file(dir / "drone.conf", "name = from-file\nmin-free-mb = 123\nstaging-stall-timeout = 7.5\nkeep-binaries = true\n");
  ::setenv("REPORT_IP", "10.0.0.9", 1);
  CLI::App app;
  DroneConfig c;
  add_drone_options(app, c);
  Config loader(app, "drone");
  auto code = loader.parse({"--config", (dir / "drone.conf").string(), "--gateway", "http://gw:8090", "--name", "flag"});
  ::unsetenv("REPORT_IP");
  ASSERT_FALSE(code.has_value());
  EXPECT_EQ(c.gateway_url, "http://gw:8090");
  EXPECT_EQ(c.name, "flag");
  EXPECT_EQ(c.report_ip, "10.0.0.9");
  EXPECT_EQ(c.min_free_mb, 123);
  EXPECT_DOUBLE_EQ(c.staging_stall_timeout_s, 7.5);
  EXPECT_TRUE(c.keep_binaries);
}

TEST(DroneConfigTest, CheckFindsEveryProblem) {
  DroneConfig c;
  c.name = "bad name";
  c.token_file = "/nonexistent/token";
  c.emerge_command = "/nonexistent/emerge";
  c.control_listen = "nowhere";
  c.log_level = "loud";
  c.backoff_initial_s = 5;
  c.backoff_max_s = 1;
  auto problems = check_drone_config(c);
  auto mentions = [&](const std::string& what) {
    for (const auto& p : problems)
      if (p.find(what) != std::string::npos) return true;
    return false;
  };
  for (const char* what : {"--gateway", "--name", "--token-file", "--emerge-command", "--control-listen", "--log-level",
                           "--backoff-initial", "--upload-key", "--known-hosts"})
    EXPECT_TRUE(mentions(what)) << what;
}

TEST(DroneConfigTest, AGoodConfigPasses) {
  test::TempDir dir;
  test::write_file(dir / "token", "secret\n");
  test::write_file(dir / "key", "k");
  test::write_file(dir / "known_hosts", "");
  fs::create_directories(dir / "pkgdir");
  DroneConfig c;
  c.gateway_url = "http://127.0.0.1:8090";
  c.name = "drone-1";
  c.token_file = dir / "token";
  c.emerge_command = "/bin/true";
  c.emerge_info_command = "/bin/echo info";
  c.sync_command = "";
  c.pkgdir = dir / "pkgdir";
  c.work_dir = dir / "work";
  c.upload_key = dir / "key";
  c.known_hosts = dir / "known_hosts";
  auto problems = check_drone_config(c);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

}  // namespace
}  // namespace swarm::drone
