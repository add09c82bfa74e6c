#include "drone/control_server.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "common/http_client.hpp"
#include "common/ticket.hpp"

namespace swarm::drone {
namespace {

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_key = *Ed25519Key::generate();
    m_auth.set_public_key(*Ed25519Key::load_public_pem(m_key.public_pem()));
    ControlHandlers handlers;
    handlers.status = [this] {
      ++m_status_calls;
      return nlohmann::json{{"name", "drone-a"}};
    };
    handlers.logs = [](size_t n) { return std::vector<std::string>(std::min<size_t>(n, 3), "line"); };
    handlers.drain = [this] { ++m_drains; };
    handlers.restart = [this] { ++m_restarts; };
    m_server = std::make_unique<ControlServer>("127.0.0.1:0", m_auth, handlers);
    ASSERT_TRUE(m_server->start().ok());
  }

  std::string ticket(const std::string& target, const std::string& action, const std::string& nonce,
                     int64_t ttl = 60, const Ed25519Key* key = nullptr) const {
    TicketClaims c;
    c.subject = target;
    c.audience = kControlAudience;
    c.issued_unix = m_clock.now_unix();
    c.expires_unix = m_clock.now_unix() + ttl;
    c.extra = {{"action", action}, {"nonce", nonce}};
    return sign_ticket(key ? *key : m_key, c);
  }

  HttpClientResponse call(const std::string& method, const std::string& path, const std::string& bearer) const {
    HttpClientOptions o;
    o.bearer_token = bearer;
    HttpClient client("http://127.0.0.1:" + std::to_string(m_server->port()), o);
    auto r = client.request(method, path, method == "POST" ? "{}" : "");
    EXPECT_TRUE(r.ok());
    return r ? *r : HttpClientResponse{};
  }

  FakeClock m_clock;
  Ed25519Key m_key;
  ControlAuth m_auth{"drone-a", m_clock};
  std::unique_ptr<ControlServer> m_server;
  std::atomic<int> m_status_calls{0}, m_drains{0}, m_restarts{0};
};

TEST_F(ControlServerTest, SignedCallsWork) {
  auto r = call("GET", "/api/v1/status", ticket("drone-a", "status", "n1"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()->at("name"), "drone-a");
  r = call("GET", "/api/v1/logs?lines=2", ticket("drone-a", "logs", "n2"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()->at("lines").size(), 2u);
  EXPECT_EQ(call("POST", "/api/v1/drain", ticket("drone-a", "drain", "n3")).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/restart", ticket("drone-a", "restart", "n4")).status, 200);
  EXPECT_EQ(m_drains, 1);
  EXPECT_EQ(m_restarts, 1);
}

TEST_F(ControlServerTest, WrongTargetIsRefusedAndChangesNothing) {
  auto r = call("POST", "/api/v1/drain", ticket("drone-b", "drain", "n1"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.json()->at("error"), "wrong target");
  EXPECT_EQ(m_drains, 0);
}

TEST_F(ControlServerTest, BadSignatureIsRefused) {
  Ed25519Key other = *Ed25519Key::generate();
  EXPECT_EQ(call("POST", "/api/v1/drain", ticket("drone-a", "drain", "n1", 60, &other)).status, 401);
  std::string t = ticket("drone-a", "drain", "n2");
  t[t.size() / 2] = t[t.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(call("POST", "/api/v1/drain", t).status, 401);
  EXPECT_EQ(call("POST", "/api/v1/drain", "").status, 401);
  EXPECT_EQ(call("POST", "/api/v1/drain", "garbage").status, 401);
  EXPECT_EQ(m_drains, 0);
}

TEST_F(ControlServerTest, ExpiredIsRefused) {
  std::string t = ticket("drone-a", "restart", "n1", 30);
  m_clock.advance(std::chrono::seconds(31));
  EXPECT_EQ(call("POST", "/api/v1/restart", t).status, 401);
  EXPECT_EQ(m_restarts, 0);
}

TEST_F(ControlServerTest, ReplayedNonceIsRefused) {
  std::string t = ticket("drone-a", "drain", "once");
  EXPECT_EQ(call("POST", "/api/v1/drain", t).status, 200);
  auto r = call("POST", "/api/v1/drain", t);
  EXPECT_EQ(r.status, 409);
  // A new ticket reusing the nonce is a replay too.
  EXPECT_EQ(call("POST", "/api/v1/drain", ticket("drone-a", "drain", "once")).status, 409);
  EXPECT_EQ(m_drains, 1);
}

TEST_F(ControlServerTest, ATicketForAnotherActionOrAudienceIsRefused) {
  EXPECT_EQ(call("POST", "/api/v1/restart", ticket("drone-a", "status", "n1")).status, 403);
  TicketClaims c;
  c.subject = "drone-a";
  c.audience = "orch-1";
  c.issued_unix = m_clock.now_unix();
  c.expires_unix = c.issued_unix + 60;
  c.extra = {{"action", "restart"}, {"nonce", "n2"}};
  EXPECT_EQ(call("POST", "/api/v1/restart", sign_ticket(m_key, c)).status, 403);
  EXPECT_EQ(m_restarts, 0);
  // A refused call does not burn its nonce: the same nonce on the right action still works.
  EXPECT_EQ(call("POST", "/api/v1/restart", ticket("drone-a", "restart", "n1")).status, 200);
}

TEST_F(ControlServerTest, NoNonceIsRefused) {
  TicketClaims c;
  c.subject = "drone-a";
  c.audience = kControlAudience;
  c.issued_unix = m_clock.now_unix();
  c.expires_unix = c.issued_unix + 60;
  c.extra = {{"action", "status"}};
  EXPECT_EQ(call("GET", "/api/v1/status", sign_ticket(m_key, c)).status, 401);
  EXPECT_EQ(m_status_calls, 0);
}

TEST_F(ControlServerTest, HealthIsOpen) { EXPECT_EQ(call("GET", "/api/v1/health", "").status, 200); }

TEST(ControlAuthTest, WithoutAKeyEverythingIsRefused) {
  FakeClock clock;
  ControlAuth auth("drone-a", clock);
  HttpRequest req;
  req.headers["authorization"] = "Bearer v1.x.y";
  auto refusal = auth.check(req, "status");
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->status, 503);
}

}  // namespace
}  // namespace swarm::drone
