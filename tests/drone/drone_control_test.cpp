// The live drone's control endpoint: signed by the gateway's key (fetched from GET /api/v1/pubkey),
// and every refusal leaves the drone as it was.

#include <gtest/gtest.h>

#include "common/http_client.hpp"
#include "drone_harness.hpp"

namespace swarm::test {
namespace {

using namespace std::chrono_literals;

class DroneControlTest : public DroneHarness {
 protected:
  HttpClientResponse call(const std::string& method, const std::string& path, const std::string& ticket) const {
    HttpClientOptions o;
    o.bearer_token = ticket;
    HttpClient client("http://127.0.0.1:" + std::to_string(m_drone->control_port()), o);
    auto r = client.request(method, path, method == "POST" ? "{}" : "");
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
    return r ? *r : HttpClientResponse{};
  }
  std::string ticket(const std::string& target, const std::string& action, const std::string& nonce,
                     int64_t ttl = 60) const {
    return m_gateway->control_ticket(target, action, nonce, m_clock->now_unix(), ttl);
  }
};

TEST_F(DroneControlTest, StatusLogsAndDrainWithSignedCalls) {
  start_drone();
  ASSERT_TRUE(wait_for([&] { return m_drone->control_port() != 0 && m_drone->state().ready_for_work(); }, 10s));
  auto r = call("GET", "/api/v1/status", ticket(kDrone, "status", "s1"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = *r.json();
  EXPECT_EQ(j["name"], kDrone);
  EXPECT_EQ(j["approval"], "approved");
  EXPECT_EQ(j["orchestrator"], m_orch->url());
  EXPECT_EQ(j["fingerprint_hash"].get<std::string>().size(), 64u);

  r = call("GET", "/api/v1/logs?lines=5", ticket(kDrone, "logs", "l1"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GE(r.json()->at("lines").size(), 1u);
  EXPECT_LE(r.json()->at("lines").size(), 5u);

  // Refusals: another drone's call, a replay, an expired ticket, a forged one. None drains.
  EXPECT_EQ(call("POST", "/api/v1/drain", ticket("drone-b", "drain", "d1")).status, 409);
  EXPECT_EQ(call("GET", "/api/v1/status", ticket(kDrone, "status", "s1")).status, 409);
  EXPECT_EQ(call("POST", "/api/v1/drain", ticket(kDrone, "drain", "d2", -1)).status, 401);
  FakeGateway impostor("x");
  EXPECT_EQ(call("POST", "/api/v1/drain",
                 impostor.control_ticket(kDrone, "drain", "d3", m_clock->now_unix()))
                .status,
            401);
  EXPECT_FALSE(m_drone->state().draining());

  // Still working after the refusals.
  m_orch->add_lease(lease("C1", "=dev-libs/foo-1.0"));
  ASSERT_TRUE(wait_for([&] { return answered(1); }, 30s));

  EXPECT_EQ(call("POST", "/api/v1/drain", ticket(kDrone, "drain", "d4")).status, 200);
  ASSERT_TRUE(wait_drone_exit(15s));
  EXPECT_EQ(m_exit_code.load(), 0);
  EXPECT_FALSE(m_drone->restart_requested());
}

TEST_F(DroneControlTest, RestartDrainsAndAsksMainToReexecute) {
  start_drone();
  ASSERT_TRUE(wait_for([&] { return m_drone->control_port() != 0 && m_drone->state().ready_for_work(); }, 10s));
  EXPECT_EQ(call("POST", "/api/v1/restart", ticket(kDrone, "restart", "r1")).status, 200);
  ASSERT_TRUE(wait_drone_exit(15s));
  EXPECT_TRUE(m_drone->restart_requested());
}

TEST_F(DroneControlTest, AKeyFileWorksWithoutAskingTheGateway) {
  write_file(m_dir / "gateway.pem", m_gateway->key().public_pem());
  m_config.gateway_public_key_file = m_dir / "gateway.pem";
  start_drone();
  ASSERT_TRUE(wait_for([&] { return m_drone->control_port() != 0; }, 10s));
  EXPECT_EQ(call("GET", "/api/v1/status", ticket(kDrone, "status", "k1")).status, 200);
}

}  // namespace
}  // namespace swarm::test
