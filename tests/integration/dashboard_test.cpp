// The dashboard in a real headless Chromium against a real swarm-gateway and swarm-orchestrator:
// the page is loaded once, then a package is claimed, built and published through the orchestrator,
// and the DOM must follow from the event stream without a reload. A screenshot is kept as an artifact.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>

#include "common/atom.hpp"
#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "common/messages.hpp"
#include "support/chromium_driver.hpp"
#include "support/daemon_process.hpp"
#include "support/processes.hpp"
#include "support/test_support.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kAdminToken = "dashboard-admin-token-0123456789abcdef";
constexpr const char* kDroneToken = "dashboard-drone-token-0123456789abcdef";
constexpr const char* kDrone = "d1";
constexpr const char* kAtom = "=app-misc/hello-1.2";

HttpClient client(const std::string& url, const std::string& bearer = "") {
  HttpClientOptions o;
  o.bearer_token = bearer;
  o.total_timeout = seconds(10);
  return HttpClient(url, o);
}

std::string tail(const std::string& text, size_t n = 3000) {
  return text.size() > n ? text.substr(text.size() - n) : text;
}

/// A gateway and the orchestrator it routes to, both real processes on 127.0.0.1:0.
class DashboardSwarm {
 public:
  DashboardSwarm() {
    write_file(m_dir / "admin.token", std::string(kAdminToken) + "\n");
    write_file(m_dir / "tokens", std::string(kDrone) + " " + kDroneToken + "\n");
    // The orchestrator fetches the gateway's key at start, and the gateway needs the orchestrator's
    // URL: a first gateway run creates the key, the second (same data dir) knows the orchestrator.
    start_gateway("");
    m_pubkey = client(gateway_url()).get("/api/v1/pubkey").value().body;
    start_orchestrator();
    m_gateway->signal(SIGTERM);
    if (!m_gateway->wait(seconds(10)))
      throw std::runtime_error("first gateway did not stop:\n" + m_gateway->log_text());
    start_gateway(orchestrator_url());
  }

  std::string gateway_url() const { return "http://127.0.0.1:" + std::to_string(m_gateway_port); }
  std::string orchestrator_url() const { return "http://127.0.0.1:" + std::to_string(m_orch_port); }
  const std::string& first_pubkey() const { return m_pubkey; }
  HttpClient admin() const { return client(gateway_url(), kAdminToken); }
  HttpClient drone() const { return client(gateway_url(), kDroneToken); }
  fs::path orchestrator_data() const { return m_dir / "orch"; }
  std::string logs() const {
    return "--- gateway log ---\n" + tail(m_gateway->log_text()) + "\n--- orchestrator log ---\n" +
           tail(m_orchestrator->log_text());
  }

 private:
  void start_gateway(const std::string& orchestrator) {
    fs::remove(m_dir / "gateway.port");
    std::vector<std::string> args = {"--listen",           "127.0.0.1:0",
                                     "--port-file",        (m_dir / "gateway.port").string(),
                                     "--data-dir",         (m_dir / "gw").string(),
                                     "--admin-token-file", (m_dir / "admin.token").string(),
                                     "--tokens-file",      (m_dir / "tokens").string(),
                                     "--poll-interval",    "0.2",
                                     "--poll-timeout",     "2",
                                     "--log-level",        "debug",
                                     "--config",           "/dev/null"};
    if (!orchestrator.empty()) args.insert(args.end(), {"--orchestrator", orchestrator});
    m_gateway.reset();
    m_gateway = std::make_unique<DaemonProcess>(executable("swarm-gateway"), args,
                                                m_dir / ("gateway-" + std::to_string(m_gateway_starts++) + ".log"),
                                                std::map<std::string, std::string>{{"BUILD_SWARM_ADMIN_TOKEN", ""}});
    m_gateway_port = wait_for_port_file(m_dir / "gateway.port", seconds(20));
    if (m_gateway_port == 0) throw std::runtime_error("gateway did not start:\n" + m_gateway->log_text());
  }

  void start_orchestrator() {
    std::vector<std::string> args = {"--listen",
                                     "127.0.0.1:0",
                                     "--port-file",
                                     (m_dir / "orch.port").string(),
                                     "--data-dir",
                                     orchestrator_data().string(),
                                     "--gateway",
                                     gateway_url(),
                                     "--name",
                                     "orch",
                                     "--maintenance-interval",
                                     "1",
                                     "--config",
                                     "/dev/null"};
    m_orchestrator =
        std::make_unique<DaemonProcess>(executable("swarm-orchestrator"), args, m_dir / "orchestrator.log");
    m_orch_port = wait_for_port_file(m_dir / "orch.port", seconds(20));
    if (m_orch_port == 0) throw std::runtime_error("orchestrator did not start:\n" + m_orchestrator->log_text());
  }

  TempDir m_dir;
  std::unique_ptr<DaemonProcess> m_gateway;
  std::unique_ptr<DaemonProcess> m_orchestrator;
  uint16_t m_gateway_port = 0;
  uint16_t m_orch_port = 0;
  int m_gateway_starts = 0;
  std::string m_pubkey;
};

/// Registers the drone until the gateway hands out a ticket for an orchestrator; the last answer.
json register_drone(const DashboardSwarm& swarm) {
  RegisterRequest req;
  req.name = kDrone;
  req.report_ip = "127.0.0.1";
  req.cores = 12;
  req.ram_mb = 16384;
  req.version = "test";
  json answer;
  wait_for(
      [&] {
        auto r = swarm.drone().post_json("/api/v1/register", req.to_json());
        if (!r || r->status != 200) return false;
        answer = r->json().value();
        return !answer.value("ticket", std::string()).empty();
      },
      seconds(15));
  return answer;
}

Status heartbeat(const DashboardSwarm& swarm, const std::string& activity, const json& lease) {
  HeartbeatRequest hb;
  hb.name = kDrone;
  hb.activity = activity;
  if (!lease.is_null()) {
    hb.lease_id = lease["lease_id"].get<std::string>();
    hb.atom = lease["atom"].get<std::string>();
  }
  auto r = swarm.drone().post_json("/api/v1/heartbeat", hb.to_json());
  if (!r) return r.error();
  if (r->status != 200)
    return make_error(ErrorKind::protocol, "heartbeat answered " + std::to_string(r->status) + ": " + r->body);
  return {};
}

/// Writes a valid gpkg for the lease where rsync would have put it; the staged {path, sha256, size}.
json stage(const DashboardSwarm& swarm, const json& lease) {
  auto atom = parse_atom(lease["atom"].get<std::string>()).value();
  std::string rel = atom.category + "/" + atom.pn + "/" + atom.pf() + "-1.gpkg.tar";
  fs::path file = swarm.orchestrator_data() / "staging" / kDrone / lease["lease_id"].get<std::string>() / rel;
  fs::create_directories(file.parent_path());
  std::string cmd = "sh " + (source_dir() / "tests/support/make-gpkg.sh").string() + " '" + file.string() + "' " +
                    atom.category + " " + atom.pf() + " 1 4";
  if (run_shell(cmd) != 0) throw std::runtime_error("make-gpkg failed");
  return {
      {"path", rel}, {"sha256", sha256_file_hex(file).value()}, {"size", static_cast<int64_t>(fs::file_size(file))}};
}

// JavaScript helpers evaluated in the page.
std::string text_of(const std::string& id) {
  return "((document.getElementById('" + id + "') || {}).textContent || '')";
}

TEST(DashboardDriver, Base64DecodesStandardAlphabetAndRefusesGarbage) {
  EXPECT_EQ(base64_decode("aGVsbG8=").value(), "hello");
  EXPECT_EQ(base64_decode("aGVsbG8").value(), "hello");
  EXPECT_EQ(base64_decode("").value(), "");
  EXPECT_EQ(base64_decode("+/+/").value(), std::string("\xfb\xff\xbf", 3));
  EXPECT_FALSE(base64_decode("aGV*bG8="));
  EXPECT_FALSE(base64_decode("a"));
  EXPECT_FALSE(base64_decode("-_-_")) << "base64url is another alphabet";
}

TEST(DashboardDriver, StartFailsCleanlyWithoutTheBrowser) {
  ChromiumOptions co;
  co.executable = "/nonexistent/chromium";
  auto d = ChromiumDriver::start(co);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind, ErrorKind::not_found);
}

TEST(DashboardDriver, ReportsPageExceptionsAndTimesOutWithoutLosingTheSession) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " is not installed (scripts/install-deps.sh installs it)";
  ChromiumOptions co;
  co.command_timeout = scaled(seconds(20));  // a busy machine may take seconds to load even a data: page
  auto d = ChromiumDriver::start(co);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ChromiumDriver& page = **d;
  EXPECT_FALSE(page.evaluate("1 + 1").ok()) << "no page before navigate";
  ASSERT_TRUE(page.navigate("data:text/html,<title>t</title><p id=p>hi</p>").ok());
  EXPECT_EQ(page.evaluate("document.getElementById('p').textContent").value(), "hi");
  auto thrown = page.evaluate("throw new Error('boom')");
  ASSERT_FALSE(thrown.ok());
  EXPECT_NE(thrown.error().message.find("boom"), std::string::npos) << thrown.error().message;
  auto start = std::chrono::steady_clock::now();
  page.set_command_timeout(std::chrono::milliseconds(1500));
  auto never = page.evaluate("new Promise(() => {})");
  page.set_command_timeout(co.command_timeout);
  ASSERT_FALSE(never.ok());
  EXPECT_EQ(never.error().kind, ErrorKind::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, scaled(seconds(5)));
  EXPECT_FALSE(page.wait_until("false", std::chrono::milliseconds(300)));
  EXPECT_EQ(page.evaluate("40 + 2").value(), 42) << "a late answer to the timed-out call is skipped";
  ASSERT_TRUE(page.evaluate("setTimeout(() => { throw new Error('later'); }, 0); true").ok());
  EXPECT_TRUE(wait_for([&] {
    (void)page.evaluate("1");
    for (const auto& e : page.page_errors())
      if (e.find("later") != std::string::npos) return true;
    return false;
  }));
  pid_t pid = page.pid();
  page.stop();
  EXPECT_EQ(page.pid(), -1);
  EXPECT_TRUE(wait_for([&] { return live_group_members(pid).empty(); }, seconds(5))) << "the browser's group is gone";
  EXPECT_FALSE(page.evaluate("1").ok());
}

TEST(DashboardInChromium, FollowsAPackageToPublishedWithoutReload) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " is not installed (scripts/install-deps.sh installs it)";
  auto started = std::chrono::steady_clock::now();
  DashboardSwarm swarm;
  TempDir scratch;

  // Same data dir, same key: the key the orchestrator fetched still signs the second run's tickets.
  auto pubkey = client(swarm.gateway_url()).get("/api/v1/pubkey");
  ASSERT_TRUE(pubkey.ok());
  EXPECT_EQ(pubkey->body, swarm.first_pubkey());
  ASSERT_TRUE(wait_for(
      [&] {
        auto s = client(swarm.gateway_url()).get("/api/v1/status");
        if (!s || s->status != 200) return false;
        auto j = s->json().value();
        return !j["orchestrators"].empty() && j["orchestrators"][0].value("up", false);
      },
      seconds(15)))
      << swarm.logs();

  auto submitted = swarm.admin().post_json("/api/v1/queue", {{"atoms", {kAtom}}});
  ASSERT_TRUE(submitted.ok());
  ASSERT_EQ(submitted->status, 200) << submitted->body;
  EXPECT_EQ(submitted->json().value()["added"], 1) << submitted->body;

  json reg = register_drone(swarm);
  ASSERT_EQ(reg.value("approval", ""), "approved") << reg.dump() << swarm.logs();
  ASSERT_FALSE(reg.value("ticket", std::string()).empty()) << reg.dump() << swarm.logs();
  ASSERT_EQ(reg.value("orchestrator", ""), swarm.orchestrator_url()) << reg.dump();
  auto hb = heartbeat(swarm, "idle", json());
  ASSERT_TRUE(hb.ok()) << hb.error().message;

  ChromiumOptions co;
  co.log = scratch / "chromium.log";
  auto started_browser = ChromiumDriver::start(co);
  ASSERT_TRUE(started_browser.ok()) << started_browser.error().message << "\n" << tail(read_file(co.log));
  ChromiumDriver& page = **started_browser;
  auto nav = page.navigate(swarm.gateway_url() + "/");
  ASSERT_TRUE(nav.ok()) << nav.error().message;
  EXPECT_EQ(page.evaluate("document.title").value(), "build-swarm");

  // The first state: one package waiting, the drone idle, the stream connected.
  bool loaded = page.wait_until(
      text_of("queue-needed-count") + " === '1' && " + text_of("queue-published-count") + " === '0' && " +
          text_of("waiting-0") + ".includes('app-misc/hello-1.2') && " + text_of("connection") + " === 'live' && " +
          "(document.getElementById('drone-d1') || {dataset: {}}).dataset.activity === 'idle'",
      seconds(15));
  ASSERT_TRUE(loaded) << page.evaluate("document.body.innerText").value().dump() << swarm.logs();
  EXPECT_EQ(page.evaluate(text_of("drone-d1-cores")).value(), "12");
  EXPECT_EQ(page.evaluate(text_of("drone-d1-orchestrator")).value(), "orch");
  EXPECT_EQ(page.evaluate(text_of("drone-d1-addresses")).value(), "127.0.0.1");
  EXPECT_EQ(page.evaluate(text_of("drones-idle-count")).value(), "1");
  EXPECT_EQ(page.evaluate(text_of("cores-count")).value(), "12");
  EXPECT_EQ(page.evaluate(text_of("orchestrator-orch") + ".includes('orch')").value(), true);
  ASSERT_TRUE(page.evaluate("window.__swarmMarker = 'loaded-once'; true").ok());
  int events_before = std::stoi(page.evaluate("document.body.dataset.events || '0'").value().get<std::string>());

  // The drone claims the package: the row follows the heartbeat, the queue the lease.
  HttpClient orch = client(swarm.orchestrator_url(), reg["ticket"].get<std::string>());
  auto work = orch.post_json("/api/v1/work?wait=0", json::object());
  ASSERT_TRUE(work.ok());
  ASSERT_EQ(work->status, 200) << work->body << swarm.logs();
  json lease = work->json().value();
  ASSERT_EQ(lease["atom"], kAtom);
  hb = heartbeat(swarm, "building", lease);
  ASSERT_TRUE(hb.ok()) << hb.error().message;
  EXPECT_TRUE(page.wait_until(text_of("drone-d1-activity") + " === 'building' && " + text_of("drone-d1-atom") +
                                  ".includes('hello-1.2') && " + text_of("queue-leased-count") + " === '1'",
                              seconds(15)))
      << page.evaluate("document.body.innerText").value().dump();

  // It uploads and completes: the package is published, and the page shows it live.
  json staged = stage(swarm, lease);
  json body = {{"lease_id", lease["lease_id"]},
               {"fence", lease["fence"]},
               {"result", "built"},
               {"path", staged["path"]},
               {"sha256", staged["sha256"]},
               {"size", staged["size"]},
               {"duration_s", 2.5},
               {"max_rss_mb", 100},
               {"exit_code", 0},
               {"log_tail", "ok\n"}};
  auto done = orch.post_json("/api/v1/complete", body);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->status, 200) << done->body;
  EXPECT_EQ(done->json().value()["accepted"], true) << done->body;
  hb = heartbeat(swarm, "idle", json());
  ASSERT_TRUE(hb.ok()) << hb.error().message;
  bool published = page.wait_until(text_of("queue-published-count") + " === '1' && " + text_of("queue-needed-count") +
                                       " === '0' && " + text_of("queue-leased-count") + " === '0' && " +
                                       text_of("drone-d1-activity") + " === 'idle' && " +
                                       "[...document.querySelectorAll('#events li[data-kind=\"published\"]')]"
                                       ".some((li) => li.textContent.includes('app-misc/hello-1.2'))",
                                   seconds(20));
  EXPECT_TRUE(published) << page.evaluate("document.body.innerText").value().dump() << swarm.logs();
  EXPECT_EQ(page.evaluate("document.getElementById('waiting').childElementCount").value(), 0);
  EXPECT_EQ(page.evaluate("document.querySelector('[id^=\"run-\"][id$=\"-done\"]').textContent").value(), "1 / 1 done");

  // No reload happened: one navigation, and the marker set before the change survived.
  EXPECT_EQ(page.evaluate("performance.getEntriesByType('navigation').length").value(), 1);
  EXPECT_EQ(page.evaluate("performance.getEntriesByType('navigation')[0].type").value(), "navigate");
  EXPECT_EQ(page.evaluate("window.__swarmMarker").value(), "loaded-once");
  int events_after = std::stoi(page.evaluate("document.body.dataset.events || '0'").value().get<std::string>());
  EXPECT_GT(events_after, events_before) << "the changes came through the event stream";

  for (const auto& e : page.page_errors()) {
    // The page declares no icon, so Chromium's own /favicon.ico probe is not the dashboard's error.
    if (e.find("/favicon.ico") == std::string::npos) ADD_FAILURE() << "page error: " << e;
  }

  fs::path artifact = binary_dir() / "test-artifacts" / "dashboard.png";
  fs::create_directories(artifact.parent_path());
  fs::remove(artifact);
  auto shot = page.screenshot(artifact);
  ASSERT_TRUE(shot.ok()) << shot.error().message;
  std::string png = read_file(artifact);
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  page.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(60));
}

}  // namespace
}  // namespace swarm::test
