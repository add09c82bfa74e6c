// Gateway flags, environment, config file and their checks.
#include "common/config.hpp"
#include "gateway/gateway_fixture.hpp"
#include "gateway/gateway_options.hpp"

namespace swarm::gateway::test {
namespace {

TEST(GatewayOptionsTest, FlagsEnvironmentAndDefaults) {
  {
    CLI::App app("t");
    GatewayOptions o;
    add_gateway_options(app, o);
    Config c(app, "gateway-test-none");
    ASSERT_FALSE(c.parse(std::vector<std::string>{}).has_value());
    EXPECT_EQ(o.listen, "0.0.0.0:8090");
    EXPECT_EQ(o.heartbeat_interval_s, 10);
    EXPECT_EQ(o.offline_after_s, 60);
    EXPECT_EQ(o.ticket_ttl_s, 600);
    EXPECT_DOUBLE_EQ(o.poll_interval_s, 5.0);
    EXPECT_FALSE(o.auto_approve);
    EXPECT_TRUE(check_gateway_options(o).ok());
  }
  {
    CLI::App app("t");
    GatewayOptions o;
    add_gateway_options(app, o);
    Config c(app, "gateway-test-none");
    ASSERT_FALSE(c.parse({"--listen", "127.0.0.1:9000", "--orchestrator", "http://a:8080", "--orchestrator",
                          "http://b:8080,http://c:8080", "--auto-approve", "--heartbeat-interval", "5", "--offline-after",
                          "30", "--ticket-ttl", "300", "--poll-interval", "0.5", "--drone-address-override", "d1=10.0.0.1",
                          "--data-dir", "/tmp/x", "--check-config"})
                     .has_value());
    EXPECT_EQ(o.listen, "127.0.0.1:9000");
    EXPECT_EQ(o.orchestrators, (std::vector<std::string>{"http://a:8080", "http://b:8080", "http://c:8080"}));
    EXPECT_TRUE(o.auto_approve);
    EXPECT_EQ(o.heartbeat_interval_s, 5);
    EXPECT_EQ(o.offline_after_s, 30);
    EXPECT_EQ(o.ticket_ttl_s, 300);
    EXPECT_DOUBLE_EQ(o.poll_interval_s, 0.5);
    EXPECT_EQ(o.drone_address_overrides, std::vector<std::string>{"d1=10.0.0.1"});
    EXPECT_TRUE(o.check_config);
    EXPECT_TRUE(check_gateway_options(o).ok());
  }
  {
    setenv("GATEWAY_LISTEN", "127.0.0.1:7000", 1);
    setenv("GATEWAY_ORCHESTRATORS", "http://x:1,http://y:2", 1);
    CLI::App app("t");
    GatewayOptions o;
    add_gateway_options(app, o);
    Config c(app, "gateway-test-none");
    auto rc = c.parse(std::vector<std::string>{});
    unsetenv("GATEWAY_LISTEN");
    unsetenv("GATEWAY_ORCHESTRATORS");
    ASSERT_FALSE(rc.has_value());
    EXPECT_EQ(o.listen, "127.0.0.1:7000");
    EXPECT_EQ(o.orchestrators, (std::vector<std::string>{"http://x:1", "http://y:2"}));
  }
  {
    CLI::App app("t");
    GatewayOptions o;
    add_gateway_options(app, o);
    Config c(app, "gateway-test-none");
    EXPECT_EQ(c.parse({"--heartbeat-interval", "0"}).value_or(0), 2);
  }
}

TEST(GatewayOptionsTest, ChecksWhatCli11CannotSee) {
  GatewayOptions o;
  EXPECT_TRUE(check_gateway_options(o).ok());
  auto bad = [&](auto change) {
    GatewayOptions x;
    change(x);
    return !check_gateway_options(x).ok();
  };
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.listen = "nonsense"; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.orchestrators = {"ftp://a"}; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.drone_address_overrides = {"d1"}; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.drone_address_overrides = {"../d=1.2.3.4"}; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.drone_address_overrides = {"d1=a b"}; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.log_level = "loud"; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.offline_after_s = 5; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.ticket_ttl_s = 5; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.tokens_file = "/nonexistent/tokens"; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.dashboard_dir = "/nonexistent"; }));
  EXPECT_TRUE(bad([](GatewayOptions& x) { x.data_dir = ""; }));
}

TEST(GatewayOptionsTest, TokensTextAndOverrides) {
  auto t = parse_tokens_text("# c\n\nd1 0123456789abcdef\n  d2\t0123456789abcdefXX  \n");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[1], (std::pair<std::string, std::string>{"d2", "0123456789abcdefXX"}));
  EXPECT_FALSE(parse_tokens_text("d1\n").ok());
  EXPECT_FALSE(parse_tokens_text("d1 short\n").ok());
  EXPECT_FALSE(parse_tokens_text("-bad 0123456789abcdef\n").ok());
  EXPECT_FALSE(parse_tokens_text("d1 0123456789abcdef more\n").ok());
  auto ov = parse_address_overrides({"d1=10.0.0.1", "d2=host.example"});
  ASSERT_TRUE(ov.ok());
  EXPECT_EQ(ov->at("d2"), "host.example");
  EXPECT_TRUE(valid_drone_name("build-01.lan_x"));
  EXPECT_FALSE(valid_drone_name(".hidden"));
  EXPECT_FALSE(valid_drone_name("a/b"));
  EXPECT_FALSE(valid_drone_name(std::string(65, 'a')));
}

}  // namespace
}  // namespace swarm::gateway::test
