// run_cli against a fake gateway: read commands, drone names, usage, reachability, local commands.

#include "cli_fixture.hpp"
#include "common/fingerprint.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

TEST_F(CliTest, StatusShowsCountsAndAProgressBarPerRun) {
  auto r = run({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Drones: 2 idle, 1 building, 1 offline, 1 pending (12 cores)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Drones given no work:\n  beta-builder: fingerprint differs: CFLAGS\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Queue:  126 requests: 62 needed, 1 leased, 61 published, 2 quarantined; 5 ready to build\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  NAME   URL                   STATE  DRONES\n  amd64  http://10.0.0.2:8080  up     3\n"),
            std::string::npos)
      << r.out;
  // 24 cells: one for each non-zero state, the other 20 shared by largest remainders.
  EXPECT_NE(r.out.find("[###########>...........!]  63/126  running   62 needed, 1 leased, 2 quarantined"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[########################]  4/4     complete"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# published"), std::string::npos);
}

TEST_F(CliTest, StatusWithAnOrchestratorDownSaysSoAndFails) {
  gateway.status["orchestrators"] = json::parse(
      R"([{"name": "amd64", "url": "http://10.0.0.2:8080", "up": false, "drones": 0, "error": "connection refused"}])");
  gateway.status["queue"] = json::object();
  gateway.status["runs"] = json::array();
  auto r = run({"status"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("Queue:  unknown (no orchestrator reachable)\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("empty"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("orchestrator 'amd64' (http://10.0.0.2:8080) is unreachable: connection refused"),
            std::string::npos)
      << r.err;
  auto j = run({"status", "--json"});
  EXPECT_EQ(j.code, 1);
  EXPECT_EQ(json::parse(j.out), gateway.status);
  // One of two down: the counts are the other's, marked as partial.
  gateway.status = swarm::test::canned_status();
  gateway.status["orchestrators"].push_back({{"name", "arm64"}, {"url", "http://10.0.0.3:8080"}, {"up", false}});
  r = run({"status"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("5 ready to build (not counted: 1 unreachable orchestrator)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("orchestrator 'arm64' (http://10.0.0.3:8080) is unreachable"), std::string::npos) << r.err;
}

TEST_F(CliTest, JsonPrintsTheApiAnswerAsItIs) {
  for (const auto& [cmd, expected] : std::vector<std::pair<std::string, json>>{
           {"status", gateway.status}, {"drones", gateway.nodes}, {"queue", gateway.queue}}) {
    auto r = run({cmd, "--json"});
    ASSERT_EQ(r.code, 0) << cmd << r.err;
    EXPECT_EQ(json::parse(r.out), expected) << cmd;
    EXPECT_EQ(lines_of(r.out).size(), 1u) << "raw compact JSON, one line: " << cmd;
  }
  auto r = run({"--json", "alpha", "status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["lease"]["lease_id"], "L-1");
}

TEST_F(CliTest, DronesTableIsAlignedWithAgesAndFingerprints) {
  auto r = run({"drones"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 7u) << r.out;
  const std::string& header = lines[0];
  EXPECT_EQ(header.rfind("NAME", 0), 0u);
  for (const char* col : {"APPROVAL", "ACTIVITY", "ADDRESS", "CORES", "LAST SEEN", "FINGERPRINT"}) {
    size_t at = header.find(col);
    ASSERT_NE(at, std::string::npos) << col;
    for (size_t i = 1; i <= 5; ++i) {
      ASSERT_GT(lines[i].size(), at) << lines[i];
      EXPECT_NE(lines[i][at], ' ') << col << " misaligned in: " << lines[i];
      EXPECT_EQ(lines[i][at - 1], ' ') << col << " misaligned in: " << lines[i];
    }
  }
  EXPECT_NE(lines[1].find("alpha-builder"), std::string::npos);
  EXPECT_NE(lines[1].find("dev-libs/foo-1.2"), std::string::npos);
  EXPECT_NE(lines[1].find("30s ago"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("10.0.0.6 (from 192.168.1.6)"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("differs: CFLAGS"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("16m ago"), std::string::npos) << lines[3];
  EXPECT_EQ(lines[6], "5 drones: 3 idle, 1 building; 1 pending approval; 12 cores");
}

TEST_F(CliTest, QueueFiltersByStateAndCounts) {
  auto r = run({"queue", "--state", "needed"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(gateway.last("GET", "/api/v1/queue").target, "/api/v1/queue?state=needed");
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], "ORCHESTRATOR  ATOM                   STATE   ATTEMPTS  DRONE  REASON");
  EXPECT_EQ(lines[1], "amd64         dev-libs/bar-2.0       needed  0         -      waiting on dev-libs/foo-1.2");
  EXPECT_EQ(lines[3], "2 requests: 2 needed");

  r = run({"queue"});
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("4 requests: 2 needed, 1 leased, 1 published\n"), std::string::npos) << r.out;

  size_t before = gateway.calls().size();
  r = run({"queue", "--state", "sleeping"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("sleeping"), std::string::npos);
  EXPECT_EQ(gateway.calls().size(), before) << "a usage error sends nothing";
}

TEST_F(CliTest, GatewayComesFromFlagThenEnvironmentThenConfigFiles) {
  auto conf = dir / "cli.conf";
  test::write_file(conf, "gateway = " + gateway.url() + "\n");
  auto r = run_raw({"--config", conf.string(), "status"});
  EXPECT_EQ(r.code, 0) << r.err;

  // The user's own config file is read when no --config is given.
  r = run_raw({"status"}, conf);
  EXPECT_EQ(r.code, 0) << r.err;

  setenv("BUILD_SWARM_GATEWAY", "http://127.0.0.1:1", 1);
  r = run_raw({"--config", conf.string(), "status"});
  EXPECT_EQ(r.code, 1) << "the environment beats the file";
  EXPECT_NE(r.err.find("cannot reach the gateway at http://127.0.0.1:1"), std::string::npos) << r.err;
  r = run_raw({"--config", conf.string(), "--gateway", gateway.url(), "status"});
  EXPECT_EQ(r.code, 0) << "the flag beats the environment: " << r.err;
}

TEST_F(CliTest, DroneNamesMatchPartiallyAndCaseInsensitively) {
  auto r = admin({"ALPHA", "status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(gateway.last("GET", "/api/v1/drones/").target, "/api/v1/drones/alpha-builder");
  EXPECT_NE(r.out.find("lease:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dev-libs/baz-1"), std::string::npos) << r.out;

  r = admin({"gamma.LAN", "restart"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(gateway.last("POST", "/api/v1/drones/").target, "/api/v1/drones/Gamma/restart");
  EXPECT_EQ(gateway.last("POST", "/api/v1/drones/").bearer, "admin-secret");
  EXPECT_EQ(r.out, "Gamma: restart requested\n");

  r = admin({"10.0.0.6", "ip"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "10.0.0.6\n");

  r = admin({"build1", "drain"});  // exact beats partial (build10)
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(gateway.last("POST", "/api/v1/drones/").target, "/api/v1/drones/build1/drain");

  r = admin({"node", "beta", "logs", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(gateway.last("GET", "/api/v1/drones/").target, "/api/v1/drones/beta-builder/logs?lines=2");
  EXPECT_EQ(r.out, "beta-builder line 1\nbeta-builder line 2\n");

  r = admin({"alpha", "queue"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("dev-libs/foo-1.2"), std::string::npos);
  EXPECT_EQ(r.out.find("sys-libs/zlib"), std::string::npos) << "another drone's request: " << r.out;
}

TEST_F(CliTest, AmbiguousDroneListsCandidatesAndExitsTwo) {
  size_t before = gateway.calls().size();
  auto r = admin({"builder", "restart"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'builder' matches 2 drones"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  alpha-builder (10.0.0.5)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  beta-builder (10.0.0.6)"), std::string::npos) << r.err;
  auto calls = gateway.calls();
  ASSERT_EQ(calls.size(), before + 1);
  EXPECT_EQ(calls.back().target, "/api/v1/nodes") << "nothing is restarted";
}

TEST_F(CliTest, UnknownDroneExitsOne) {
  auto r = admin({"zeta", "status"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no drone matches 'zeta'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("alpha-builder"), std::string::npos) << "the known drones are listed: " << r.err;
}

TEST_F(CliTest, DroneActionUsageErrors) {
  EXPECT_EQ(admin({"alpha", "logs", "lots"}).code, 2);
  EXPECT_EQ(admin({"alpha", "logs", "0"}).code, 2);
  EXPECT_EQ(admin({"alpha", "restart", "now"}).code, 2);
  EXPECT_EQ(admin({"alpha", "explode"}).code, 2);
  auto r = admin({"alpha", "ssh"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not implemented yet"), std::string::npos);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{{},
                                                                {"frobnicate"},
                                                                {"status", "--bogus"},
                                                                {"status", "extra"},
                                                                {"drone"},
                                                                {"drone", "approve"},
                                                                {"token", "create"},
                                                                {"binhost", "client-config", "ftp://x"},
                                                                {"--timeout", "0", "status"}}) {
    auto r = run(args);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(r.code, 2) << shown << r.out << r.err;
    EXPECT_FALSE(r.err.empty()) << shown;
  }
  auto r = run({"frobnicate"});
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
}

TEST_F(CliTest, HelpAndVersionExitZero) {
  auto r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Exit codes: 0 ok, 1 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not yet implemented"), std::string::npos) << r.out;
  r = run({"submit", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--from-emerge"), std::string::npos) << r.out;
  r = run({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find(BUILD_SWARM_VERSION), std::string::npos);
}

TEST_F(CliTest, PushIsNotImplementedYet) {
  auto r = run({"push", "--only", "alpha"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("push is not implemented yet"), std::string::npos) << r.err;
}

TEST_F(CliTest, UnreachableGatewayExitsOneWithAClearMessage) {
  uint16_t port = 0;
  {
    HttpServer probe(HttpServerOptions{});
    auto p = probe.start();
    ASSERT_TRUE(p.ok());
    port = *p;
    probe.stop();
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (const char* cmd : {"status", "drones", "queue"}) {
    auto r = run({"--gateway", url, cmd}, false);
    EXPECT_EQ(r.code, 1) << cmd;
    EXPECT_NE(r.err.find("build-swarm: cannot reach the gateway at " + url), std::string::npos) << r.err;
  }
  auto r = run({"--gateway", "localhost:8090", "status"}, false);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad gateway URL"), std::string::npos) << r.err;
}

TEST_F(CliTest, SlowGatewayTimesOut) {
  // A gateway base URL under which every path is held unanswered.
  auto r = run({"--gateway", gateway.url() + "/api/v1/slow", "--timeout", "0.3", "status"}, false);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
  gateway.release_held();
}

TEST_F(CliTest, FingerprintPrintsKeyValueLinesAndHash) {
  auto info = test::fixture("emerge-info-02-portage-3.0.20-amd64-17.1-plasma-systemd-2021.txt");
  auto portage = dir / "portage";
  std::filesystem::create_directories(portage);
  auto r =
      run({"fingerprint", "--emerge-info-command", "cat " + info.string(), "--portage-dir", portage.string()}, false);
  ASSERT_EQ(r.code, 0) << r.err;
  auto expected = parse_emerge_info(test::read_file(info));
  ASSERT_TRUE(expected.ok());
  expected->values[kPortageConfigHashKey] = hash_portage_config(portage);
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), expected->values.size() + 1);
  EXPECT_EQ(lines.back(), "hash=" + expected->hash());
  EXPECT_EQ(lines.front(), expected->values.begin()->first + "=" + expected->values.begin()->second);
  EXPECT_NE(r.out.find("CFLAGS=-O2 -march=haswell -pipe\n"), std::string::npos) << r.out;

  r = run({"--json", "fingerprint", "--emerge-info-command", "cat " + info.string(), "--portage-dir", portage.string()},
          false);
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(json::parse(r.out)["hash"], expected->hash());

  r = run({"fingerprint", "--emerge-info-command", "echo not emerge"}, false);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("CHOST"), std::string::npos) << r.err;
}

TEST_F(CliTest, BinhostClientConfig) {
  auto r = run({"binhost", "client-config", "http://orch.lan:8080/"}, false);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("[swarm]\npriority = 10\nsync-uri = http://orch.lan:8080/binhost\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("verify-signature"), std::string::npos);
}

}  // namespace
}  // namespace swarm::cli
