// Registration, approval, tokens, revocation and name hijacking, through the real HTTP API.
#include <sys/stat.h>

#include "common/crypto.hpp"
#include "gateway/admission.hpp"
#include "gateway/gateway_fixture.hpp"

namespace swarm::gateway::test {
namespace {

class RegistrationTest : public GatewayFixture {
 protected:
  void SetUp() override { start_gateway(); }
};

TEST_F(RegistrationTest, UnknownNameIsPendingVisiblyAndGetsNothing) {
  auto r = post(client("some-token-nobody-issued"), "/api/v1/register", registration("d1"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = body(r);
  EXPECT_EQ(j["approval"], "pending");
  EXPECT_EQ(j["ticket"], "");
  EXPECT_EQ(j["orchestrator"], "");
  EXPECT_NE(j["message"].get<std::string>().find("drone approve d1"), std::string::npos);
  auto n = node("d1");
  EXPECT_EQ(n["approval"], "pending");
  EXPECT_EQ(n["report_ip"], "127.0.0.1");
  EXPECT_EQ(body(get(client(), "/api/v1/status"))["drones"]["pending"], 1);
  // A heartbeat of a pending drone gets nothing either.
  auto hb = body(post(client("some-token-nobody-issued"), "/api/v1/heartbeat", heartbeat("d1")));
  EXPECT_EQ(hb["approval"], "pending");
  EXPECT_EQ(hb["ticket"], "");
}

TEST_F(RegistrationTest, NoTokenAtAllIsPending) {
  auto j = body(post(client(), "/api/v1/register", registration("d1")));
  EXPECT_EQ(j["approval"], "pending");
  EXPECT_EQ(j["ticket"], "");
}

TEST_F(RegistrationTest, AdminApprovalPinsThePresentedToken) {
  auto drone = client("drone-token-aaaaaaaaaaaaaaaa");
  EXPECT_EQ(body(post(drone, "/api/v1/register", registration("d1")))["approval"], "pending");
  // Approval needs the admin token.
  auto denied = post(client(), "/api/v1/drones/d1/approve", json::object());
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(body(denied)["error"], "unauthorized");
  EXPECT_EQ(post(client("wrong-admin-token"), "/api/v1/drones/d1/approve", json::object()).status, 401);
  EXPECT_EQ(node("d1")["approval"], "pending");
  auto ok = post(admin(), "/api/v1/drones/d1/approve", json::object());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["status"], "ok");
  EXPECT_EQ(node("d1")["approval"], "approved");
  EXPECT_EQ(body(post(drone, "/api/v1/register", registration("d1")))["approval"], "approved");
  // Another token for the now approved name is refused.
  auto other = post(client("drone-token-bbbbbbbbbbbbbbbb"), "/api/v1/register", registration("d1"));
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(post(admin(), "/api/v1/drones/nobody/approve", json::object()).status, 404);
}

TEST_F(RegistrationTest, IssuedTokenIsApprovedAtOnceAndStoredHashed) {
  auto token = create_token("d1");
  ASSERT_EQ(token.size(), 64u);
  auto j = body(post(client(token), "/api/v1/register", registration("d1")));
  EXPECT_EQ(j["approval"], "approved");
  EXPECT_EQ(j["heartbeat_interval_s"], 10);
  // The database holds the hash, never the token.
  gateway->stop();
  auto db = swarm::test::read_file(dir / "data" / "gateway.db") + swarm::test::read_file(dir / "data" / "gateway.db-wal");
  EXPECT_EQ(db.find(token), std::string::npos);
  EXPECT_NE(db.find(sha256_hex(token)), std::string::npos);
}

TEST_F(RegistrationTest, WrongTokenForIssuedNameIsPending) {
  create_token("d1");
  auto j = body(post(client("not-the-issued-token-0000000000"), "/api/v1/register", registration("d1")));
  EXPECT_EQ(j["approval"], "pending");
  EXPECT_EQ(j["ticket"], "");
}

TEST_F(RegistrationTest, TokenCreationNeedsAdminAndAValidName) {
  EXPECT_EQ(post(client(), "/api/v1/tokens", {{"name", "d1"}}).status, 401);
  EXPECT_EQ(post(admin(), "/api/v1/tokens", {{"name", "../etc"}}).status, 400);
  EXPECT_EQ(post(admin(), "/api/v1/tokens", {{"nom", "d1"}}).status, 400);
  EXPECT_EQ(post(admin(), "/api/v1/tokens", json::object()).status, 400);
}

TEST_F(RegistrationTest, RevokedDroneAndTokenAreRefused) {
  auto token = create_token("d1");
  auto drone = client(token);
  EXPECT_EQ(body(post(drone, "/api/v1/register", registration("d1")))["approval"], "approved");
  EXPECT_EQ(post(client(), "/api/v1/drones/d1/revoke", json::object()).status, 401);
  ASSERT_EQ(post(admin(), "/api/v1/drones/d1/revoke", json::object()).status, 200);
  auto r = post(drone, "/api/v1/register", registration("d1"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body(r)["error"], "revoked");
  EXPECT_EQ(post(drone, "/api/v1/heartbeat", heartbeat("d1")).status, 403);
  EXPECT_EQ(node("d1")["approval"], "revoked");
  // A revoked token stays refused for a name that never registered, too.
  auto t2 = create_token("d2");
  ASSERT_EQ(post(admin(), "/api/v1/drones/d2/revoke", json::object()).status, 200);
  EXPECT_EQ(post(client(t2), "/api/v1/register", registration("d2")).status, 403);
  EXPECT_EQ(post(admin(), "/api/v1/drones/nobody/revoke", json::object()).status, 404);
  // Approving again lets the pinned token back in.
  ASSERT_EQ(post(admin(), "/api/v1/drones/d1/approve", json::object()).status, 200);
  EXPECT_EQ(body(post(drone, "/api/v1/register", registration("d1")))["approval"], "approved");
}

TEST_F(RegistrationTest, NameHijackIsRefusedLoggedAndChangesNothing) {
  auto token = create_token("d1");
  ASSERT_EQ(body(post(client(token), "/api/v1/register", registration("d1", "", "10.0.0.1")))["approval"], "approved");
  ASSERT_EQ(post(client(token), "/api/v1/heartbeat", {{"name", "d1"}, {"activity", "building"}, {"atom", "=a/b-1"},
                                                      {"load", 1.0}, {"disk_free_mb", 5}})
                .status,
            200);
  auto before = node("d1");
  clock->advance(std::chrono::seconds(5));
  auto evil = json(registration("d1", "", "10.6.6.6"));
  evil["cores"] = 128;
  evil["ssh_host_key"] = "ssh-ed25519 AAAAEvilKey";
  auto r = post(client("attacker-token-xxxxxxxxxxxxxxxx"), "/api/v1/register", evil);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body(r)["error"], "name_in_use");
  auto hb = post(client("attacker-token-xxxxxxxxxxxxxxxx"), "/api/v1/heartbeat", heartbeat("d1", "idle"));
  EXPECT_EQ(hb.status, 403);
  EXPECT_EQ(post(client(), "/api/v1/register", evil).status, 403);
  auto after = node("d1");
  EXPECT_EQ(after, before);
  auto detail = body(get(admin(), "/api/v1/drones/d1"));
  EXPECT_EQ(detail["ssh_host_key"], "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFaked1");
  bool logged = false;
  for (auto& e : detail["events"])
    if (e["kind"] == "drone_name_conflict") logged = true;
  EXPECT_TRUE(logged) << detail["events"].dump();
  // The real drone still works.
  EXPECT_EQ(body(post(client(token), "/api/v1/heartbeat", heartbeat("d1")))["approval"], "approved");
}

TEST_F(RegistrationTest, BadRequestsAreRefusedWithJsonErrors) {
  auto c = client("t");
  auto bad_json = c.request("POST", "/api/v1/register", "{not json");
  ASSERT_TRUE(bad_json.ok());
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_TRUE(bad_json->json().ok());
  auto unknown = json(registration("d1"));
  unknown["surprise"] = 1;
  EXPECT_EQ(post(c, "/api/v1/register", unknown).status, 400);
  EXPECT_EQ(post(c, "/api/v1/register", registration("../../etc")).status, 400);
  EXPECT_EQ(post(c, "/api/v1/register", registration("")).status, 400);
  auto bad_key = json(registration("d1"));
  bad_key["ssh_host_key"] = "ssh-ed25519 AAAA\nevil.example ssh-rsa BBBB";
  EXPECT_EQ(post(c, "/api/v1/register", bad_key).status, 400);
  auto bad_fp = json(registration("d1"));
  bad_fp["fingerprint"] = {{"hash", "not hex!"}};
  EXPECT_EQ(post(c, "/api/v1/register", bad_fp).status, 400);
  auto bad_ip = json(registration("d1"));
  bad_ip["report_ip"] = "1.2.3.4/evil";
  EXPECT_EQ(post(c, "/api/v1/register", bad_ip).status, 400);
  EXPECT_EQ(post(c, "/api/v1/heartbeat", {{"name", "d1"}, {"activity", "offline"}}).status, 400);
  EXPECT_EQ(post(c, "/api/v1/heartbeat", {{"name", "d1"}}).status, 400);
  EXPECT_TRUE(body(get(client(), "/api/v1/nodes")).empty());
}

TEST_F(RegistrationTest, StatePersistsAcrossRestarts) {
  auto token = create_token("d1");
  ASSERT_EQ(body(post(client(token), "/api/v1/register", registration("d1")))["approval"], "approved");
  std::string pem = get(client(), "/api/v1/pubkey").body;
  ASSERT_NE(pem.find("BEGIN PUBLIC KEY"), std::string::npos);
  gateway->stop();
  gateway.reset();
  start_gateway();
  EXPECT_EQ(get(client(), "/api/v1/pubkey").body, pem);
  EXPECT_EQ(node("d1")["approval"], "approved");
  EXPECT_EQ(body(post(client(token), "/api/v1/heartbeat", heartbeat("d1")))["approval"], "approved");
}

class AutoApproveTest : public GatewayFixture {};

TEST_F(AutoApproveTest, ApprovesUnknownNamesButNotWrongTokensForIssuedOnes) {
  options.auto_approve = true;
  start_gateway();
  EXPECT_EQ(body(post(client("any-token-at-all-000000000000"), "/api/v1/register", registration("d1")))["approval"],
            "approved");
  // Its token is pinned like any other.
  EXPECT_EQ(post(client("another-token-11111111111111"), "/api/v1/register", registration("d1")).status, 403);
  create_token("d2");
  EXPECT_EQ(body(post(client("guessed-token-22222222222222"), "/api/v1/register", registration("d2")))["approval"],
            "pending");
}

class TokensFileTest : public GatewayFixture {};

TEST_F(TokensFileTest, PreSeedsTokensAndRefusesBadFiles) {
  swarm::test::write_file(dir / "tokens", "# drones\nd1 token-for-d1-0123456789\n\nd2   token-for-d2-0123456789\n");
  options.tokens_file = (dir / "tokens").string();
  start_gateway();
  EXPECT_EQ(body(post(client("token-for-d1-0123456789"), "/api/v1/register", registration("d1")))["approval"], "approved");
  EXPECT_EQ(body(post(client("token-for-d2-0123456789"), "/api/v1/register", registration("d2")))["approval"], "approved");
  EXPECT_EQ(body(post(client("token-for-d1-0123456789"), "/api/v1/register", registration("d3")))["approval"], "pending");

  GatewayOptions bad = options;
  swarm::test::write_file(dir / "bad-tokens", "d1 token-for-d1-0123456789 extra\n");
  bad.tokens_file = (dir / "bad-tokens").string();
  bad.data_dir = (dir / "other").string();
  EXPECT_FALSE(Gateway::create(bad, clock).ok());
  bad.tokens_file = (dir / "missing").string();
  EXPECT_FALSE(Gateway::create(bad, clock).ok());
}

class AdminTokenTest : public GatewayFixture {};

TEST_F(AdminTokenTest, CreatedMode0600WhenMissingAndReadBack) {
  options.admin_token.clear();
  options.admin_token_file = (dir / "secret" / "admin.token").string();
  unsetenv("BUILD_SWARM_ADMIN_TOKEN");
  options.listen = "127.0.0.1:0";
  options.data_dir = (dir / "data").string();
  auto g = Gateway::create(options, clock);
  ASSERT_TRUE(g.ok()) << g.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(options.admin_token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string token = (*g)->admin_token();
  EXPECT_GE(token.size(), 32u);
  EXPECT_EQ(swarm::test::read_file(options.admin_token_file), token + "\n");
  struct stat key {};
  ASSERT_EQ(::stat((dir / "data" / "gateway.key").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  g->reset();
  auto again = Gateway::create(options, clock);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->admin_token(), token);
  again->reset();
  setenv("BUILD_SWARM_ADMIN_TOKEN", "from-the-environment-0123456789", 1);
  auto env = Gateway::create(options, clock);
  unsetenv("BUILD_SWARM_ADMIN_TOKEN");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ((*env)->admin_token(), "from-the-environment-0123456789");
  swarm::test::write_file(dir / "empty.token", "\n");
  options.admin_token_file = (dir / "empty.token").string();
  EXPECT_FALSE(Gateway::create(options, clock).ok());
}

TEST(AdmissionTest, DecidesEveryCase) {
  DroneRecord approved;
  approved.name = "d";
  approved.approval = "approved";
  approved.token_hash = sha256_hex("t1");
  TokenRecord tok{"d", sha256_hex("t1"), 0, false};
  EXPECT_EQ(decide_admission(approved, tok, sha256_hex("t1"), false).verdict, Verdict::approved);
  EXPECT_EQ(decide_admission(approved, tok, sha256_hex("t2"), true).verdict, Verdict::hijack);
  EXPECT_EQ(decide_admission(std::nullopt, tok, sha256_hex("t1"), false).verdict, Verdict::approved);
  EXPECT_EQ(decide_admission(std::nullopt, tok, sha256_hex("t2"), true).verdict, Verdict::pending);
  EXPECT_EQ(decide_admission(std::nullopt, std::nullopt, sha256_hex("t2"), false).verdict, Verdict::pending);
  EXPECT_EQ(decide_admission(std::nullopt, std::nullopt, sha256_hex("t2"), true).verdict, Verdict::approved);
  TokenRecord revoked = tok;
  revoked.revoked = true;
  EXPECT_EQ(decide_admission(std::nullopt, revoked, sha256_hex("t1"), true).verdict, Verdict::revoked);
  DroneRecord gone = approved;
  gone.approval = "revoked";
  EXPECT_EQ(decide_admission(gone, tok, sha256_hex("t1"), false).verdict, Verdict::revoked);
  DroneRecord pending = approved;
  pending.approval = "pending";
  EXPECT_EQ(decide_admission(pending, tok, sha256_hex("t1"), false).verdict, Verdict::approved);
  EXPECT_EQ(decide_admission(pending, std::nullopt, sha256_hex("t1"), false).verdict, Verdict::pending);
}

}  // namespace
}  // namespace swarm::gateway::test
