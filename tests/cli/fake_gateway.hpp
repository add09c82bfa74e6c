#pragma once
// FakeGateway: an HttpServer on 127.0.0.1:0 answering the gateway API with canned JSON and recording
// every call, for the CLI tests. Header-only: tests/<dir>/ builds only *_test.cpp files.

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http_server.hpp"

namespace swarm::test {

struct RecordedCall {
  std::string method;
  std::string target;  // path and query as sent
  std::string body;
  std::string bearer;
};

class FakeGateway {
 public:
  /// Starts serving; admin calls need `Bearer <admin_token>`.
  explicit FakeGateway(std::string admin_token = "admin-secret");
  ~FakeGateway();

  std::string url() const { return m_url; }
  std::vector<RecordedCall> calls() const;
  /// The last call whose target starts with `prefix`; a default value when none.
  RecordedCall last(const std::string& method, const std::string& prefix) const;
  /// Answers every later POST /api/v1/queue with this status and error message.
  void fail_submissions(int status, std::string message);
  /// Completes the calls held by GET /api/v1/slow/... (the timeout test).
  void release_held();

  nlohmann::json status;
  nlohmann::json nodes;
  nlohmann::json queue;

 private:
  void record(const HttpRequest& r);
  bool admin(const HttpRequest& r) const;

  std::string m_admin_token;
  HttpServer m_server;
  std::string m_url;
  mutable std::mutex m_mutex;
  std::vector<RecordedCall> m_calls;
  std::vector<Responder> m_held;
  int m_fail_status = 0;
  std::string m_fail_message;
};

/// The canned /api/v1/status answer the tests assert on.
nlohmann::json canned_status();
/// Five drones: alpha-builder, beta-builder, Gamma (hostname gamma.lan), build1, build10.
nlohmann::json canned_nodes();
/// Four requests in three states.
nlohmann::json canned_queue();

// ---- definitions (header-only: tests/<dir>/ globs only *_test.cpp) ----

using nlohmann::json;

using nlohmann::json;

inline json canned_status() {
  return json::parse(R"({
    "drones": {"idle": 2, "building": 1, "uploading": 0, "draining": 0, "grounded": 0, "offline": 1, "pending": 1},
    "cores": 12,
    "queue": {"needed": 62, "leased": 1, "received": 0, "published": 61, "quarantined": 2, "blocked": 0,
              "cancelled": 0, "withdrawn": 0},
    "ready": 5,
    "unrouted": [{"name": "beta-builder", "message": "fingerprint differs: CFLAGS", "fingerprint_diff": {}}],
    "orchestrators": [{"name": "amd64", "url": "http://10.0.0.2:8080", "up": true, "drones": 3, "error": ""}],
    "runs": [
      {"run": 2, "paused": false, "complete": false, "total": 126,
       "queue": {"needed": 62, "leased": 1, "received": 0, "published": 61, "quarantined": 2, "blocked": 0,
                 "cancelled": 0, "withdrawn": 0}},
      {"run": 1, "paused": false, "complete": true, "total": 4,
       "queue": {"needed": 0, "leased": 0, "received": 0, "published": 4, "quarantined": 0, "blocked": 0,
                 "cancelled": 0, "withdrawn": 0}}
    ]})");
}

inline json canned_nodes() {
  // last_seen in Unix ms: the tests' FakeClock starts at 1'790'000'000'000.
  return json::parse(R"([
    {"name": "alpha-builder", "approval": "approved", "activity": "building", "report_ip": "10.0.0.5",
     "source_ip": "10.0.0.5", "cores": 4, "version": "0.1.0", "binary_sha256": "aa", "atom": "dev-libs/foo-1.2",
     "last_seen": 1789999970000, "fingerprint_ok": true, "fingerprint_diff": {}},
    {"name": "beta-builder", "approval": "approved", "activity": "idle", "report_ip": "10.0.0.6",
     "source_ip": "192.168.1.6", "cores": 4, "version": "0.1.0", "binary_sha256": "aa", "atom": null,
     "last_seen": 1789999995000, "fingerprint_ok": false,
     "fingerprint_diff": {"CFLAGS": {"drone": "-O3", "reference": "-O2"}}},
    {"name": "Gamma", "hostname": "gamma.lan", "approval": "pending", "activity": "idle", "report_ip": "10.0.0.17",
     "source_ip": "10.0.0.17", "cores": 2, "version": "0.1.0", "binary_sha256": "aa", "atom": null,
     "last_seen": 1789999000000, "fingerprint_ok": true, "fingerprint_diff": {}},
    {"name": "build1", "approval": "approved", "activity": "idle", "report_ip": "10.0.1.1", "source_ip": "10.0.1.1",
     "cores": 1, "version": "0.1.0", "binary_sha256": "aa", "atom": null, "last_seen": 1789999999000,
     "fingerprint_ok": true, "fingerprint_diff": {}},
    {"name": "build10", "approval": "approved", "activity": "idle", "report_ip": "10.0.1.10",
     "source_ip": "10.0.1.10", "cores": 1, "version": "0.1.0", "binary_sha256": "aa", "atom": null,
     "last_seen": 1789999999000, "fingerprint_ok": true, "fingerprint_diff": {}}
  ])");
}

inline json canned_queue() {
  return json::parse(R"([
    {"orchestrator": "amd64", "atom": "dev-libs/foo-1.2", "state": "leased", "attempts": 1, "drone": "alpha-builder"},
    {"orchestrator": "amd64", "atom": "dev-libs/bar-2.0", "state": "needed", "attempts": 0, "reason": "waiting on dev-libs/foo-1.2"},
    {"orchestrator": "amd64", "atom": "sys-libs/zlib-1.3-r2", "state": "published", "attempts": 1, "drone": "beta-builder"},
    {"orchestrator": "amd64", "atom": "media-libs/tiff-4.6.0", "state": "needed", "attempts": 2, "reason": "backoff until 12:03"}
  ])");
}

namespace detail {
inline HttpServerOptions server_options() {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  return o;
}
}  // namespace detail

inline FakeGateway::FakeGateway(std::string admin_token)
    : status(canned_status()),
      nodes(canned_nodes()),
      queue(canned_queue()),
      m_admin_token(std::move(admin_token)),
      m_server(detail::server_options()) {
  auto unauthorized = [] { return HttpResponse::error(401, "unauthorized", "admin token required"); };
  m_server.route("GET", "/api/v1/status", [this](const HttpRequest& r) {
    record(r);
    return HttpResponse::json(status);
  });
  m_server.route("GET", "/api/v1/nodes", [this](const HttpRequest& r) {
    record(r);
    return HttpResponse::json(nodes);
  });
  m_server.route("GET", "/api/v1/queue", [this](const HttpRequest& r) {
    record(r);
    std::string state = r.query_or("state", "");
    json out = json::array();
    for (const auto& item : queue)
      if (state.empty() || item["state"] == state) out.push_back(item);
    return HttpResponse::json(out);
  });
  m_server.route("GET", "/api/v1/drones/{name}", [this](const HttpRequest& r) {
    record(r);
    for (const auto& n : nodes)
      if (n["name"] == r.params.at("name")) {
        json d = n;
        d["lease"] = {{"lease_id", "L-1"}, {"atom", "dev-libs/foo-1.2"}};
        d["builds"] = json::array({{{"id", 9}, {"atom", "dev-libs/baz-1"}, {"result", "built"}}});
        return HttpResponse::json(d);
      }
    return HttpResponse::error(404, "not_found", "no drone named " + r.params.at("name"));
  });
  m_server.route("GET", "/api/v1/drones/{name}/logs", [this, unauthorized](const HttpRequest& r) {
    record(r);
    if (!admin(r)) return unauthorized();
    json lines = json::array();
    int n = std::stoi(r.query_or("lines", "100"));
    for (int i = 1; i <= std::min(n, 3); ++i) lines.push_back(r.params.at("name") + " line " + std::to_string(i));
    return HttpResponse::json({{"lines", lines}});
  });
  m_server.route("POST", "/api/v1/drones/{name}/{action}", [this, unauthorized](const HttpRequest& r) {
    record(r);
    if (!admin(r)) return unauthorized();
    for (const auto& n : nodes)
      if (n["name"] == r.params.at("name")) return HttpResponse::json({{"status", "ok"}});
    return HttpResponse::error(404, "not_found", "no drone named " + r.params.at("name"));
  });
  m_server.route("POST", "/api/v1/queue", [this, unauthorized](const HttpRequest& r) {
    record(r);
    if (!admin(r)) return unauthorized();
    {
      std::lock_guard lock(m_mutex);
      if (m_fail_status) return HttpResponse::error(m_fail_status, "invalid", m_fail_message);
    }
    auto body = r.json();
    if (!body) return HttpResponse::from_error(body.error());
    int64_t n = static_cast<int64_t>((*body)["packages"].size());
    return HttpResponse::json(
        {{"run", 7},
         {"added", n - 1},
         {"skipped", 1},
         {"rejected", json::array()},
         {"cycles_broken", json::array({{{"from", "media-libs/freetype-2.13"}, {"to", "media-libs/harfbuzz-8.0"}}})}});
  });
  m_server.route("POST", "/api/v1/queue/{action}", [this, unauthorized](const HttpRequest& r) {
    record(r);
    if (!admin(r)) return unauthorized();
    // dev-libs/foo-1.0 is the atom no orchestrator has a request for.
    if (auto body = r.json(); body && body->value("atom", "") == "dev-libs/foo-1.0")
      return HttpResponse::error(404, "not_found", "no request for dev-libs/foo-1.0");
    return HttpResponse::json({{"status", "ok"}, {"changed", 3}});
  });
  m_server.route("POST", "/api/v1/tokens", [this, unauthorized](const HttpRequest& r) {
    record(r);
    if (!admin(r)) return unauthorized();
    return HttpResponse::json({{"token", "tok-123"}});
  });
  m_server.route_async("GET", "/api/v1/slow/{rest...}", [this](const HttpRequest& r, Responder respond) {
    record(r);
    std::lock_guard lock(m_mutex);
    m_held.push_back(std::move(respond));
  });
  auto port = m_server.start();
  if (!port) throw std::runtime_error("fake gateway: " + port.error().message);
  m_url = "http://127.0.0.1:" + std::to_string(*port);
}

inline FakeGateway::~FakeGateway() {
  release_held();
  m_server.stop();
}

inline void FakeGateway::record(const HttpRequest& r) {
  std::lock_guard lock(m_mutex);
  m_calls.push_back({r.method, r.target, r.body, r.bearer_token()});
}

inline bool FakeGateway::admin(const HttpRequest& r) const { return r.bearer_token() == m_admin_token; }

inline std::vector<RecordedCall> FakeGateway::calls() const {
  std::lock_guard lock(m_mutex);
  return m_calls;
}

inline RecordedCall FakeGateway::last(const std::string& method, const std::string& prefix) const {
  std::lock_guard lock(m_mutex);
  RecordedCall found;
  for (const auto& call : m_calls)
    if (call.method == method && call.target.rfind(prefix, 0) == 0) found = call;
  return found;
}

inline void FakeGateway::fail_submissions(int status_code, std::string message) {
  std::lock_guard lock(m_mutex);
  m_fail_status = status_code;
  m_fail_message = std::move(message);
}

inline void FakeGateway::release_held() {
  std::vector<Responder> held;
  {
    std::lock_guard lock(m_mutex);
    held.swap(m_held);
  }
  for (auto& respond : held) respond(HttpResponse::json({{"late", true}}));
}

}  // namespace swarm::test
