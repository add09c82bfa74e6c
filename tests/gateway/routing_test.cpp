// Routing drones to orchestrators by fingerprint and ready work, and failover when one dies.
#include "common/crypto.hpp"
#include "common/ticket.hpp"
#include "gateway/gateway_fixture.hpp"
#include "gateway/routing.hpp"

namespace swarm::gateway::test {
namespace {

OrchestratorState orch(const std::string& name, bool up, int64_t ready, std::vector<std::string> fps) {
  OrchestratorState s;
  s.url = "http://" + name;
  s.name = name;
  s.up = up;
  s.ready = ready;
  s.fingerprints = std::move(fps);
  return s;
}

TEST(ChooseOrchestratorTest, MatchingFingerprintWithMostReadyWork) {
  std::vector<OrchestratorState> all = {orch("a", true, 5, {"fpA"}), orch("b", true, 9, {"fpB"}), orch("c", true, 2, {"fpA"})};
  auto d = choose_orchestrator(all, "fpA", json::object(), "", false, {});
  EXPECT_EQ(d.name, "a");
  EXPECT_TRUE(d.fingerprint_match);
  EXPECT_TRUE(d.message.empty());
  EXPECT_EQ(choose_orchestrator(all, "fpB", json::object(), "", false, {}).name, "b");
  // "" accepts any drone.
  all.push_back(orch("d", true, 20, {""}));
  EXPECT_EQ(choose_orchestrator(all, "fpA", json::object(), "", false, {}).name, "d");
}

TEST(ChooseOrchestratorTest, TiesGoToFewestDronesThenTheCurrentOne) {
  std::vector<OrchestratorState> all = {orch("a", true, 5, {""}), orch("b", true, 5, {""})};
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "", false, {{"http://a", 3}, {"http://b", 1}}).name, "b");
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "", false, {{"http://a", 1}, {"http://b", 3}}).name, "a");
  // The drone itself does not count against where it already is.
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "http://b", false, {{"http://a", 1}, {"http://b", 2}}).name, "b");
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "http://b", false, {}).name, "b");
}

TEST(ChooseOrchestratorTest, NoMatchGivesNothingWithAMessage) {
  std::vector<OrchestratorState> all = {orch("a", true, 5, {"fpA"}), orch("b", false, 9, {"fpZ"})};
  auto d = choose_orchestrator(all, "fpZ", json::object(), "http://a", false, {});
  EXPECT_EQ(d.url, "");
  EXPECT_FALSE(d.fingerprint_match);
  EXPECT_NE(d.message.find("matches no orchestrator"), std::string::npos);
}

TEST(ChooseOrchestratorTest, DeadOrchestratorsAreNeverChosenAndBusyDronesStay) {
  std::vector<OrchestratorState> all = {orch("a", false, 50, {""}), orch("b", true, 1, {""}), orch("c", true, 9, {""})};
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "http://a", true, {}).name, "c");
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "http://b", true, {}).name, "b");
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "http://b", false, {}).name, "c");
  auto none = choose_orchestrator({orch("a", false, 5, {""})}, "x", json::object(), "", false, {});
  EXPECT_EQ(none.url, "");
  EXPECT_NE(none.message.find("no orchestrator is reachable"), std::string::npos);
}

TEST(ChooseOrchestratorTest, WithoutWaitingWorkTheDroneWaitsOnALiveOne) {
  std::vector<OrchestratorState> all = {orch("a", true, 0, {}), orch("b", true, 0, {})};
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "http://b", false, {}).name, "b");
  EXPECT_EQ(choose_orchestrator(all, "x", json::object(), "", false, {{"http://a", 2}}).name, "b");
}

TEST(FingerprintDifferenceTest, ListsDifferingAndMissingKeys) {
  json drone = {{"CHOST", "x86_64"}, {"CFLAGS", "-O2"}, {"USE", "a b"}, {"hash", "1"}};
  json ref = {{"CHOST", "x86_64"}, {"CFLAGS", "-O3"}, {"PROFILE", "p"}, {"hash", "2"}};
  auto d = fingerprint_difference(drone, ref);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d["CFLAGS"]["drone"], "-O2");
  EXPECT_EQ(d["CFLAGS"]["reference"], "-O3");
  EXPECT_TRUE(d["PROFILE"]["drone"].is_null());
  EXPECT_TRUE(d["USE"]["reference"].is_null());
  EXPECT_FALSE(d.contains("hash"));
  EXPECT_TRUE(fingerprint_difference(drone, json()).empty());
  EXPECT_TRUE(fingerprint_difference(drone, json::object()).empty());
  EXPECT_TRUE(fingerprint_difference(drone, drone).empty());
}

class RoutingTest : public GatewayFixture {
 protected:
  void SetUp() override {
    a = std::make_unique<FakeOrchestrator>("orch-a");
    b = std::make_unique<FakeOrchestrator>("orch-b");
    options.orchestrators = {a->url(), b->url()};
    start_gateway();
  }
  json reg(const std::string& name, const std::string& fp) {
    if (!tokens.count(name)) tokens[name] = create_token(name);
    return body(post(client(tokens[name]), "/api/v1/register", registration(name, fp)));
  }
  json beat(const std::string& name, const std::string& activity = "idle") {
    return body(post(client(tokens[name]), "/api/v1/heartbeat", heartbeat(name, activity)));
  }
  std::unique_ptr<FakeOrchestrator> a, b;
  std::map<std::string, std::string> tokens;
};

TEST_F(RoutingTest, ByFingerprintAndReadyWork) {
  a->set_ready(4, {"fpA"});
  b->set_ready(10, {"fpB", "fpA"});
  gateway->poll_orchestrators_now();
  EXPECT_EQ(reg("d1", "fpA")["orchestrator"], b->url());  // both accept fpA, b has more ready
  a->set_ready(40, {"fpA"});
  gateway->poll_orchestrators_now();
  EXPECT_EQ(reg("d2", "fpA")["orchestrator"], a->url());
  b->set_ready(10, {"fpB"});
  a->set_ready(1, {"fpA"});
  gateway->poll_orchestrators_now();
  EXPECT_EQ(reg("d3", "fpB")["orchestrator"], b->url());
  EXPECT_EQ(beat("d1")["orchestrator"], a->url());  // an idle drone follows the work it can do

  auto none = reg("d4", "fpZ");
  EXPECT_EQ(none["approval"], "approved");
  EXPECT_EQ(none["orchestrator"], "");
  EXPECT_EQ(none["ticket"], "");
  EXPECT_NE(none["message"].get<std::string>().find("matches no orchestrator"), std::string::npos);
  auto n = node("d4");
  EXPECT_FALSE(n["fingerprint_ok"]);
  EXPECT_FALSE(n["fingerprint_match"]);
  auto status = body(get(client(), "/api/v1/status"));
  ASSERT_EQ(status["unrouted"].size(), 1u);
  EXPECT_EQ(status["unrouted"][0]["name"], "d4");
}

TEST_F(RoutingTest, FingerprintDiffAgainstTheReference) {
  a->set_ready(4, {"fpA"});
  a->set_status_field("reference_fingerprint", {{"CHOST", "x86_64-pc-linux-gnu"}, {"CFLAGS", "-O2 -march=znver3"}, {"hash", "fpA"}});
  gateway->poll_orchestrators_now();
  reg("d1", "fpX");
  auto n = node("d1");
  EXPECT_FALSE(n["fingerprint_ok"]);
  ASSERT_TRUE(n["fingerprint_diff"].contains("CFLAGS"));
  EXPECT_TRUE(n["fingerprint_diff"]["CFLAGS"]["drone"].is_null());
  EXPECT_EQ(n["fingerprint_diff"]["CFLAGS"]["reference"], "-O2 -march=znver3");
  EXPECT_FALSE(n["fingerprint_diff"].contains("CHOST"));
}

TEST_F(RoutingTest, DeadOrchestratorsDronesMoveInTheNextAnswer) {
  a->set_ready(9, {""});
  b->set_ready(1, {""});
  gateway->poll_orchestrators_now();
  ASSERT_EQ(reg("d1", "fp1")["orchestrator"], a->url());
  // Busy on a: it stays while a lives.
  EXPECT_EQ(beat("d1", "building")["orchestrator"], a->url());
  a->stop();
  gateway->poll_orchestrators_now();
  auto status = body(get(client(), "/api/v1/status"));
  EXPECT_FALSE(status["orchestrators"][0]["up"]);
  EXPECT_TRUE(status["orchestrators"][1]["up"]);
  auto hb = beat("d1", "building");
  EXPECT_EQ(hb["orchestrator"], b->url());
  auto key = Ed25519Key::load_public_pem(gateway->public_key_pem());
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(verify_ticket(*key, hb["ticket"].get<std::string>(), "orch-b", *clock).ok());
  EXPECT_EQ(node("d1")["orchestrator_name"], "orch-b");
  // Both gone: no orchestrator, no ticket, and status says why.
  b->stop();
  gateway->poll_orchestrators_now();
  auto none = beat("d1");
  EXPECT_EQ(none["orchestrator"], "");
  EXPECT_EQ(none["ticket"], "");
  EXPECT_NE(none["message"].get<std::string>().find("no orchestrator"), std::string::npos);
}

}  // namespace
}  // namespace swarm::gateway::test
