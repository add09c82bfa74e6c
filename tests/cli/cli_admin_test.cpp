// run_cli against a fake gateway: submissions, queue actions, tokens, where the admin token and the
// gateway URL come from, API errors.

#include "cli_fixture.hpp"
#include "common/fingerprint.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

TEST_F(CliTest, SubmitAtomsSendsNormalisedAtomsWithTheAdminToken) {
  auto r = admin({"submit", "=dev-libs/foo-1.2", "sys-libs/zlib-1.3-r2:0/1::gentoo", "--repo-revision", "abc123",
                  "--orchestrator", "amd64"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto call = gateway.last("POST", "/api/v1/queue");
  EXPECT_EQ(call.bearer, "admin-secret");
  json body = body_of(call);
  ASSERT_EQ(body["packages"].size(), 2u);
  EXPECT_EQ(body["packages"][0]["atom"], "dev-libs/foo-1.2");
  EXPECT_EQ(body["packages"][1]["atom"], "sys-libs/zlib-1.3-r2:0/1::gentoo");
  EXPECT_EQ(body["packages"][1]["rebuild"], false);
  EXPECT_EQ(body["repo_revision"], "abc123");
  EXPECT_EQ(body["orchestrator"], "amd64");
  EXPECT_EQ(body["fingerprint"], json::object());
  EXPECT_NE(r.out.find("Submitted 2 packages as run 7: 1 added, 1 skipped"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cycle broken: media-libs/freetype-2.13 no longer waits for media-libs/harfbuzz-8.0"),
            std::string::npos);
}

TEST_F(CliTest, SubmitFileSkipsCommentsAndBlankLines) {
  auto list = dir / "atoms.txt";
  test::write_file(list, "# world update\n\ndev-libs/foo-1.2\n  =app-misc/bar-3.0-r1   # trailing comment\n\n");
  auto r = admin({"submit", "--file", list.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  json body = body_of(gateway.last("POST", "/api/v1/queue"));
  ASSERT_EQ(body["packages"].size(), 2u);
  EXPECT_EQ(body["packages"][0]["atom"], "dev-libs/foo-1.2");
  EXPECT_EQ(body["packages"][1]["atom"], "app-misc/bar-3.0-r1");

  test::write_file(list, "dev-libs/foo-1.2\nnot an atom\n");
  r = admin({"submit", "--file", list.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
}

TEST_F(CliTest, SubmitGraphSendsDepsAndDurations) {
  auto graph = dir / "graph.json";
  test::write_file(graph, R"({"packages":[
      {"atom":"dev-libs/foo-1.2","duration_s":300,"deps":["dev-libs/bar-2.0"]},
      {"atom":"dev-libs/bar-2.0","duration_s":60,"priority":5}]})");
  auto r = admin({"submit", "--graph", graph.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  json body = body_of(gateway.last("POST", "/api/v1/queue"));
  ASSERT_EQ(body["packages"].size(), 2u);
  EXPECT_EQ(body["packages"][0]["atom"], "dev-libs/foo-1.2");
  EXPECT_EQ(body["packages"][0]["duration_s"], 300);
  EXPECT_EQ(body["packages"][0]["deps"], json::array({"dev-libs/bar-2.0"}));
  EXPECT_EQ(body["packages"][1]["priority"], 5);

  test::write_file(graph, R"({"packages":[{"atom":"dev-libs/foo-1.2","deps":"dev-libs/bar-2.0"}]})");
  r = admin({"submit", "--graph", graph.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("packages[0]"), std::string::npos) << r.err;
}

TEST_F(CliTest, SubmitWithFingerprintSendsThisMachinesFingerprint) {
  auto info = test::fixture("emerge-info-01-portage-3.0.72-amd64-23.0-nomultilib-systemd.txt");
  auto portage = dir / "portage";
  test::write_file(portage / "package.use" / "x", "dev-libs/foo bar\n");
  auto r = admin({"submit", "dev-libs/foo-1.2", "--fingerprint", "--emerge-info-command", "cat '" + info.string() + "'",
                  "--portage-dir", portage.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  auto expected = parse_emerge_info(test::read_file(info));
  ASSERT_TRUE(expected.ok());
  expected->values[kPortageConfigHashKey] = hash_portage_config(portage);
  json body = body_of(gateway.last("POST", "/api/v1/queue"));
  EXPECT_EQ(body["fingerprint"], expected->to_json());
  EXPECT_EQ(body["fingerprint"]["CHOST"], "x86_64-pc-linux-gnu");

  size_t before = gateway.calls().size();
  r = admin({"submit", "dev-libs/foo-1.2", "--fingerprint", "--emerge-info-command", "false"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'false' failed"), std::string::npos) << r.err;
  EXPECT_EQ(gateway.calls().size(), before) << "nothing is submitted without the fingerprint asked for";
}

TEST_F(CliTest, SubmitUsageErrors) {
  auto list = dir / "atoms.txt";
  test::write_file(list, "dev-libs/foo-1.2\n");
  size_t before = gateway.calls().size();
  EXPECT_EQ(admin({"submit"}).code, 2);
  EXPECT_EQ(admin({"submit", "dev-libs/foo-1.2", "--file", list.string()}).code, 2);
  EXPECT_EQ(admin({"submit", "--file", (dir / "missing.txt").string()}).code, 2);
  auto r = admin({"submit", "dev-libs/foo"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("dev-libs/foo"), std::string::npos);
  EXPECT_EQ(gateway.calls().size(), before);
}

TEST_F(CliTest, ApiErrorExitsOneWithTheMessage) {
  gateway.fail_submissions(400, "submission refused, nothing was added: 1 invalid");
  auto r = admin({"submit", "dev-libs/foo-1.2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("build-swarm: submission refused, nothing was added: 1 invalid (HTTP 400)"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");

  r = admin({"drone", "approve", "ghost"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no drone named ghost (HTTP 404)"), std::string::npos) << r.err;
}

TEST_F(CliTest, AdminCallWithoutTokenSaysHowToGiveOne) {
  auto r = run({"drone", "approve", "Gamma"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("admin token required (HTTP 401)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--admin-token-file"), std::string::npos) << r.err;
  EXPECT_EQ(gateway.last("POST", "/api/v1/drones/Gamma/approve").bearer, "");
}

TEST_F(CliTest, AdminTokenComesFromFlagThenEnvironmentThenConfig) {
  auto other = dir / "other.token";
  test::write_file(other, "  file-token \n");
  auto conf = dir / "cli.conf";
  test::write_file(conf, "admin-token-file = " + other.string() + "\n");

  // Config file only.
  auto r = run_raw({"--config", conf.string(), "--gateway", gateway.url(), "drone", "approve", "Gamma"});
  EXPECT_EQ(gateway.last("POST", "/api/v1/drones/Gamma/approve").bearer, "file-token") << r.err;
  // Environment beats the config file.
  setenv("BUILD_SWARM_ADMIN_TOKEN", "env-token", 1);
  r = run_raw({"--config", conf.string(), "--gateway", gateway.url(), "drone", "approve", "Gamma"});
  EXPECT_EQ(gateway.last("POST", "/api/v1/drones/Gamma/approve").bearer, "env-token") << r.err;
  // The flag beats both.
  r = run_raw({"--config", conf.string(), "--gateway", gateway.url(), "--admin-token-file", token_file.string(),
               "drone", "approve", "Gamma"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(gateway.last("POST", "/api/v1/drones/Gamma/approve").bearer, "admin-secret");
  EXPECT_EQ(r.out, "Gamma: approved\n");

  r = run({"--admin-token-file", (dir / "nope").string(), "status"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot read the admin token file"), std::string::npos) << r.err;
}

TEST_F(CliTest, QueueActionsSendTheirTarget) {
  ASSERT_EQ(admin({"retry", "=dev-libs/foo-1.2"}).code, 0);
  auto call = gateway.last("POST", "/api/v1/queue/retry");
  EXPECT_EQ(body_of(call), json({{"atom", "dev-libs/foo-1.2"}}));
  EXPECT_EQ(call.bearer, "admin-secret");

  auto r = admin({"cancel", "--run", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(body_of(gateway.last("POST", "/api/v1/queue/cancel")), json({{"run", 3}}));
  EXPECT_EQ(r.out, "cancel run 3: ok (3 changed)\n");

  ASSERT_EQ(admin({"pause"}).code, 0);
  EXPECT_EQ(body_of(gateway.last("POST", "/api/v1/queue/pause")), json::object());
  ASSERT_EQ(admin({"resume", "--run", "2", "--orchestrator", "amd64"}).code, 0);
  EXPECT_EQ(body_of(gateway.last("POST", "/api/v1/queue/resume")), json({{"run", 2}, {"orchestrator", "amd64"}}));

  size_t before = gateway.calls().size();
  EXPECT_EQ(admin({"retry"}).code, 2);
  EXPECT_EQ(admin({"retry", "dev-libs/foo-1.2", "--run", "1"}).code, 2);
  EXPECT_EQ(admin({"cancel", "--run", "-1"}).code, 2);
  EXPECT_EQ(admin({"retry", "foo"}).code, 2);
  EXPECT_EQ(gateway.calls().size(), before);
}

TEST_F(CliTest, QueueActionOnAnUnknownAtomPrintsTheErrorAndFails) {
  for (const char* verb : {"retry", "cancel", "pause", "resume"}) {
    auto r = admin({verb, "dev-libs/foo-1.0"});
    EXPECT_EQ(r.code, 1) << verb << r.out;
    EXPECT_EQ(r.out, "") << verb;
    EXPECT_NE(r.err.find("no request for dev-libs/foo-1.0"), std::string::npos) << verb << r.err;
    EXPECT_EQ(r.err.find(": ok"), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, TokenCreatePrintsOnlyTheTokenOnStdout) {
  auto r = admin({"token", "create", "delta"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tok-123\n");
  EXPECT_NE(r.err.find("shown once"), std::string::npos);
  EXPECT_EQ(body_of(gateway.last("POST", "/api/v1/tokens")), json({{"name", "delta"}}));
}

}  // namespace
}  // namespace swarm::cli
