#pragma once
// CliTest: runs build-swarm command lines through run_cli against a FakeGateway, hermetically (an
// empty config file, no BUILD_SWARM_* variables, a fake clock).

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "build-swarm/cli.hpp"
#include "common/clock.hpp"
#include "fake_gateway.hpp"
#include "support/test_support.hpp"

namespace swarm::cli {

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("BUILD_SWARM_GATEWAY");
    unsetenv("BUILD_SWARM_ADMIN_TOKEN");
    token_file = dir / "admin.token";
    test::write_file(token_file, "admin-secret\n");
    empty_config = dir / "empty.conf";
    test::write_file(empty_config, "# nothing\n");
  }
  void TearDown() override {
    unsetenv("BUILD_SWARM_GATEWAY");
    unsetenv("BUILD_SWARM_ADMIN_TOKEN");
  }

  // Runs the CLI with an empty config file (so no machine's own config leaks in) and a fake clock.
  CliRun run(std::vector<std::string> args, bool with_gateway = true) {
    if (with_gateway) args.insert(args.begin(), {"--gateway", gateway.url()});
    args.insert(args.begin(), {"--config", empty_config.string()});
    return run_raw(args);
  }
  CliRun admin(std::vector<std::string> args) {
    args.insert(args.begin(), {"--admin-token-file", token_file.string()});
    return run(args);
  }
  CliRun run_raw(const std::vector<std::string>& args, std::filesystem::path user_config = {}) {
    std::ostringstream out, err;
    CliContext ctx;
    ctx.user_config_file = std::move(user_config);
    ctx.clock = clock;
    CliRun r;
    r.code = run_cli(args, out, err, ctx);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  test::TempDir dir;
  test::FakeGateway gateway;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::filesystem::path token_file;
  std::filesystem::path empty_config;
};

inline nlohmann::json body_of(const test::RecordedCall& call) { return nlohmann::json::parse(call.body); }

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace swarm::cli
