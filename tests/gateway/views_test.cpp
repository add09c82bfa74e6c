// Read-only views: status aggregation, one drone, known_hosts, /metrics, the event stream and the dashboard.
#include <thread>

#include "gateway/dashboard.hpp"
#include "gateway/gateway_fixture.hpp"
#include "gateway/metrics.hpp"

namespace swarm::gateway::test {
namespace {

/// Collects the gateway's event stream on a thread until destroyed.
class EventCollector {
 public:
  explicit EventCollector(const std::string& base) {
    m_thread = std::thread([this, base] {
      HttpClient c(base);
      (void)c.stream_events(
          "/api/v1/events",
          [this](const std::string&, const std::string& data) {
            std::lock_guard lock(m_mutex);
            m_events.push_back(json::parse(data, nullptr, false));
          },
          m_stop, std::chrono::seconds(30));
    });
  }
  ~EventCollector() {
    m_stop = true;
    m_thread.join();
  }
  bool has(const std::function<bool(const json&)>& pred) {
    std::lock_guard lock(m_mutex);
    for (const auto& e : m_events)
      if (pred(e)) return true;
    return false;
  }

 private:
  std::atomic<bool> m_stop{false};
  std::mutex m_mutex;
  std::vector<json> m_events;
  std::thread m_thread;
};

class ViewsTest : public GatewayFixture {
 protected:
  void SetUp() override {
    a = std::make_unique<FakeOrchestrator>("orch-a");
    b = std::make_unique<FakeOrchestrator>("orch-b");
    a->set_ready(3, {""});
    a->set_status_field("queue", {{"needed", 3}, {"leased", 1}, {"received", 0}, {"published", 10}, {"quarantined", 1},
                                  {"blocked", 0}, {"cancelled", 0}, {"withdrawn", 0}});
    a->set_status_field("runs", json::array({{{"id", 1}, {"queue", {{"needed", 3}, {"published", 10}}}}}));
    b->set_status_field("queue", {{"needed", 2}, {"published", 5}});
    options.orchestrators = {a->url(), b->url()};
    options.auto_approve = true;
    start_gateway();
  }
  std::unique_ptr<FakeOrchestrator> a, b;
};

TEST_F(ViewsTest, StatusAggregatesDronesAndEveryOrchestrator) {
  ASSERT_EQ(post(client("tok-d1-00000000000000000"), "/api/v1/register", registration("d1")).status, 200);
  ASSERT_EQ(post(client("tok-d2-00000000000000000"), "/api/v1/register", registration("d2")).status, 200);
  ASSERT_EQ(post(client("tok-d2-00000000000000000"), "/api/v1/heartbeat", heartbeat("d2", "building")).status, 200);
  ASSERT_EQ(post(client("bad"), "/api/v1/register", registration("d1")).status, 403);
  ASSERT_EQ(post(admin(), "/api/v1/tokens", {{"name", "d3"}}).status, 200);
  ASSERT_EQ(post(client("not-d3s-token-000000000000"), "/api/v1/register", registration("d3")).status, 200);
  auto s = body(get(client(), "/api/v1/status"));
  EXPECT_EQ(s["drones"]["idle"], 1);
  EXPECT_EQ(s["drones"]["building"], 1);
  EXPECT_EQ(s["drones"]["pending"], 1);
  EXPECT_EQ(s["drones"]["offline"], 0);
  EXPECT_EQ(s["cores"], 16);
  EXPECT_EQ(s["queue"]["needed"], 5);
  EXPECT_EQ(s["queue"]["published"], 15);
  EXPECT_EQ(s["queue"]["leased"], 1);
  EXPECT_EQ(s["queue"]["withdrawn"], 0);
  EXPECT_EQ(s["queue"].size(), 8u);
  ASSERT_EQ(s["orchestrators"].size(), 2u);
  EXPECT_EQ(s["orchestrators"][0]["name"], "orch-a");
  EXPECT_EQ(s["orchestrators"][0]["url"], a->url());
  EXPECT_EQ(s["orchestrators"][0]["up"], true);
  EXPECT_EQ(s["orchestrators"][0]["drones"], 2);
  ASSERT_EQ(s["runs"].size(), 1u);
  EXPECT_EQ(s["runs"][0]["orchestrator"], "orch-a");
  // A dead orchestrator's counts drop out; it is listed as down.
  b->stop();
  gateway->poll_orchestrators_now();
  s = body(get(client(), "/api/v1/status"));
  EXPECT_EQ(s["queue"]["needed"], 3);
  EXPECT_EQ(s["orchestrators"][1]["up"], false);
  EXPECT_FALSE(s["orchestrators"][1]["error"].get<std::string>().empty());
}

TEST_F(ViewsTest, OneDroneWithLeaseAndEvents) {
  auto c = client("tok-d1-00000000000000000");
  ASSERT_EQ(post(c, "/api/v1/register", registration("d1", "abc123")).status, 200);
  ASSERT_EQ(post(c, "/api/v1/heartbeat", {{"name", "d1"}, {"activity", "building"}, {"lease_id", "L1"}, {"atom", "=a/b-1"},
                                          {"load", 2.0}, {"disk_free_mb", 10}})
                .status,
            200);
  auto d = body(get(client(), "/api/v1/drones/d1"));
  EXPECT_EQ(d["name"], "d1");
  EXPECT_EQ(d["lease"]["lease_id"], "L1");
  EXPECT_EQ(d["lease"]["atom"], "=a/b-1");
  EXPECT_EQ(d["fingerprint"]["hash"], "abc123");
  EXPECT_EQ(d["fingerprint_hash"], "abc123");
  std::set<std::string> kinds;
  for (auto& e : d["events"]) kinds.insert(e["kind"]);
  EXPECT_TRUE(kinds.count("drone_registered"));
  EXPECT_TRUE(kinds.count("drone_activity"));
  EXPECT_EQ(get(client(), "/api/v1/drones/nobody").status, 404);
}

TEST_F(ViewsTest, KnownHostsListsPinnedKeysOfApprovedDrones) {
  ASSERT_EQ(post(client("tok-d1-00000000000000000"), "/api/v1/register", registration("d1", "", "10.1.1.1")).status, 200);
  ASSERT_EQ(post(admin(), "/api/v1/tokens", {{"name", "d2"}}).status, 200);
  ASSERT_EQ(post(client("not-d2s-token-000000000000"), "/api/v1/register", registration("d2")).status, 200);
  auto r = get(admin(), "/api/v1/known_hosts");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "d1,10.1.1.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFaked1\n");
  // A later registration with another host key does not replace the pinned one.
  auto moved = json(registration("d1", "", "10.1.1.1"));
  moved["ssh_host_key"] = "ssh-ed25519 AAAAOtherKey";
  ASSERT_EQ(post(client("tok-d1-00000000000000000"), "/api/v1/register", moved).status, 200);
  EXPECT_EQ(get(admin(), "/api/v1/known_hosts").body, r.body);
}

TEST_F(ViewsTest, MetricsAreValidPrometheusText) {
  ASSERT_EQ(post(client("tok-d1-00000000000000000"), "/api/v1/register", registration("d1")).status, 200);
  ASSERT_EQ(post(client("tok-d1-00000000000000000"), "/api/v1/heartbeat", heartbeat("d1")).status, 200);
  ASSERT_EQ(post(client("other"), "/api/v1/heartbeat", heartbeat("d1")).status, 403);
  ASSERT_EQ(post(admin(), "/api/v1/queue", {{"atoms", {"=a/b-1"}}}).status, 200);
  auto r = get(client(), "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.headers["content-type"].find("text/plain"), std::string::npos);
  const std::string& m = r.body;
  for (const char* line : {"swarm_gateway_drones{activity=\"idle\"} 1", "swarm_gateway_drones_by_approval{approval=\"approved\"} 1",
                           "swarm_gateway_registrations_total{outcome=\"approved\"} 1",
                           "swarm_gateway_heartbeats_total{outcome=\"approved\"} 1",
                           "swarm_gateway_heartbeats_total{outcome=\"refused\"} 1",
                           "swarm_gateway_tickets_issued_total{kind=\"drone\"} 2",
                           "swarm_gateway_tickets_issued_total{kind=\"admin\"} 1",
                           "swarm_gateway_proxied_calls_total{target=\"orchestrator\",status=\"200\"} 1",
                           "swarm_gateway_orchestrator_up{orchestrator=\"orch-a\""})
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
  // Every line is a comment or `name{labels} value`, and every metric has HELP and TYPE.
  std::istringstream in(m);
  std::string line;
  std::set<std::string> typed, seen;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# TYPE ", 0) == 0) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line[0] == '#') {
      EXPECT_EQ(line.rfind("# HELP ", 0), 0u) << line;
      continue;
    }
    auto name_end = line.find_first_of("{ ");
    seen.insert(line.substr(0, name_end));
    auto value = line.substr(line.rfind(' ') + 1);
    EXPECT_NO_THROW((void)std::stod(value)) << line;
    EXPECT_EQ(line.substr(0, 14), "swarm_gateway_") << line;
  }
  for (const auto& name : seen) EXPECT_TRUE(typed.count(name)) << name;
  EXPECT_EQ(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST_F(ViewsTest, EventStreamMergesGatewayAndOrchestratorEvents) {
  EventCollector events(base);
  ASSERT_TRUE(swarm::test::wait_for([&] { return a->stream_count() == 1 && b->stream_count() == 1; }));
  ASSERT_TRUE(swarm::test::wait_for([&] { return get(client(), "/metrics").body.find("swarm_gateway_event_subscribers 1") != std::string::npos; }));
  ASSERT_EQ(post(client("tok-d1-00000000000000000"), "/api/v1/register", registration("d1")).status, 200);
  EXPECT_TRUE(swarm::test::wait_for([&] {
    return events.has([](const json& e) { return e["source"] == "gateway" && e["kind"] == "drone_registered" && e["drone"] == "d1"; });
  }));
  a->emit("event", {{"kind", "published"}, {"atom", "=a/b-1"}, {"drone", "d1"}});
  b->emit("", {{"kind", "leased"}, {"atom", "=c/d-2"}});
  a->emit("heartbeat", "plain text");
  EXPECT_TRUE(swarm::test::wait_for([&] {
    return events.has([](const json& e) {
      return e["source"] == "orchestrator" && e["orchestrator"] == "orch-a" && e["kind"] == "published" && e["data"]["atom"] == "=a/b-1";
    });
  }));
  EXPECT_TRUE(swarm::test::wait_for([&] {
    return events.has([](const json& e) { return e["orchestrator"] == "orch-b" && e["kind"] == "leased"; });
  }));
  EXPECT_TRUE(swarm::test::wait_for([&] {
    return events.has([](const json& e) { return e["kind"] == "heartbeat" && e["data"] == "plain text"; });
  }));
  auto recent = body(get(client(), "/api/v1/events/recent?limit=500"))["events"];
  for (const char* bad : {"abc", "-1", "99999999", "1e3", ""}) {
    auto r = get(client(), std::string("/api/v1/events/recent?limit=") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(body(r)["error"], "invalid") << bad;
  }
  EXPECT_EQ(body(get(client(), "/api/v1/events/recent?limit=1"))["events"].size(), 1u);
  bool relayed = false;
  for (auto& e : recent)
    if (e["orchestrator"] == "orch-a") relayed = true;
  EXPECT_TRUE(relayed);
  EXPECT_EQ(body(get(client(), "/api/v1/drones/d1"))["recent_builds"].size(), 1u);
}

TEST_F(ViewsTest, DashboardIsServed) {
  auto index = get(client(), "/");
  ASSERT_EQ(index.status, 200);
  EXPECT_NE(index.headers["content-type"].find("text/html"), std::string::npos);
  for (const char* id : {"id=\"drones-body\"", "id=\"queue-published-count\"", "id=\"queue-needed-count\"", "id=\"runs\"",
                         "id=\"events\"", "id=\"waiting\"", "id=\"failures\"", "src=\"app.js\"", "href=\"style.css\""})
    EXPECT_NE(index.body.find(id), std::string::npos) << id;
  auto js = get(client(), "/app.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_NE(js.headers["content-type"].find("javascript"), std::string::npos);
  EXPECT_NE(js.body.find("new EventSource(\"/api/v1/events\")"), std::string::npos);
  EXPECT_NE(js.body.find("\"drone-\" + d.name"), std::string::npos);
  EXPECT_EQ(js.body, swarm::test::read_file(swarm::test::source_dir() / "src/gateway/dashboard/app.js"));
  auto css = get(client(), "/style.css");
  ASSERT_EQ(css.status, 200);
  EXPECT_NE(css.headers["content-type"].find("text/css"), std::string::npos);
  EXPECT_EQ(get(client(), "/index.html").body, index.body);
  EXPECT_EQ(get(client(), "/nothing.js").status, 404);
  EXPECT_EQ(get(client(), "/.hidden").status, 404);
  EXPECT_EQ(get(client(), "/..%2Fgateway.key").status, 404);
}

TEST(DashboardTest, ServesFromADirectoryWithoutEscapingIt) {
  swarm::test::TempDir dir;
  swarm::test::write_file(dir / "site" / "index.html", "<p>custom</p>");
  swarm::test::write_file(dir / "secret", "no");
  Dashboard d((dir / "site").string());
  ASSERT_TRUE(d.file("").has_value());
  EXPECT_EQ(d.file("")->body, "<p>custom</p>");
  EXPECT_FALSE(d.file("../secret").has_value());
  EXPECT_FALSE(d.file("..").has_value());
  EXPECT_FALSE(d.file("missing.js").has_value());
  Dashboard embedded("");
  ASSERT_TRUE(embedded.file("style.css").has_value());
  EXPECT_EQ(embedded.file("style.css")->content_type, "text/css; charset=utf-8");
}

}  // namespace
}  // namespace swarm::gateway::test
