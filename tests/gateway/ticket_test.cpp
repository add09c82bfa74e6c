// Tickets the gateway signs for drones: audience, subject, claims and expiry, verified with the key
// the gateway publishes at /api/v1/pubkey.
#include "common/crypto.hpp"
#include "common/ticket.hpp"
#include "gateway/gateway_fixture.hpp"

namespace swarm::gateway::test {
namespace {

class TicketTest : public GatewayFixture {
 protected:
  void SetUp() override {
    orch = std::make_unique<FakeOrchestrator>("orch-a");
    orch->set_ready(3, {"fp1"});
    options.orchestrators = {orch->url()};
    start_gateway();
  }
  Ed25519Key public_key() {
    auto r = get(client(), "/api/v1/pubkey");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers["content-type"].find("text/plain"), std::string::npos);
    auto key = Ed25519Key::load_public_pem(r.body);
    EXPECT_TRUE(key.ok());
    return key.ok() ? *key : Ed25519Key();
  }
  std::unique_ptr<FakeOrchestrator> orch;
};

TEST_F(TicketTest, DroneTicketNamesDroneOrchestratorAndFingerprint) {
  auto token = create_token("d1");
  auto j = body(post(client(token), "/api/v1/register", registration("d1", "fp1")));
  ASSERT_EQ(j["approval"], "approved");
  EXPECT_EQ(j["orchestrator"], orch->url());
  std::string ticket = j["ticket"];
  auto key = public_key();
  auto claims = verify_ticket(key, ticket, "orch-a", *clock);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->subject, "d1");
  EXPECT_EQ(claims->audience, "orch-a");
  EXPECT_EQ(claims->issued_unix, clock->now_unix());
  EXPECT_EQ(claims->expires_unix, clock->now_unix() + 600);
  EXPECT_EQ(claims->extra["role"], "drone");
  EXPECT_EQ(claims->extra["fp"], "fp1");
  EXPECT_EQ(claims->extra["orchestrator"], orch->url());

  // Another audience: refused as such.
  auto other = verify_ticket(key, ticket, "orch-b", *clock);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind, ErrorKind::invalid);
  // Still valid just before expiry, expired at it.
  clock->advance(std::chrono::seconds(599));
  EXPECT_TRUE(verify_ticket(key, ticket, "orch-a", *clock).ok());
  clock->advance(std::chrono::seconds(1));
  auto expired = verify_ticket(key, ticket, "orch-a", *clock);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().kind, ErrorKind::timeout);
  // Another key does not verify it.
  auto stranger = Ed25519Key::generate();
  ASSERT_TRUE(stranger.ok());
  EXPECT_EQ(verify_ticket(*stranger, ticket, "orch-a", *clock).error().kind, ErrorKind::unauthorized);
}

TEST_F(TicketTest, EveryHeartbeatBringsAFreshTicket) {
  auto token = create_token("d1");
  ASSERT_EQ(body(post(client(token), "/api/v1/register", registration("d1", "fp1")))["approval"], "approved");
  clock->advance(std::chrono::seconds(300));
  auto hb = body(post(client(token), "/api/v1/heartbeat", heartbeat("d1")));
  EXPECT_EQ(hb["approval"], "approved");
  EXPECT_EQ(hb["orchestrator"], orch->url());
  auto claims = verify_ticket(public_key(), hb["ticket"].get<std::string>(), "orch-a", *clock);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->expires_unix, clock->now_unix() + 600);
  EXPECT_EQ(claims->extra["fp"], "fp1");
}

TEST_F(TicketTest, NoFingerprintHashIsAnEmptyClaim) {
  orch->set_ready(1, {""});
  gateway->poll_orchestrators_now();
  auto token = create_token("d1");
  auto j = body(post(client(token), "/api/v1/register", registration("d1")));
  auto claims = verify_ticket(public_key(), j["ticket"].get<std::string>(), "orch-a", *clock);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->extra["fp"], "");
}

class TicketTtlTest : public GatewayFixture {};

TEST_F(TicketTtlTest, TicketLifetimeFollowsTheOption) {
  FakeOrchestrator orch("orch-a");
  orch.set_ready(1, {""});
  options.orchestrators = {orch.url()};
  options.ticket_ttl_s = 120;
  start_gateway();
  auto token = create_token("d1");
  auto j = body(post(client(token), "/api/v1/register", registration("d1")));
  auto key = Ed25519Key::load_public_pem(gateway->public_key_pem());
  ASSERT_TRUE(key.ok());
  auto claims = verify_ticket(*key, j["ticket"].get<std::string>(), "orch-a", *clock);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->expires_unix - claims->issued_unix, 120);
}

}  // namespace
}  // namespace swarm::gateway::test
