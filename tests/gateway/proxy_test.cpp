// Admin calls proxied to orchestrators: the admin token is checked at the gateway and never sent on;
// the orchestrator sees an admin ticket signed for it.
#include "common/crypto.hpp"
#include "common/ticket.hpp"
#include "gateway/gateway_fixture.hpp"

namespace swarm::gateway::test {
namespace {

class ProxyTest : public GatewayFixture {
 protected:
  void SetUp() override {
    a = std::make_unique<FakeOrchestrator>("orch-a");
    b = std::make_unique<FakeOrchestrator>("orch-b");
    options.orchestrators = {a->url(), b->url()};
    start_gateway();
  }
  void expect_admin_ticket(const Recorded& r, const std::string& audience) {
    std::string auth = r.headers.count("authorization") ? r.headers.at("authorization") : "";
    ASSERT_EQ(auth.rfind("Bearer ", 0), 0u) << auth;
    auto key = Ed25519Key::load_public_pem(gateway->public_key_pem());
    ASSERT_TRUE(key.ok());
    auto claims = verify_ticket(*key, auth.substr(7), audience, *clock);
    ASSERT_TRUE(claims.ok()) << claims.error().message;
    EXPECT_EQ(claims->subject, "gateway");
    EXPECT_EQ(claims->extra["role"], "admin");
    EXPECT_EQ(claims->expires_unix, clock->now_unix() + 60);
  }
  void expect_no_admin_token_anywhere(const FakeOrchestrator& o) {
    for (const auto& r : o.requests()) {
      EXPECT_EQ(r.body.find(kAdminToken), std::string::npos) << r.target;
      EXPECT_EQ(r.target.find(kAdminToken), std::string::npos) << r.target;
      for (const auto& [k, v] : r.headers) EXPECT_EQ(v.find(kAdminToken), std::string::npos) << k;
    }
  }
  std::unique_ptr<FakeOrchestrator> a, b;
};

TEST_F(ProxyTest, AdminEndpointsRefuseWithoutTheTokenWithJson401) {
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"POST", "/api/v1/queue"},          {"POST", "/api/v1/queue/retry"},       {"POST", "/api/v1/queue/cancel"},
      {"POST", "/api/v1/queue/pause"},    {"POST", "/api/v1/queue/resume"},      {"POST", "/api/v1/tokens"},
      {"POST", "/api/v1/drones/x/approve"}, {"POST", "/api/v1/drones/x/revoke"}, {"POST", "/api/v1/drones/x/drain"},
      {"POST", "/api/v1/drones/x/restart"}, {"GET", "/api/v1/drones/x/logs"},    {"GET", "/api/v1/known_hosts"},
      {"POST", "/api/v1/binhost/rollback"}};
  for (const auto& token : {std::string(), std::string("not-the-admin-token"), std::string(kAdminToken) + "x"}) {
    for (const auto& [method, path] : calls) {
      auto r = client(token).request(method, path, R"({"atoms":["=a/b-1"]})");
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->status, 401) << method << " " << path;
      auto j = r->json();
      ASSERT_TRUE(j.ok()) << path;
      EXPECT_EQ((*j)["error"], "unauthorized");
      EXPECT_TRUE((*j).contains("message"));
    }
  }
  EXPECT_TRUE(a->requests_to("/api/v1/queue").empty());
}

TEST_F(ProxyTest, SubmitReachesTheNamedOrchestratorWithAnAdminTicket) {
  auto r = post(admin(), "/api/v1/queue", {{"orchestrator", "orch-b"}, {"atoms", {"=dev-libs/a-1", "=dev-libs/b-2"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = body(r);
  EXPECT_EQ(j["run"], 7);
  EXPECT_EQ(j["added"], 2);
  EXPECT_EQ(j["orchestrator"], "orch-b");
  auto got = b->requests_to("/api/v1/queue");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(a->requests_to("/api/v1/queue").empty());
  expect_admin_ticket(got[0], "orch-b");
  auto sent = json::parse(got[0].body);
  EXPECT_EQ(sent["packages"].size(), 2u);
  EXPECT_EQ(sent["packages"][0]["atom"], "=dev-libs/a-1");
  EXPECT_FALSE(sent.contains("orchestrator"));
  expect_no_admin_token_anywhere(*a);
  expect_no_admin_token_anywhere(*b);
}

TEST_F(ProxyTest, SubmitWithoutANameGoesToTheFirstLiveOne) {
  ASSERT_EQ(post(admin(), "/api/v1/queue", {{"atoms", {"=dev-libs/a-1"}}}).status, 200);
  EXPECT_EQ(a->requests_to("/api/v1/queue").size(), 1u);
  a->stop();
  gateway->poll_orchestrators_now();
  ASSERT_EQ(post(admin(), "/api/v1/queue", {{"atoms", {"=dev-libs/a-1"}}}).status, 200);
  EXPECT_EQ(b->requests_to("/api/v1/queue").size(), 1u);
  b->stop();
  gateway->poll_orchestrators_now();
  auto none = post(admin(), "/api/v1/queue", {{"atoms", {"=dev-libs/a-1"}}});
  EXPECT_EQ(none.status, 503);
  EXPECT_EQ(body(none)["error"], "no_orchestrator");
}

TEST_F(ProxyTest, BadSubmissionsStopAtTheGateway) {
  EXPECT_EQ(post(admin(), "/api/v1/queue", json::object()).status, 400);
  EXPECT_EQ(post(admin(), "/api/v1/queue", {{"atoms", "not-a-list"}}).status, 400);
  EXPECT_EQ(post(admin(), "/api/v1/queue", {{"atoms", {"=a/b-1"}}, {"orchestrator", "nope"}}).status, 404);
  EXPECT_TRUE(a->requests_to("/api/v1/queue").empty());
  EXPECT_TRUE(b->requests_to("/api/v1/queue").empty());
}

TEST_F(ProxyTest, QueueActionsAreForwarded) {
  for (const char* verb : {"retry", "cancel", "pause", "resume"}) {
    auto r = post(admin(), std::string("/api/v1/queue/") + verb, {{"atom", "=dev-libs/a-1"}, {"orchestrator", "orch-b"}});
    ASSERT_EQ(r.status, 200) << verb << r.body;
    auto got = b->requests_to(std::string("/api/v1/queue/") + verb);
    ASSERT_EQ(got.size(), 1u) << verb;
    expect_admin_ticket(got[0], "orch-b");
    auto sent = json::parse(got[0].body);
    EXPECT_EQ(sent, json({{"atom", "=dev-libs/a-1"}}));
  }
  EXPECT_EQ(post(admin(), "/api/v1/queue/retry", {{"bogus", 1}}).status, 400);
  expect_no_admin_token_anywhere(*b);
}

TEST_F(ProxyTest, QueueActionsActOnExactlyWhatTheyName) {
  a->set_known_atoms({});
  b->set_known_atoms({"=dev-libs/a-1"});
  // An atom without an orchestrator: asked of each live one; the answer says where it acted.
  auto r = post(admin(), "/api/v1/queue/pause", {{"atom", "=dev-libs/a-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["affected"], 1);
  EXPECT_EQ(body(r)["orchestrators"], json::array({"orch-b"}));
  EXPECT_EQ(json::parse(a->requests_to("/api/v1/queue/pause").at(0).body), json({{"atom", "=dev-libs/a-1"}}));
  EXPECT_EQ(json::parse(b->requests_to("/api/v1/queue/pause").at(0).body), json({{"atom", "=dev-libs/a-1"}}));
  // An atom no orchestrator knows: 404 with the orchestrator's JSON error, not "ok".
  auto none = post(admin(), "/api/v1/queue/retry", {{"atom", "dev-libs/foo-1.0"}});
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_EQ(body(none)["error"], "not_found");
  EXPECT_EQ(body(none)["message"], "no request for dev-libs/foo-1.0");
  // A named orchestrator's 404 reaches the caller as it is.
  auto named = post(admin(), "/api/v1/queue/cancel", {{"atom", "=dev-libs/a-1"}, {"orchestrator", "orch-a"}});
  EXPECT_EQ(named.status, 404);
  // Runs are numbered per orchestrator: with two, a run alone names nothing.
  size_t before = a->requests_to("/api/v1/queue/").size() + b->requests_to("/api/v1/queue/").size();
  auto run = post(admin(), "/api/v1/queue/pause", {{"run", 3}});
  EXPECT_EQ(run.status, 400) << run.body;
  EXPECT_NE(body(run)["message"].get<std::string>().find("orchestrator"), std::string::npos);
  EXPECT_EQ(a->requests_to("/api/v1/queue/").size() + b->requests_to("/api/v1/queue/").size(), before);
  ASSERT_EQ(post(admin(), "/api/v1/queue/pause", {{"run", 3}, {"orchestrator", "orch-a"}}).status, 200);
  EXPECT_EQ(json::parse(a->requests_to("/api/v1/queue/pause").back().body), json({{"run", 3}}));
}

TEST_F(ProxyTest, QueueListingMergesEveryLiveOrchestrator) {
  auto all = get(client(), "/api/v1/queue?state=needed");
  ASSERT_EQ(all.status, 200) << all.body;
  auto j = body(all);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["orchestrator"], "orch-a");
  EXPECT_EQ(j[1]["orchestrator"], "orch-b");
  EXPECT_EQ(j[0]["state"], "needed");
  EXPECT_EQ(j[0]["reason"], "waiting on dev-libs/b-2");
  auto got = a->requests_to("/api/v1/queue");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/api/v1/queue?state=needed");
  expect_admin_ticket(got[0], "orch-a");
  auto one = body(get(client(), "/api/v1/queue?state=leased&orchestrator=orch-b"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(b->requests_to("/api/v1/queue?state=leased").size(), 1u);
}

TEST_F(ProxyTest, BuildLogsComeFromTheOrchestratorThatKnowsTheBuild) {
  b->set_known_build("99");
  auto r = get(client(), "/api/v1/builds/99/log");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "log of build 99 on orch-b\n");
  EXPECT_NE(r.headers["content-type"].find("text/plain"), std::string::npos);
  EXPECT_EQ(get(client(), "/api/v1/builds/41/log?orchestrator=orch-a").body, "log of build 41 on orch-a\n");
  EXPECT_EQ(get(client(), "/api/v1/builds/5/log").status, 404);
  EXPECT_EQ(get(client(), "/api/v1/builds/..%2F..%2Fx/log").status, 404);
  EXPECT_EQ(get(client(), "/api/v1/builds/a;b/log").status, 400);
}

class PrivateStatusTest : public GatewayFixture {};

TEST_F(PrivateStatusTest, ReadCallsNeedTheAdminTokenToo) {
  options.private_status = true;
  start_gateway();
  for (const char* path : {"/api/v1/nodes", "/api/v1/status", "/api/v1/queue", "/metrics", "/api/v1/drones/x"}) {
    EXPECT_EQ(get(client(), path).status, 401) << path;
    EXPECT_NE(get(admin(), path).status, 401) << path;
  }
  EXPECT_EQ(get(client(), "/api/v1/health").status, 200);
  EXPECT_EQ(get(client(), "/api/v1/pubkey").status, 200);
}

}  // namespace
}  // namespace swarm::gateway::test
