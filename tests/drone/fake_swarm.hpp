#pragma once
// A small fake gateway and fake orchestrator, made with the common HttpServer, speaking the drone's
// side of the contract: register/heartbeat/pubkey, work long-poll, renew/release, complete. The
// orchestrator checks an uploaded binary's SHA-256 in the staging directory as the real one does.

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/crypto.hpp"
#include "common/http_server.hpp"
#include "common/messages.hpp"
#include "common/ticket.hpp"

namespace swarm::test {

class FakeGateway {
 public:
  explicit FakeGateway(std::string token) : m_token(std::move(token)), m_server(HttpServerOptions{}) {
    m_key = *Ed25519Key::generate();
    m_server.route("GET", "/api/v1/pubkey", [this](const HttpRequest&) {
      return HttpResponse::text(m_key.public_pem(), 200, "application/x-pem-file");
    });
    m_server.route("POST", "/api/v1/register", [this](const HttpRequest& req) { return answer(req, true); });
    m_server.route("POST", "/api/v1/heartbeat", [this](const HttpRequest& req) { return answer(req, false); });
  }
  ~FakeGateway() { m_server.stop(); }

  bool start() { return m_server.start().ok(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_server.port()); }
  const Ed25519Key& key() const { return m_key; }

  void set_orchestrator(const std::string& url) {
    std::lock_guard lock(m_mutex);
    m_orchestrator = url;
  }
  void set_approval(const std::string& approval) {
    std::lock_guard lock(m_mutex);
    m_approval = approval;
  }
  std::string ticket() const {
    std::lock_guard lock(m_mutex);
    return m_ticket;
  }
  int registrations() const {
    std::lock_guard lock(m_mutex);
    return static_cast<int>(m_registrations.size());
  }
  int heartbeats() const {
    std::lock_guard lock(m_mutex);
    return static_cast<int>(m_heartbeats.size());
  }
  std::optional<RegisterRequest> last_registration() const {
    std::lock_guard lock(m_mutex);
    if (m_registrations.empty()) return std::nullopt;
    return m_registrations.back();
  }
  std::vector<HeartbeatRequest> heartbeat_log() const {
    std::lock_guard lock(m_mutex);
    return m_heartbeats;
  }

  /// A control-call ticket as the gateway signs it.
  std::string control_ticket(const std::string& target, const std::string& action, const std::string& nonce,
                             int64_t now_unix, int64_t ttl_s = 60) const {
    TicketClaims c;
    c.subject = target;
    c.audience = "drone-control";
    c.issued_unix = now_unix;
    c.expires_unix = now_unix + ttl_s;
    c.extra = {{"action", action}, {"nonce", nonce}};
    return sign_ticket(m_key, c);
  }

 private:
  HttpResponse answer(const HttpRequest& req, bool is_register) {
    if (req.bearer_token() != m_token) return HttpResponse::error(401, "unauthorized", "bad drone token");
    auto body = req.json();
    if (!body) return HttpResponse::error(400, "invalid", body.error().message);
    std::lock_guard lock(m_mutex);
    if (is_register) {
      auto r = RegisterRequest::from_json(*body);
      if (!r) return HttpResponse::error(400, "invalid", r.error().message);
      m_registrations.push_back(*r);
    } else {
      auto h = HeartbeatRequest::from_json(*body);
      if (!h) return HttpResponse::error(400, "invalid", h.error().message);
      m_heartbeats.push_back(*h);
    }
    RegisterResponse out;
    out.approval = m_approval;
    out.orchestrator = m_approval == "approved" ? m_orchestrator : "";
    out.ticket = m_approval == "approved" ? m_ticket : "";
    out.heartbeat_interval_s = 1;
    return HttpResponse::json(out.to_json());
  }

  std::string m_token;
  Ed25519Key m_key;
  HttpServer m_server;
  mutable std::mutex m_mutex;
  std::string m_approval = "approved";
  std::string m_orchestrator;
  std::string m_ticket = "ticket-" + random_token(8);
  std::vector<RegisterRequest> m_registrations;
  std::vector<HeartbeatRequest> m_heartbeats;
};

class FakeOrchestrator {
 public:
  /// Accepts only `ticket`; checks uploads under `staging_dir` (STAGING/<drone>).
  FakeOrchestrator(std::string ticket, std::filesystem::path staging_dir)
      : m_ticket(std::move(ticket)), m_staging(std::move(staging_dir)), m_server(HttpServerOptions{}) {
    m_server.route_async("POST", "/api/v1/work", [this](const HttpRequest& req, Responder respond) {
      if (req.bearer_token() != m_ticket) return respond(HttpResponse::error(401, "unauthorized", "bad ticket"));
      if (auto lease = take()) return respond(HttpResponse::json(lease->to_json()));
      // A short long-poll: long enough to be one, short enough for tests.
      m_server.post_after(std::chrono::milliseconds(150), [this, respond] {
        if (auto lease = take()) return respond(HttpResponse::json(lease->to_json()));
        respond(HttpResponse::no_content());
      });
    });
    m_server.route("POST", "/api/v1/leases/{id}/{action}", [this](const HttpRequest& req) {
      if (req.bearer_token() != m_ticket) return HttpResponse::error(401, "unauthorized", "bad ticket");
      std::lock_guard lock(m_mutex);
      const std::string& id = req.params.at("id");
      if (req.params.at("action") == "renew") {
        ++m_renewals[id];
        if (m_revoked.count(id)) return HttpResponse::error(409, "conflict", "lease revoked");
      } else if (req.params.at("action") == "release") {
        m_released.push_back(id);
      } else {
        return HttpResponse::error(404, "not_found", "no such action");
      }
      return HttpResponse::json({{"status", "ok"}});
    });
    m_server.route("POST", "/api/v1/complete", [this](const HttpRequest& req) { return complete(req); });
  }
  ~FakeOrchestrator() { m_server.stop(); }

  bool start() { return m_server.start().ok(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_server.port()); }

  void add_lease(const WorkLease& lease) {
    std::lock_guard lock(m_mutex);
    m_queue.push_back(lease);
  }
  void revoke(const std::string& lease_id) {
    std::lock_guard lock(m_mutex);
    m_revoked.insert(lease_id);
  }
  /// Answer retry_upload to the next `n` completions of built binaries.
  void ask_retry_upload(int n) {
    std::lock_guard lock(m_mutex);
    m_retry_uploads = n;
  }
  /// Answer 503 to completions while set (only to those of built binaries with `built_only`).
  void set_complete_unavailable(bool on, bool built_only = false) {
    std::lock_guard lock(m_mutex);
    m_complete_unavailable = on;
    m_unavailable_built_only = built_only;
  }
  /// Answer 202 in_progress (retry_after_s 1) to the next `n` completions of built binaries.
  void answer_in_progress(int n) {
    std::lock_guard lock(m_mutex);
    m_in_progress = n;
  }
  /// Refuse (accepted false, no retry) completions with this reason while set.
  void set_refusal(const std::string& reason) {
    std::lock_guard lock(m_mutex);
    m_refusal = reason;
  }
  /// Runs before a built completion is checked (e.g. to damage the staged file).
  void on_complete(std::function<void(const CompleteRequest&)> hook) {
    std::lock_guard lock(m_mutex);
    m_hook = std::move(hook);
  }

  std::vector<CompleteRequest> completions() const {
    std::lock_guard lock(m_mutex);
    return m_completions;
  }
  std::vector<CompleteResponse> answers() const {
    std::lock_guard lock(m_mutex);
    return m_answers;
  }
  int complete_attempts() const {
    std::lock_guard lock(m_mutex);
    return m_complete_attempts;
  }
  std::vector<std::string> released() const {
    std::lock_guard lock(m_mutex);
    return m_released;
  }
  int renewals(const std::string& lease_id) const {
    std::lock_guard lock(m_mutex);
    auto it = m_renewals.find(lease_id);
    return it == m_renewals.end() ? 0 : it->second;
  }
  size_t queued() const {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
  }
  /// Where a lease's upload lands.
  std::filesystem::path staged(const std::string& lease_id, const std::string& rel) const {
    return m_staging / (lease_id + "/") / rel;
  }

 private:
  std::optional<WorkLease> take() {
    std::lock_guard lock(m_mutex);
    if (m_queue.empty()) return std::nullopt;
    WorkLease l = m_queue.front();
    m_queue.pop_front();
    m_leases[l.lease_id] = l;
    return l;
  }

  HttpResponse complete(const HttpRequest& req) {
    if (req.bearer_token() != m_ticket) return HttpResponse::error(401, "unauthorized", "bad ticket");
    auto body = req.json();
    if (!body) return HttpResponse::error(400, "invalid", body.error().message);
    auto c = CompleteRequest::from_json(*body);
    if (!c) return HttpResponse::error(400, "invalid", c.error().message);
    std::function<void(const CompleteRequest&)> hook;
    {
      std::lock_guard lock(m_mutex);
      ++m_complete_attempts;
      if (m_complete_unavailable && (!m_unavailable_built_only || c->result == "built"))
        return HttpResponse::error(503, "unavailable", "try later");
      if (m_in_progress > 0 && c->result == "built") {
        --m_in_progress;
        CompleteResponse busy;
        busy.status = "in_progress";
        busy.retry_after_s = 1;
        return HttpResponse::json(busy.to_json(), 202);
      }
      hook = m_hook;
    }
    if (hook && c->result == "built") hook(*c);
    std::lock_guard lock(m_mutex);
    m_completions.push_back(*c);
    CompleteResponse answer;
    auto lease = m_leases.find(c->lease_id);
    if (lease == m_leases.end() || lease->second.fence != c->fence) {
      return HttpResponse::error(409, "conflict", "fence does not match");
    }
    if (c->result == "built") {
      auto sha = sha256_file_hex(staged(c->lease_id, c->path.value_or("")));
      if (m_retry_uploads > 0) {
        --m_retry_uploads;
        answer.retry_upload = true;
        answer.reason = "asked by the test";
      } else if (!m_refusal.empty()) {
        answer.reason = m_refusal;
      } else if (!sha || *sha != c->sha256.value_or("")) {
        answer.retry_upload = true;
        answer.reason = "sha256 mismatch";
      } else {
        answer.accepted = true;
      }
    } else {
      answer.reason = "failure recorded";  // as the real orchestrator answers a failure
    }
    m_answers.push_back(answer);
    return HttpResponse::json(answer.to_json());
  }

  std::string m_ticket;
  std::filesystem::path m_staging;
  HttpServer m_server;
  mutable std::mutex m_mutex;
  std::deque<WorkLease> m_queue;
  std::map<std::string, WorkLease> m_leases;
  std::set<std::string> m_revoked;
  std::map<std::string, int> m_renewals;
  std::vector<std::string> m_released;
  std::vector<CompleteRequest> m_completions;
  std::vector<CompleteResponse> m_answers;
  std::function<void(const CompleteRequest&)> m_hook;
  int m_retry_uploads = 0;
  int m_complete_attempts = 0;
  bool m_complete_unavailable = false;
  bool m_unavailable_built_only = false;
  int m_in_progress = 0;
  std::string m_refusal;
};

}  // namespace swarm::test
