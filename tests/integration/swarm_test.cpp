// The whole swarm as real processes: gateway, orchestrator, a drone with the stand-in emerge, a real
// sshd with the rrsync restriction and real rsync uploads. Checked from views the swarm does not
// control: the stand-in's ledger, the drone's PKGDIR, the binhost served over HTTP.
#include <gtest/gtest.h>

#include <csignal>
#include <sstream>

#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "common/packages_index.hpp"
#include "support/daemon_process.hpp"
#include "support/sshd_fixture.hpp"
#include "support/test_support.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Swarm {
 public:
  explicit Swarm(std::map<std::string, std::string> emerge_env = {}) {
    fs::create_directories(dir / "orch" / "staging");
    fs::create_directories(dir / "gw");
    fs::create_directories(dir / "portage");
    fs::create_directories(dir / "d1-pkgdir");
    token = random_token(16);
    write_file(dir / "gw" / "tokens", "d1 " + token + "\n");
    write_file(dir / "d1.token", token + "\n");
    gateway = std::make_unique<DaemonProcess>(
        executable("swarm-gateway"),
        std::vector<std::string>{"--listen", "127.0.0.1:0", "--port-file", (dir / "gw.port").string(), "--data-dir",
                                 (dir / "gw").string(), "--tokens-file", (dir / "gw" / "tokens").string(),
                                 "--admin-token-file", (dir / "gw" / "admin.token").string(), "--poll-interval", "0.2",
                                 "--heartbeat-interval", "1", "--config", "/dev/null"},
        dir / "gateway.log");
    uint16_t gw_port = wait_for_port_file(dir / "gw.port", std::chrono::seconds(20));
    if (!gw_port) throw std::runtime_error("gateway did not start:\n" + gateway->log_text());
    gateway_url = "http://127.0.0.1:" + std::to_string(gw_port);

    sshd = std::make_unique<SshdFixture>(dir / "orch" / "staging", "d1");
    if (!sshd->start()) throw std::runtime_error("sshd did not start: " + sshd->error());

    orchestrator = std::make_unique<DaemonProcess>(
        executable("swarm-orchestrator"),
        std::vector<std::string>{"--listen", "127.0.0.1:0", "--port-file", (dir / "orch.port").string(), "--data-dir",
                                 (dir / "orch").string(), "--gateway", gateway_url, "--name", "orch", "--upload-host",
                                 "127.0.0.1", "--upload-port", std::to_string(sshd->port()), "--upload-user", sshd->user(),
                                 "--maintenance-interval", "1", "--config", "/dev/null"},
        dir / "orchestrator.log");
    uint16_t orch_port = wait_for_port_file(dir / "orch.port", std::chrono::seconds(20));
    if (!orch_port) throw std::runtime_error("orchestrator did not start:\n" + orchestrator->log_text());
    orch_url = "http://127.0.0.1:" + std::to_string(orch_port);

    // Restart the gateway's view: it must know the orchestrator (configured after the fact via its poller).
    gateway->signal(SIGTERM);
    gateway->wait(std::chrono::seconds(10));
    fs::remove(dir / "gw.port");
    gateway = std::make_unique<DaemonProcess>(
        executable("swarm-gateway"),
        std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(gw_port), "--port-file",
                                 (dir / "gw.port").string(), "--data-dir", (dir / "gw").string(), "--tokens-file",
                                 (dir / "gw" / "tokens").string(), "--admin-token-file",
                                 (dir / "gw" / "admin.token").string(), "--orchestrator", orch_url, "--poll-interval",
                                 "0.2", "--heartbeat-interval", "1", "--config", "/dev/null"},
        dir / "gateway2.log");
    if (!wait_for_port_file(dir / "gw.port", std::chrono::seconds(20)))
      throw std::runtime_error("gateway did not restart:\n" + gateway->log_text());

    std::map<std::string, std::string> env = {{"PKGDIR", (dir / "d1-pkgdir").string()},
                                              {"FAKE_EMERGE_SLEEP", "0.2"},
                                              {"FAKE_EMERGE_DRONE", "d1"},
                                              {"FAKE_EMERGE_LEDGER", (dir / "ledger").string()},
                                              {"FAKE_EMERGE_ARGV_LOG", (dir / "argv.log").string()}};
    for (const auto& [k, v] : emerge_env) env[k] = v;
    std::string emerge = (source_dir() / "tests/support/fake-emerge").string();
    drone = std::make_unique<DaemonProcess>(
        executable("swarm-drone"),
        std::vector<std::string>{"--gateway", gateway_url, "--name", "d1", "--token-file", (dir / "d1.token").string(),
                                 "--report-ip", "127.0.0.1", "--emerge-command", emerge, "--emerge-info-command",
                                 emerge + " --info", "--portage-dir", (dir / "portage").string(), "--pkgdir",
                                 (dir / "d1-pkgdir").string(), "--work-dir", (dir / "d1-work").string(), "--upload-key",
                                 sshd->user_key().string(), "--known-hosts", sshd->known_hosts().string(),
                                 "--control-listen", "127.0.0.1:0", "--sync-command", "/bin/true", "--config", "/dev/null"},
        dir / "drone.log", env);
  }

  ~Swarm() {
    for (auto* p : {drone.get(), orchestrator.get(), gateway.get()}) {
      if (!p) continue;
      p->signal(SIGTERM);
      if (!p->wait(std::chrono::seconds(15))) p->kill();
    }
  }

  HttpClient admin() const {
    HttpClientOptions o;
    o.bearer_token = read_file(dir / "gw" / "admin.token");
    while (!o.bearer_token.empty() && std::isspace(static_cast<unsigned char>(o.bearer_token.back()))) o.bearer_token.pop_back();
    return HttpClient(gateway_url, o);
  }
  json orch_status() const {
    auto r = HttpClient(orch_url).get("/api/v1/status");
    return r && r->status == 200 ? r->json().value() : json::object();
  }
  int64_t count(const std::string& state) const {
    auto s = orch_status();
    return s.contains("queue") ? s["queue"].value(state, int64_t{0}) : -1;
  }
  std::string logs() const {
    return "--- gateway\n" + gateway->log_text() + "\n--- orchestrator\n" + orchestrator->log_text() + "\n--- drone\n" +
           drone->log_text();
  }

  TempDir dir;
  std::string token;
  std::string gateway_url, orch_url;
  std::unique_ptr<DaemonProcess> gateway, orchestrator, drone;
  std::unique_ptr<SshdFixture> sshd;
};

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  if (!fs::exists(p)) return out;
  std::istringstream in(read_file(p));
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

TEST(SwarmProcesses, PackagesAreBuiltUploadedAcceptedAndPublished) {
  Swarm s;
  auto sub = s.admin().post_json(
      "/api/v1/queue", {{"packages",
                         {{{"atom", "=dev-libs/base-1.0"}},
                          {{"atom", "=dev-libs/mid-2.1-r1"}, {"deps", {"=dev-libs/base-1.0"}}},
                          {{"atom", "=app-misc/top-3"}, {"deps", {"=dev-libs/mid-2.1-r1"}}}}}});
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->status, 200) << sub->body << s.logs();
  ASSERT_TRUE(wait_for([&] { return s.count("published") == 3; }, std::chrono::seconds(90))) << s.logs();

  auto pk = HttpClient(s.orch_url).get("/binhost/Packages");
  ASSERT_TRUE(pk.ok());
  auto idx = parse_packages(pk->body).value();
  ASSERT_EQ(idx.packages.size(), 3u);
  std::set<std::string> cpvs;
  for (const auto& p : idx.packages) {
    cpvs.insert(p.at("CPV"));
    auto file = s.dir / "orch" / "packages" / p.at("PATH");
    ASSERT_TRUE(fs::exists(file)) << p.at("PATH");
    auto served = HttpClient(s.orch_url).get("/binhost/" + p.at("PATH"));
    ASSERT_TRUE(served.ok());
    EXPECT_EQ(served->status, 200);
    EXPECT_EQ(std::to_string(served->body.size()), p.at("SIZE"));
  }
  EXPECT_EQ(cpvs, (std::set<std::string>{"dev-libs/base-1.0", "dev-libs/mid-2.1-r1", "app-misc/top-3"}));
  // The stand-in's own ledger: each package built once, by d1.
  auto ledger = lines_of(s.dir / "ledger");
  EXPECT_EQ(ledger.size(), 3u);
  // Local copies are gone once accepted, and the drone's Packages no longer lists them.
  ASSERT_TRUE(wait_for([&] {
    size_t left = 0;
    if (fs::exists(s.dir / "d1-pkgdir"))
      for (auto& e : fs::recursive_directory_iterator(s.dir / "d1-pkgdir"))
        if (e.is_regular_file() && e.path().string().ends_with(".gpkg.tar")) ++left;
    return left == 0;
  }, std::chrono::seconds(20)));
  // The drone is known to the gateway, approved, with both addresses.
  auto nodes = HttpClient(s.gateway_url).get("/api/v1/nodes");
  ASSERT_TRUE(nodes.ok());
  auto list = nodes->json().value();
  auto& arr = list.is_array() ? list : list["nodes"];
  ASSERT_FALSE(arr.empty()) << nodes->body;
  EXPECT_EQ(arr[0]["name"], "d1");
  EXPECT_EQ(arr[0]["approval"], "approved");
  EXPECT_EQ(arr[0]["report_ip"], "127.0.0.1");
}

TEST(SwarmProcesses, FailedBuildIsReportedAndNeverUploaded) {
  Swarm s(std::map<std::string, std::string>{{"FAKE_EMERGE_FAIL", "dev-libs/broken-1"}});
  auto sub = s.admin().post_json("/api/v1/queue", {{"atoms", {"=dev-libs/broken-1"}}});
  ASSERT_EQ(sub->status, 200) << sub->body;
  ASSERT_TRUE(wait_for(
      [&] {
        auto q = HttpClient(s.orch_url).get("/api/v1/queue");
        if (!q || q->status != 200) return false;
        for (const auto& e : q->json().value())
          if (e["atom"] == "=dev-libs/broken-1" && e["attempts"].get<int64_t>() >= 1) return true;
        return false;
      },
      std::chrono::seconds(60)))
      << s.logs();
  // Nothing reached staging or PKGDIR; the argv was the canonical command.
  size_t staged = 0;
  for (auto& e : fs::recursive_directory_iterator(s.dir / "orch" / "staging"))
    if (e.is_regular_file() && e.path().string().ends_with(".gpkg.tar")) ++staged;
  EXPECT_EQ(staged, 0u);
  EXPECT_EQ(parse_packages(HttpClient(s.orch_url).get("/binhost/Packages")->body).value().packages.size(), 0u);
  std::vector<std::string> builds;
  for (const auto& l : lines_of(s.dir / "argv.log"))
    if (l.find("=dev-libs/broken-1") != std::string::npos) builds.push_back(l);
  ASSERT_FALSE(builds.empty());
  EXPECT_NE(builds[0].find("--usepkg-exclude=dev-libs/broken"), std::string::npos) << builds[0];
  for (const auto& b : builds) EXPECT_EQ(b, builds[0]) << "retry information never enters the command line";
}

}  // namespace
}  // namespace swarm::test
