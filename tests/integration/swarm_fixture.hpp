#pragma once
// The whole swarm as real processes for integration tests: gateway, orchestrator, one drone "d1" with
// the stand-in emerge, a real sshd with the rrsync restriction. Extra environment for the stand-in
// (FAKE_EMERGE_*) and extra drone flags can be given.

#include <cctype>
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "support/daemon_process.hpp"
#include "support/sshd_fixture.hpp"
#include "support/test_support.hpp"

namespace swarm::test {

namespace fs = std::filesystem;
using nlohmann::json;

class Swarm {
 public:
  explicit Swarm(std::map<std::string, std::string> emerge_env = {}, std::vector<std::string> drone_flags = {}) {
    m_emerge_env = std::move(emerge_env);
    m_drone_flags = std::move(drone_flags);
    start_all();
  }

  void start_all() {
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
    // Submissions need the gateway to have polled the orchestrator once.
    bool up = wait_for(
        [&] {
          auto r = HttpClient(gateway_url).get("/api/v1/status");
          return r && r->status == 200 && r->body.find("\"up\":true") != std::string::npos;
        },
        std::chrono::seconds(20));
    if (!up) throw std::runtime_error("the gateway does not see the orchestrator:\n" + gateway->log_text());

    start_drone();
  }

  /// Starts (again) the drone with the same configuration; its journal and PKGDIR are kept.
  void start_drone() {
    std::map<std::string, std::string> env = {{"PKGDIR", (dir / "d1-pkgdir").string()},
                                              {"FAKE_EMERGE_SLEEP", "0.2"},
                                              {"FAKE_EMERGE_DRONE", "d1"},
                                              {"FAKE_EMERGE_LEDGER", (dir / "ledger").string()},
                                              {"FAKE_EMERGE_ARGV_LOG", (dir / "argv.log").string()}};
    for (const auto& [k, v] : m_emerge_env) env[k] = v;
    std::string emerge = (source_dir() / "tests/support/fake-emerge").string();
    std::vector<std::string> args{"--gateway", gateway_url, "--name", "d1", "--token-file", (dir / "d1.token").string(),
                                 "--report-ip", "127.0.0.1", "--emerge-command", emerge, "--emerge-info-command",
                                 emerge + " --info", "--portage-dir", (dir / "portage").string(), "--pkgdir",
                                 (dir / "d1-pkgdir").string(), "--work-dir", (dir / "d1-work").string(), "--upload-key",
                                 sshd->user_key().string(), "--known-hosts", sshd->known_hosts().string(),
                                 "--control-listen", "127.0.0.1:0", "--sync-command", "/bin/true", "--config", "/dev/null"};
    args.insert(args.end(), m_drone_flags.begin(), m_drone_flags.end());
    drone = std::make_unique<DaemonProcess>(executable("swarm-drone"), args,
                                            dir / ("drone-" + std::to_string(m_drone_starts++) + ".log"), env);
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
           (drone ? drone->log_text() : std::string());
  }

  TempDir dir;
  std::map<std::string, std::string> m_emerge_env;
  std::vector<std::string> m_drone_flags;
  int m_drone_starts = 0;
  std::string token;
  std::string gateway_url, orch_url;
  std::unique_ptr<DaemonProcess> gateway, orchestrator, drone;
  std::unique_ptr<SshdFixture> sshd;
};

}  // namespace swarm::test
