#pragma once
// Test helpers for the gateway: a fake orchestrator and a fake drone control endpoint made with
// HttpServer, and a fixture running the real gateway in-process on 127.0.0.1:0 with a FakeClock.

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "gateway/gateway.hpp"
#include "support/test_support.hpp"

namespace swarm::gateway::test {

using nlohmann::json;

inline constexpr const char* kAdminToken = "admin-token-for-tests-0123456789abcdef";

/// Every request a fake server received.
struct Recorded {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string remote_ip;
};

/// A stand-in orchestrator: status from `set_status`, canned answers, a recorded request log.
class FakeOrchestrator {
 public:
  explicit FakeOrchestrator(std::string name, std::string listen = "127.0.0.1:0") : m_name(std::move(name)) {
    HttpServerOptions o;
    o.listen = std::move(listen);
    o.threads = 2;
    m_server = std::make_unique<HttpServer>(o);
    m_status = {{"name", m_name}, {"ready", 0}, {"fingerprints", json::array()},
                {"queue", {{"needed", 0}, {"leased", 0}, {"received", 0}, {"published", 0}, {"quarantined", 0},
                           {"blocked", 0}, {"cancelled", 0}, {"withdrawn", 0}}},
                {"runs", json::array()}};
    m_server->route("GET", "/api/v1/status", [this](const HttpRequest& r) {
      record(r);
      std::lock_guard lock(m_mutex);
      return HttpResponse::json(m_status);
    });
    m_server->route("POST", "/api/v1/queue", [this](const HttpRequest& r) {
      record(r);
      return HttpResponse::json({{"run", 7}, {"added", 2}, {"skipped", 0}, {"rejected", json::array()},
                                 {"cycles_broken", json::array()}});
    });
    m_server->route("GET", "/api/v1/queue", [this](const HttpRequest& r) {
      record(r);
      return HttpResponse::json(json::array({{{"atom", "=dev-libs/a-1"}, {"state", r.query_or("state", "")},
                                              {"attempts", 0}, {"reason", "waiting on dev-libs/b-2"}}}));
    });
    m_server->route("POST", "/api/v1/queue/{verb}", [this](const HttpRequest& r) {
      record(r);
      json body = json::parse(r.body, nullptr, false);
      std::lock_guard lock(m_mutex);
      std::string atom = body.is_object() ? body.value("atom", "") : "";
      if (m_known_atoms && !atom.empty() && !m_known_atoms->count(atom))
        return HttpResponse::error(404, "not_found", "no request for " + atom);
      return HttpResponse::json({{"status", "ok"}, {"affected", 1}});
    });
    m_server->route("GET", "/api/v1/builds/{id}/log", [this](const HttpRequest& r) {
      record(r);
      if (r.params.at("id") != m_known_build) return HttpResponse::error(404, "not_found", "no such build");
      return HttpResponse::text("log of build " + r.params.at("id") + " on " + m_name + "\n");
    });
    m_server->route_stream("/api/v1/events", [this](const HttpRequest& r, std::shared_ptr<EventStream> s) {
      record(r);
      std::lock_guard lock(m_mutex);
      m_streams.push_back(std::move(s));
    });
    auto port = m_server->start();
    if (!port) throw std::runtime_error(port.error().message);
    auto host = o.listen.substr(0, o.listen.rfind(':'));
    m_url = "http://" + host + ":" + std::to_string(*port);
  }

  const std::string& url() const { return m_url; }
  const std::string& name() const { return m_name; }
  void set_ready(int64_t ready, std::vector<std::string> fingerprints) {
    std::lock_guard lock(m_mutex);
    m_status["ready"] = ready;
    m_status["fingerprints"] = fingerprints;
    m_status["queue"]["needed"] = ready;
  }
  void set_status_field(const std::string& key, const json& value) {
    std::lock_guard lock(m_mutex);
    m_status[key] = value;
  }
  void set_known_build(std::string id) { m_known_build = std::move(id); }
  /// Queue actions on other atoms answer 404 (by default every atom is known).
  void set_known_atoms(std::set<std::string> atoms) {
    std::lock_guard lock(m_mutex);
    m_known_atoms = std::move(atoms);
  }
  void stop() { m_server->stop(); }
  std::vector<Recorded> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  std::vector<Recorded> requests_to(const std::string& prefix) const {
    std::vector<Recorded> out;
    for (auto& r : requests())
      if (r.target.rfind(prefix, 0) == 0) out.push_back(r);
    return out;
  }
  size_t stream_count() const {
    std::lock_guard lock(m_mutex);
    return m_streams.size();
  }
  /// Sends one event to every open event stream.
  void emit(const std::string& event, const json& data) {
    std::lock_guard lock(m_mutex);
    for (auto& s : m_streams) s->send_event(event, data.dump());
  }

 private:
  void record(const HttpRequest& r) {
    std::lock_guard lock(m_mutex);
    m_requests.push_back({r.method, r.target, r.headers, r.body, r.remote_ip});
  }

  std::string m_name;
  std::string m_url;
  std::string m_known_build = "41";
  std::optional<std::set<std::string>> m_known_atoms;
  std::unique_ptr<HttpServer> m_server;
  mutable std::mutex m_mutex;
  json m_status;
  std::vector<Recorded> m_requests;
  std::vector<std::shared_ptr<EventStream>> m_streams;
};

/// A stand-in drone control endpoint recording what it receives; `refuse` > 0 answers every call with
/// that status (a different machine than the one meant).
class FakeDrone {
 public:
  explicit FakeDrone(const std::string& listen = "127.0.0.1:0", int refuse = 0) {
    HttpServerOptions o;
    o.listen = listen;
    o.threads = 2;
    m_server = std::make_unique<HttpServer>(o);
    for (const char* action : {"status", "logs", "restart", "drain"}) {
      std::string a = action;
      auto handler = [this, a, refuse](const HttpRequest& r) {
        {
          std::lock_guard lock(m_mutex);
          m_requests.push_back({r.method, r.target, r.headers, r.body, r.remote_ip});
        }
        if (refuse > 0) return HttpResponse::error(refuse, "wrong target", "this is another drone");
        if (a == "logs") return HttpResponse::json({{"lines", json::array({"line 1", "line 2"})}});
        return HttpResponse::json({{"status", "ok"}, {"action", a}});
      };
      m_server->route(a == "status" || a == "logs" ? "GET" : "POST", "/api/v1/" + a, handler);
    }
    auto port = m_server->start();
    if (!port) throw std::runtime_error(port.error().message);
    m_port = *port;
  }
  uint16_t port() const { return m_port; }
  std::vector<Recorded> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  std::unique_ptr<HttpServer> m_server;
  uint16_t m_port = 0;
  mutable std::mutex m_mutex;
  std::vector<Recorded> m_requests;
};

/// The gateway under test, on 127.0.0.1:0 with a FakeClock and its own data directory.
class GatewayFixture : public ::testing::Test {
 protected:
  /// Starts the gateway with the options as set by the test (orchestrators, auto-approve, ...).
  void start_gateway() {
    options.listen = "127.0.0.1:0";
    options.data_dir = (dir / "data").string();
    if (options.admin_token.empty()) options.admin_token = kAdminToken;
    options.poll_interval_s = 3600;  // tests poll explicitly with poll_orchestrators_now()
    options.poll_timeout_s = 2;
    options.call_timeout_s = 5;
    auto g = Gateway::create(options, clock);
    ASSERT_TRUE(g.ok()) << g.error().message;
    gateway = std::move(*g);
    auto port = gateway->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    base = "http://127.0.0.1:" + std::to_string(*port);
    gateway->poll_orchestrators_now();
  }
  void TearDown() override {
    if (gateway) gateway->stop();
  }

  HttpClient client(const std::string& bearer = "", const std::string& local_address = "") const {
    HttpClientOptions o;
    o.bearer_token = bearer;
    o.local_address = local_address;
    o.total_timeout = std::chrono::seconds(10);
    return HttpClient(base, o);
  }
  HttpClient admin() const { return client(kAdminToken); }

  static json registration(const std::string& name, const std::string& fp_hash = "", const std::string& report_ip = "127.0.0.1") {
    json fp = json::object();
    if (!fp_hash.empty()) fp = {{"CHOST", "x86_64-pc-linux-gnu"}, {"hash", fp_hash}};
    std::string blob_name;
    for (char c : name)
      if (std::isalnum(static_cast<unsigned char>(c))) blob_name += c;
    return {{"name", name},       {"report_ip", report_ip}, {"cores", 8},         {"ram_mb", 16000},
            {"version", "0.1.0"}, {"binary_sha256", "ab"},  {"fingerprint", fp}, {"control_port", 8070},
            {"ssh_host_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake" + blob_name + " root@" + name}};
  }
  HttpClientResponse post(const HttpClient& c, const std::string& path, const json& body) const {
    auto r = c.post_json(path, body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : HttpClientResponse{};
  }
  HttpClientResponse get(const HttpClient& c, const std::string& path) const {
    auto r = c.get(path);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : HttpClientResponse{};
  }
  json body(const HttpClientResponse& r) const {
    auto j = r.json();
    EXPECT_TRUE(j.ok()) << r.body;
    return j.ok() ? *j : json();
  }
  /// Creates a token for `name` through the admin API.
  std::string create_token(const std::string& name) {
    auto r = post(admin(), "/api/v1/tokens", {{"name", name}});
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r).value("token", "");
  }
  json node(const std::string& name) {
    for (auto& n : body(get(client(), "/api/v1/nodes")))
      if (n["name"] == name) return n;
    return json();
  }
  json heartbeat(const std::string& name, const std::string& activity = "idle") const {
    return {{"name", name}, {"activity", activity}, {"load", 0.5}, {"disk_free_mb", 1000}};
  }

  swarm::test::TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  GatewayOptions options;
  std::unique_ptr<Gateway> gateway;
  std::string base;
};

}  // namespace swarm::gateway::test
