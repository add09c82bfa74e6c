// Control calls to drones: signed for the target drone, sent to its reported address, then the override.
#include "common/crypto.hpp"
#include "common/ticket.hpp"
#include "gateway/gateway_fixture.hpp"

namespace swarm::gateway::test {
namespace {

class ControlTest : public GatewayFixture {
 protected:
  /// Registers `name` (auto-approved) reporting `report_ip` with the fake drone's control port.
  void register_drone(const std::string& name, const std::string& report_ip, uint16_t port,
                      const std::string& from = "") {
    auto reg = registration(name, "", report_ip);
    reg["control_port"] = port;
    auto r = post(client("token-of-" + name + "-000000000000", from), "/api/v1/register", reg);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(body(r)["approval"], "approved");
  }
  TicketClaims claims_of(const Recorded& r, const std::string& audience = "drone-control") {
    std::string auth = r.headers.count("authorization") ? r.headers.at("authorization") : "";
    EXPECT_EQ(auth.rfind("Bearer ", 0), 0u);
    auto key = Ed25519Key::load_public_pem(get(client(), "/api/v1/pubkey").body);
    EXPECT_TRUE(key.ok());
    auto c = verify_ticket(*key, auth.size() > 7 ? auth.substr(7) : "", audience, *clock);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return c.ok() ? *c : TicketClaims{};
  }
};

TEST_F(ControlTest, DrainCarriesATicketSignedForThatDrone) {
  options.auto_approve = true;
  start_gateway();
  FakeDrone drone;
  register_drone("d1", "127.0.0.1", drone.port());
  auto r = post(admin(), "/api/v1/drones/d1/drain", json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["status"], "ok");
  EXPECT_EQ(body(r)["answer"]["action"], "drain");
  auto got = drone.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/api/v1/drain");
  auto c = claims_of(got[0]);
  EXPECT_EQ(c.subject, "d1");
  EXPECT_EQ(c.audience, "drone-control");
  EXPECT_EQ(c.extra["action"], "drain");
  EXPECT_EQ(c.extra["nonce"].get<std::string>().size(), 32u);
  EXPECT_EQ(c.expires_unix, clock->now_unix() + 60);
  EXPECT_EQ(got[0].headers.at("authorization").find(kAdminToken), std::string::npos);

  ASSERT_EQ(post(admin(), "/api/v1/drones/d1/restart", json::object()).status, 200);
  auto logs = get(admin(), "/api/v1/drones/d1/logs?lines=20");
  ASSERT_EQ(logs.status, 200) << logs.body;
  EXPECT_EQ(body(logs)["lines"].size(), 2u);
  got = drone.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(claims_of(got[1]).extra["action"], "restart");
  EXPECT_EQ(got[2].method, "GET");
  EXPECT_EQ(got[2].target, "/api/v1/logs?lines=20");
  EXPECT_EQ(claims_of(got[2]).extra["action"], "logs");
  // Every call has its own nonce.
  EXPECT_NE(claims_of(got[0]).extra["nonce"], claims_of(got[1]).extra["nonce"]);

  EXPECT_EQ(get(admin(), "/api/v1/drones/d1/logs?lines=abc").status, 400);
  EXPECT_EQ(post(admin(), "/api/v1/drones/nobody/drain", json::object()).status, 404);
}

TEST_F(ControlTest, ControlCallsGoToTheReportedAddressNotTheSource) {
  options.auto_approve = true;
  start_gateway();
  FakeDrone drone("127.0.0.3:0");
  register_drone("d1", "127.0.0.3", drone.port(), "127.0.0.2");
  auto n = node("d1");
  EXPECT_EQ(n["report_ip"], "127.0.0.3");
  EXPECT_EQ(n["source_ip"], "127.0.0.2");
  auto r = post(admin(), "/api/v1/drones/d1/drain", json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(drone.requests().size(), 1u);
  EXPECT_EQ(claims_of(drone.requests()[0]).subject, "d1");
}

TEST_F(ControlTest, OverrideIsTriedWhenTheReportedAddressFails) {
  FakeDrone drone("127.0.0.1:0");
  options.auto_approve = true;
  options.drone_address_overrides = {"d1=127.0.0.1"};
  start_gateway();
  // Nothing listens on 127.0.0.5 at that port: the reported address fails, the override answers.
  register_drone("d1", "127.0.0.5", drone.port());
  auto r = post(admin(), "/api/v1/drones/d1/drain", json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(drone.requests().size(), 1u);
  EXPECT_EQ(claims_of(drone.requests()[0]).subject, "d1");
}

TEST_F(ControlTest, ACallReachingAnotherDroneIsRefusedThereAndTheOverrideGetsIt) {
  // 127.0.0.6 is where d1 says it is, but another drone answers there and refuses the call.
  FakeDrone wrong("127.0.0.6:0", 409);
  FakeDrone right("127.0.0.1:" + std::to_string(wrong.port()));
  options.auto_approve = true;
  options.drone_address_overrides = {"d1=127.0.0.1"};
  start_gateway();
  register_drone("d1", "127.0.0.6", wrong.port());
  auto r = post(admin(), "/api/v1/drones/d1/restart", json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(wrong.requests().size(), 1u);
  ASSERT_EQ(right.requests().size(), 1u);
  EXPECT_EQ(claims_of(wrong.requests()[0]).subject, "d1");
  EXPECT_EQ(claims_of(right.requests()[0]).subject, "d1");
  EXPECT_NE(claims_of(wrong.requests()[0]).extra["nonce"], claims_of(right.requests()[0]).extra["nonce"]);
}

TEST_F(ControlTest, ARefusalWithoutAnOverrideIsReported) {
  FakeDrone wrong("127.0.0.6:0", 409);
  options.auto_approve = true;
  start_gateway();
  register_drone("d1", "127.0.0.6", wrong.port());
  auto r = post(admin(), "/api/v1/drones/d1/drain", json::object());
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(body(r)["error"], "drone_refused");
  EXPECT_NE(body(r)["message"].get<std::string>().find("another drone"), std::string::npos);
}

TEST_F(ControlTest, UnreachableOrUnapprovedDronesGetClearErrors) {
  start_gateway();
  auto reg = registration("d1", "", "127.0.0.5");
  reg["control_port"] = 1;
  ASSERT_EQ(body(post(client("pending-token-000000000000"), "/api/v1/register", reg))["approval"], "pending");
  EXPECT_EQ(post(admin(), "/api/v1/drones/d1/drain", json::object()).status, 409);
  ASSERT_EQ(post(admin(), "/api/v1/drones/d1/approve", json::object()).status, 200);
  auto r = post(admin(), "/api/v1/drones/d1/drain", json::object());
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(body(r)["error"], "drone_unreachable");
}

}  // namespace
}  // namespace swarm::gateway::test
