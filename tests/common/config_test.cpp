#include "common/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "support/test_support.hpp"

namespace swarm {
namespace {

struct Opts {
  std::string gateway = "http://localhost:8090";
  int port = 8070;
  bool verbose = false;
  std::vector<std::string> orchestrators;
};

void add(CLI::App& app, Opts& o) {
  app.add_option("--gateway", o.gateway, "Gateway URL")->envname("SWARM_TEST_GATEWAY_URL");
  app.add_option("--port", o.port, "Port");
  app.add_flag("--verbose", o.verbose, "Verbose");
  app.add_option("--orchestrator", o.orchestrators, "Orchestrators");
}

TEST(ConfigTest, PrecedenceFlagOverEnvOverFileOverDefault) {
  test::TempDir dir;
  auto file = dir / "x.conf";
  test::write_file(file, "# comment\ngateway = http://file:1\nport = 9000\nverbose = true\norchestrator = http://o1\norchestrator = http://o2\n");
  {
    unsetenv("SWARM_TEST_GATEWAY_URL");
    CLI::App app("t");
    Opts o;
    add(app, o);
    Config c(app, "x");
    EXPECT_FALSE(c.parse({"--config", file.string()}).has_value());
    EXPECT_EQ(o.gateway, "http://file:1");
    EXPECT_EQ(o.port, 9000);
    EXPECT_TRUE(o.verbose);
    EXPECT_EQ(o.orchestrators, (std::vector<std::string>{"http://o1", "http://o2"}));
  }
  {
    setenv("SWARM_TEST_GATEWAY_URL", "http://env:2", 1);
    CLI::App app("t");
    Opts o;
    add(app, o);
    Config c(app, "x");
    EXPECT_FALSE(c.parse({"--config", file.string()}).has_value());
    EXPECT_EQ(o.gateway, "http://env:2");
    EXPECT_EQ(o.port, 9000);
  }
  {
    CLI::App app("t");
    Opts o;
    add(app, o);
    Config c(app, "x");
    EXPECT_FALSE(c.parse({"--config", file.string(), "--gateway", "http://flag:3", "--port", "1"}).has_value());
    EXPECT_EQ(o.gateway, "http://flag:3");
    EXPECT_EQ(o.port, 1);
    unsetenv("SWARM_TEST_GATEWAY_URL");
  }
  {
    CLI::App app("t");
    Opts o;
    add(app, o);
    Config c(app, "nonexistent-exe-name");
    EXPECT_FALSE(c.parse(std::vector<std::string>{}).has_value());
    EXPECT_EQ(o.gateway, "http://localhost:8090");
    EXPECT_EQ(o.port, 8070);
  }
}

TEST(ConfigTest, BadInputsExitWithUsageCode) {
  test::TempDir dir;
  auto bad_key = dir / "bad.conf";
  test::write_file(bad_key, "no-such-option = 1\n");
  auto bad_value = dir / "badv.conf";
  test::write_file(bad_value, "port = notanumber\n");
  for (auto args : std::vector<std::vector<std::string>>{
           {"--config", bad_key.string()}, {"--config", bad_value.string()}, {"--config", (dir / "missing").string()},
           {"--port", "x"}, {"--unknown-flag"}}) {
    CLI::App app("t");
    Opts o;
    add(app, o);
    Config c(app, "x");
    auto rc = c.parse(args);
    ASSERT_TRUE(rc.has_value()) << args[0];
    EXPECT_EQ(*rc, 2);
  }
}

TEST(ConfigTest, HelpMentionsEnvironmentAndConfig) {
  CLI::App app("t");
  Opts o;
  add(app, o);
  Config c(app, "x");
  std::string help = app.help();
  EXPECT_NE(help.find("SWARM_TEST_GATEWAY_URL"), std::string::npos);
  EXPECT_NE(help.find("/etc/build-swarm/x.conf"), std::string::npos);
}

TEST(ConfigTest, ParsesConfigText) {
  auto r = parse_config_text("a = 1\nb_c \"quoted\"\n[section]\n--d=x\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->find("a")->second, "1");
  EXPECT_EQ(r->find("b-c")->second, "quoted");
  EXPECT_EQ(r->find("d")->second, "x");
  EXPECT_FALSE(parse_config_text("B@d = 1\n").ok());
}

}  // namespace
}  // namespace swarm
