#include "common/ticket.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace swarm {
namespace {

using namespace std::chrono_literals;

class TicketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = Ed25519Key::generate();
    ASSERT_TRUE(key.ok());
    m_key = *key;
    auto pub = Ed25519Key::load_public_pem(m_key.public_pem());
    ASSERT_TRUE(pub.ok());
    m_public = *pub;
  }

  TicketClaims claims() const {
    TicketClaims c;
    c.subject = "drone-a";
    c.audience = "orch-1";
    c.issued_unix = m_clock.now_unix();
    c.expires_unix = c.issued_unix + 600;
    c.extra = {{"fingerprint", "ab12"}, {"cores", 16}};
    return c;
  }

  // Signs an arbitrary payload the way sign_ticket does, to reach the checks after the signature.
  std::string sign_raw(const std::string& payload) const {
    std::string signed_part = "v1." + base64url_encode(payload);
    return signed_part + "." + base64url_encode(m_key.sign(signed_part));
  }

  void expect_kind(std::string_view ticket, ErrorKind kind) const {
    auto r = verify_ticket(m_public, ticket, "orch-1", m_clock);
    ASSERT_FALSE(r.ok()) << "accepted: " << ticket.substr(0, 200);
    EXPECT_EQ(r.error().kind, kind) << r.error().message;
  }

  FakeClock m_clock;
  Ed25519Key m_key;
  Ed25519Key m_public;
};

TEST_F(TicketTest, RoundTripWithPublicKey) {
  std::string t = sign_ticket(m_key, claims());
  EXPECT_EQ(t.rfind("v1.", 0), 0u);
  EXPECT_EQ(std::count(t.begin(), t.end(), '.'), 2);
  auto r = verify_ticket(m_public, t, "orch-1", m_clock);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subject, "drone-a");
  EXPECT_EQ(r->audience, "orch-1");
  EXPECT_EQ(r->issued_unix, m_clock.now_unix());
  EXPECT_EQ(r->expires_unix, m_clock.now_unix() + 600);
  EXPECT_EQ(r->extra, claims().extra);
}

TEST_F(TicketTest, EmptyExtraAndUnicodeSubjectRoundTrip) {
  TicketClaims c = claims();
  c.extra = nlohmann::json::object();
  c.subject = "dr\xc3\xb6ne \"quoted\"";
  auto r = verify_ticket(m_public, sign_ticket(m_key, c), "orch-1", m_clock);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subject, c.subject);
  EXPECT_TRUE(r->extra.is_object() && r->extra.empty());
  c.extra = nlohmann::json::array();
  EXPECT_THROW((void)sign_ticket(m_key, c), std::logic_error);
}

TEST_F(TicketTest, ExpiryIsTimeout) {
  std::string t = sign_ticket(m_key, claims());
  m_clock.advance(599s);
  EXPECT_TRUE(verify_ticket(m_public, t, "orch-1", m_clock).ok());
  m_clock.advance(1s);
  expect_kind(t, ErrorKind::timeout);
  m_clock.advance(24h);
  expect_kind(t, ErrorKind::timeout);
}

TEST_F(TicketTest, WrongAudienceIsInvalid) {
  std::string t = sign_ticket(m_key, claims());
  auto r = verify_ticket(m_public, t, "orch-2", m_clock);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_NE(r.error().message.find("orch-2"), std::string::npos);
  EXPECT_FALSE(verify_ticket(m_public, t, "", m_clock).ok());
  EXPECT_FALSE(verify_ticket(m_public, t, "orch-1 ", m_clock).ok());
}

TEST_F(TicketTest, WrongKeyIsUnauthorized) {
  auto other = Ed25519Key::generate();
  ASSERT_TRUE(other.ok());
  std::string forged = sign_ticket(*other, claims());
  expect_kind(forged, ErrorKind::unauthorized);
  EXPECT_FALSE(verify_ticket(Ed25519Key(), sign_ticket(m_key, claims()), "orch-1", m_clock).ok());
}

TEST_F(TicketTest, TamperedPayloadOrSignatureIsUnauthorized) {
  std::string t = sign_ticket(m_key, claims());
  std::size_t first_dot = t.find('.');
  std::size_t last_dot = t.rfind('.');
  // Replace one character at several places in payload and signature with another valid one.
  for (std::size_t pos : {first_dot + 1, (first_dot + last_dot) / 2, last_dot - 2, last_dot + 1, last_dot + 30,
                          t.size() - 2}) {
    std::string bad = t;
    bad[pos] = bad[pos] == 'A' ? 'B' : 'A';
    expect_kind(bad, ErrorKind::unauthorized);
  }
  // A new payload (another subject) with the old signature.
  TicketClaims c = claims();
  c.subject = "drone-evil";
  std::string other = sign_ticket(m_key, c);
  std::string spliced = other.substr(0, other.rfind('.')) + t.substr(last_dot);
  expect_kind(spliced, ErrorKind::unauthorized);
  // Truncated or extended.
  expect_kind(t.substr(0, t.size() - 1), ErrorKind::unauthorized);
  expect_kind(t + "A", ErrorKind::unauthorized);
  expect_kind(t + ".", ErrorKind::unauthorized);
}

TEST_F(TicketTest, GarbageIsUnauthorized) {
  std::string good = sign_ticket(m_key, claims());
  std::string payload = good.substr(3, good.rfind('.') - 3);
  std::string sig = good.substr(good.rfind('.') + 1);
  for (const std::string& bad :
       {std::string(), std::string("v1"), std::string("v1."), std::string("v1.."), std::string("v1..x"),
        std::string("abc"), std::string("Bearer xyz"), "v1." + payload, "v1." + payload + ".", "v1.." + sig,
        "v2." + payload + "." + sig, "V1." + payload + "." + sig, "v1." + payload + ".x." + sig,
        "v1." + payload + "=." + sig, "v1." + payload + "." + sig + "==", " v1." + payload + "." + sig,
        std::string(20'000, 'A'), "v1." + std::string(20'000, 'A') + "." + sig, std::string("v1.\xff\xfe.\x00", 7)}) {
    expect_kind(bad, ErrorKind::unauthorized);
  }
}

TEST_F(TicketTest, SignedButMalformedPayloadIsUnauthorized) {
  int64_t exp = m_clock.now_unix() + 600;
  std::string ok = R"({"sub":"d","aud":"orch-1","iat":1,"exp":)" + std::to_string(exp) + "}";
  ASSERT_TRUE(verify_ticket(m_public, sign_raw(ok), "orch-1", m_clock).ok());
  const std::vector<std::string> payloads = {
      "not json",
      "[1,2]",
      "\"s\"",
      "{}",
      R"({"aud":"orch-1","iat":1,"exp":)" + std::to_string(exp) + "}",
      R"({"sub":1,"aud":"orch-1","iat":1,"exp":)" + std::to_string(exp) + "}",
      R"({"sub":"d","aud":"orch-1","iat":1,"exp":")" + std::to_string(exp) + "\"}",
      R"({"sub":"d","aud":"orch-1","iat":1,"exp":1e300})",
      R"({"sub":"d","aud":"orch-1","iat":1,"exp":18446744073709551615})",
      R"({"sub":"d","aud":"orch-1","iat":1,"ext":[],"exp":)" + std::to_string(exp) + "}",
      R"({"sub":"d","aud":"orch-1","iat":1,"exp":)" + std::to_string(exp) + "} trailing"};
  for (const std::string& payload : payloads) {
    expect_kind(sign_raw(payload), ErrorKind::unauthorized);
  }
}

TEST(NonceCache, RefusesReplayUntilExpiry) {
  FakeClock clock;
  NonceCache cache(clock);
  int64_t exp = clock.now_unix() + 60;
  EXPECT_TRUE(cache.check_and_remember("n1", exp));
  EXPECT_FALSE(cache.check_and_remember("n1", exp));
  EXPECT_FALSE(cache.check_and_remember("n1", exp + 1000));
  EXPECT_TRUE(cache.check_and_remember("n2", exp));
  EXPECT_EQ(cache.size(), 2u);
  clock.advance(59s);
  EXPECT_FALSE(cache.check_and_remember("n1", exp));
  clock.advance(1s);
  // The call itself has expired: still refused, though the nonce is forgotten.
  EXPECT_FALSE(cache.check_and_remember("n1", exp));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.check_and_remember("n1", clock.now_unix() + 60));
}

TEST(NonceCache, RefusesExpiredEmptyAndOversizedNonces) {
  FakeClock clock;
  NonceCache cache(clock);
  EXPECT_FALSE(cache.check_and_remember("late", clock.now_unix()));
  EXPECT_FALSE(cache.check_and_remember("late", clock.now_unix() - 5));
  EXPECT_FALSE(cache.check_and_remember("", clock.now_unix() + 60));
  EXPECT_FALSE(cache.check_and_remember(std::string(257, 'n'), clock.now_unix() + 60));
  EXPECT_TRUE(cache.check_and_remember(std::string(256, 'n'), clock.now_unix() + 60));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(NonceCache, BoundedSizeFailsClosedUntilEntriesExpire) {
  FakeClock clock;
  NonceCache cache(clock, 3);
  int64_t now = clock.now_unix();
  EXPECT_TRUE(cache.check_and_remember("a", now + 10));
  EXPECT_TRUE(cache.check_and_remember("b", now + 20));
  EXPECT_TRUE(cache.check_and_remember("c", now + 30));
  EXPECT_FALSE(cache.check_and_remember("d", now + 30));
  EXPECT_EQ(cache.size(), 3u);
  clock.advance(10s);  // "a" expires and makes room
  EXPECT_TRUE(cache.check_and_remember("d", now + 40));
  EXPECT_FALSE(cache.check_and_remember("b", now + 40));
  EXPECT_FALSE(cache.check_and_remember("e", now + 40));
}

TEST(NonceCache, ConcurrentCallersAcceptEachNonceOnce) {
  FakeClock clock;
  NonceCache cache(clock);
  int64_t exp = clock.now_unix() + 60;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (cache.check_and_remember("nonce-" + std::to_string(i), exp)) ++accepted;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), 500);
  EXPECT_EQ(cache.size(), 500u);
}

}  // namespace
}  // namespace swarm
