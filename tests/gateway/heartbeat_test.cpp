// Heartbeats: each drone's row updated on its own (50 at once lose nothing), offline by the clock,
// and reported versus source addresses.
#include <thread>

#include "gateway/gateway_fixture.hpp"

namespace swarm::gateway::test {
namespace {

class HeartbeatTest : public GatewayFixture {
 protected:
  void SetUp() override {
    orch = std::make_unique<FakeOrchestrator>("orch-a");
    orch->set_ready(5, {""});
    options.orchestrators = {orch->url()};
    options.auto_approve = true;
    start_gateway();
  }
  std::unique_ptr<FakeOrchestrator> orch;
};

TEST_F(HeartbeatTest, FiftyConcurrentDronesLoseNothing) {
  constexpr int kDrones = 50;
  auto name = [](int i) { return "drone-" + std::to_string(i); };
  auto token = [](int i) { return "token-of-drone-" + std::to_string(i) + "-xxxxxxxxxxxx"; };
  for (int i = 0; i < kDrones; ++i)
    ASSERT_EQ(body(post(client(token(i)), "/api/v1/register", registration(name(i))))["approval"], "approved");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kDrones; ++i) {
    threads.emplace_back([&, i] {
      HttpClientOptions o;
      o.bearer_token = token(i);
      HttpClient c(base, o);
      for (int round = 0; round < 3; ++round) {
        json hb = {{"name", name(i)}, {"activity", "building"}, {"atom", "=cat/pkg" + std::to_string(i) + "-" + std::to_string(round)},
                   {"lease_id", "lease-" + std::to_string(i)}, {"load", i + round / 10.0}, {"disk_free_mb", 1000 + i}};
        auto r = c.post_json("/api/v1/heartbeat", hb);
        if (r.ok() && r->status == 200 && r->json().ok() && (*r->json())["approval"] == "approved") ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kDrones * 3);
  auto nodes = body(get(client(), "/api/v1/nodes"));
  ASSERT_EQ(nodes.size(), static_cast<size_t>(kDrones));
  for (auto& n : nodes) {
    std::string nm = n["name"];
    int i = std::stoi(nm.substr(6));
    EXPECT_EQ(n["activity"], "building") << nm;
    EXPECT_EQ(n["atom"], "=cat/pkg" + std::to_string(i) + "-2") << nm;
    EXPECT_EQ(n["lease_id"], "lease-" + std::to_string(i)) << nm;
    EXPECT_EQ(n["disk_free_mb"], 1000 + i) << nm;
    EXPECT_DOUBLE_EQ(n["load"].get<double>(), i + 0.2) << nm;
    EXPECT_EQ(n["cores"], 8) << nm;  // registration fields kept by heartbeats
    EXPECT_EQ(n["orchestrator"], orch->url()) << nm;
  }
  auto status = body(get(client(), "/api/v1/status"));
  EXPECT_EQ(status["drones"]["building"], kDrones);
  EXPECT_EQ(status["cores"], kDrones * 8);
}

TEST_F(HeartbeatTest, OfflineAfterSilenceByTheClock) {
  auto c = client("token-of-d1-0000000000000000");
  ASSERT_EQ(body(post(c, "/api/v1/register", registration("d1")))["approval"], "approved");
  EXPECT_EQ(node("d1")["activity"], "idle");
  clock->advance(std::chrono::seconds(60));
  EXPECT_EQ(node("d1")["activity"], "idle");
  clock->advance(std::chrono::seconds(1));
  EXPECT_EQ(node("d1")["activity"], "offline");
  EXPECT_EQ(node("d1")["reported_activity"], "idle");
  EXPECT_EQ(body(get(client(), "/api/v1/status"))["drones"]["offline"], 1);
  EXPECT_EQ(body(get(client(), "/api/v1/status"))["cores"], 0);
  gateway->maintenance_now();
  auto events = body(get(client(), "/api/v1/events/recent"))["events"];
  bool offline_event = false;
  for (auto& e : events)
    if (e["kind"] == "drone_offline" && e["drone"] == "d1") offline_event = true;
  EXPECT_TRUE(offline_event);
  ASSERT_EQ(post(c, "/api/v1/heartbeat", heartbeat("d1", "uploading")).status, 200);
  EXPECT_EQ(node("d1")["activity"], "uploading");
  EXPECT_EQ(node("d1")["last_seen_ms"], clock->now_unix_ms());
}

TEST_F(HeartbeatTest, ReportedAndSourceAddressesAreBothRecorded) {
  // Traffic from 127.0.0.2 while the drone reports 127.0.0.3 (loopback aliases on Linux).
  auto c = client("token-of-d1-0000000000000000", "127.0.0.2");
  auto r = post(c, "/api/v1/register", registration("d1", "", "127.0.0.3"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto n = node("d1");
  EXPECT_EQ(n["report_ip"], "127.0.0.3");
  EXPECT_EQ(n["source_ip"], "127.0.0.2");
  auto c4 = client("token-of-d1-0000000000000000", "127.0.0.4");
  ASSERT_EQ(post(c4, "/api/v1/heartbeat", heartbeat("d1")).status, 200);
  EXPECT_EQ(node("d1")["source_ip"], "127.0.0.4");
  EXPECT_EQ(node("d1")["report_ip"], "127.0.0.3");
}

}  // namespace
}  // namespace swarm::gateway::test
