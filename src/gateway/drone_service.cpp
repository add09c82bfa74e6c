#include "gateway/drone_service.hpp"

#include <sstream>

#include "common/crypto.hpp"
#include "common/logging.hpp"
#include "gateway/gateway_options.hpp"

namespace swarm::gateway {

using nlohmann::json;

namespace {

bool is_hash_text(const std::string& s) {
  return s.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == std::string::npos;
}

bool valid_address(const std::string& s) {
  return s.size() <= 255 &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") == std::string::npos;
}

std::string fingerprint_hash_of(const json& fingerprint) {
  auto it = fingerprint.find("hash");
  return it != fingerprint.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool busy_activity(const std::string& activity) { return activity == "building" || activity == "uploading"; }

// IPv4 clients of a dual-stack socket show up as ::ffff:a.b.c.d; record the plain address.
std::string plain_ip(const std::string& ip) {
  const std::string prefix = "::ffff:";
  if (ip.rfind(prefix, 0) == 0 && ip.find('.') != std::string::npos) return ip.substr(prefix.size());
  return ip;
}

}  // namespace

std::string normalize_host_key(const std::string& key) {
  // One line only: a newline would let a drone add entries of its choice to known_hosts.
  for (unsigned char c : key)
    if (c < 0x20 && c != '\t') return {};
  std::istringstream in(key);
  std::string type, blob;
  in >> type >> blob;
  if (type.empty() || blob.empty() || type.size() > 64 || blob.size() > 8192) return {};
  if (type.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789@.-") != std::string::npos) return {};
  if (blob.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != std::string::npos)
    return {};
  return type + " " + blob;
}

Status validate_registration(const RegisterRequest& r) {
  if (!valid_drone_name(r.name))
    return make_error(ErrorKind::invalid, "bad drone name '" + r.name + "': 1-64 of A-Z a-z 0-9 . _ -, not starting with . or -");
  if (!valid_address(r.report_ip)) return make_error(ErrorKind::invalid, "bad report_ip '" + r.report_ip + "'");
  if (r.control_port < 0 || r.control_port > 65535) return make_error(ErrorKind::invalid, "control_port out of range");
  if (r.cores < 0 || r.ram_mb < 0) return make_error(ErrorKind::invalid, "cores and ram_mb must not be negative");
  if (auto it = r.fingerprint.find("hash"); it != r.fingerprint.end()) {
    if (!it->is_string() || it->get<std::string>().size() > 128 || !is_hash_text(it->get<std::string>()))
      return make_error(ErrorKind::invalid, "fingerprint 'hash' must be a string of letters and digits (hex)");
  }
  if (!r.ssh_host_key.empty() && normalize_host_key(r.ssh_host_key).empty())
    return make_error(ErrorKind::invalid, "ssh_host_key is not `TYPE BASE64 [comment]`");
  if (r.version.size() > 128 || r.binary_sha256.size() > 128) return make_error(ErrorKind::invalid, "version or binary_sha256 too long");
  return {};
}

DroneService::DroneService(Registry& registry, OrchestratorPool& pool, TicketIssuer& issuer, GatewayMetrics& metrics,
                           std::shared_ptr<Clock> clock, DroneServiceOptions options, EventSink events)
    : m_registry(registry),
      m_pool(pool),
      m_issuer(issuer),
      m_metrics(metrics),
      m_clock(std::move(clock)),
      m_options(options),
      m_events(std::move(events)) {
  for (const auto& d : m_registry.drones())
    if (d.approval == "approved" && effective_activity(d) == "offline") m_offline.insert(d.name);
}

std::string DroneService::effective_activity(const DroneRecord& d) const {
  if (m_clock->now_unix_ms() - d.last_seen_ms > m_options.offline_after_ms) return "offline";
  return d.activity;
}

std::map<std::string, int64_t> DroneService::assigned_counts() {
  return m_registry.assigned_counts(m_clock->now_unix_ms() - m_options.offline_after_ms);
}

RouteDecision DroneService::route(const DroneRecord& d, bool busy) {
  return choose_orchestrator(m_pool.snapshot(), d.fingerprint_hash, d.fingerprint, d.orchestrator, busy, assigned_counts());
}

DroneAnswer DroneService::pending_answer(const std::string& name) const {
  DroneAnswer a;
  a.response.approval = "pending";
  a.response.heartbeat_interval_s = m_options.heartbeat_interval_s;
  a.response.message = "waiting for approval: build-swarm drone approve " + name;
  return a;
}

DroneAnswer DroneService::approved_answer(const DroneRecord& d, const RouteDecision& r) {
  DroneAnswer a;
  a.response.approval = "approved";
  a.response.orchestrator = r.url;
  a.response.heartbeat_interval_s = m_options.heartbeat_interval_s;
  a.response.message = r.message;
  if (!r.url.empty()) a.response.ticket = m_issuer.drone_ticket(d.name, r.name, r.url, d.fingerprint_hash);
  return a;
}

DroneAnswer DroneService::refuse(const std::string& what, const std::string& name, const std::string& source_ip,
                                 Verdict verdict, const std::string& reason) {
  auto log = component_logger("gateway");
  log->warn("{} of '{}' from {} refused: {}", what, name, source_ip, reason);
  const char* kind = verdict == Verdict::hijack ? "drone_name_conflict" : "drone_refused";
  m_events(kind, name, {{"source_ip", source_ip}, {"reason", reason}, {"call", what}});
  DroneAnswer a;
  a.status = 403;
  a.error_code = verdict == Verdict::hijack ? "name_in_use" : "revoked";
  a.message = reason;
  return a;
}

void DroneService::note_online(const std::string& name) {
  if (m_offline.erase(name) > 0) m_events("drone_online", name, json::object());
}

DroneAnswer DroneService::register_drone(const RegisterRequest& req, const std::string& token, const std::string& source) {
  std::string source_ip = plain_ip(source);
  if (auto st = validate_registration(req); !st) {
    m_metrics.count_registration("invalid");
    return DroneAnswer{400, "invalid", st.error().message, {}};
  }
  std::string presented = sha256_hex(token);
  int64_t now = m_clock->now_unix_ms();
  std::lock_guard lock(m_mutex);
  auto existing = m_registry.drone(req.name);
  auto admission = decide_admission(existing, m_registry.token(req.name), presented, m_options.auto_approve);
  if (admission.verdict == Verdict::revoked || admission.verdict == Verdict::hijack) {
    m_metrics.count_registration("refused");
    return refuse("registration", req.name, source_ip, admission.verdict, admission.reason);
  }

  DroneRecord d = existing.value_or(DroneRecord{});
  bool was_approved = existing && existing->approval == "approved";
  bool token_changed = !existing || existing->token_hash != presented;
  d.name = req.name;
  if (!existing) d.first_seen_ms = now;
  d.report_ip = req.report_ip;
  d.source_ip = source_ip;
  d.cores = req.cores;
  d.ram_mb = req.ram_mb;
  d.version = req.version;
  d.binary_sha256 = req.binary_sha256;
  d.fingerprint = req.fingerprint;
  d.fingerprint_hash = fingerprint_hash_of(req.fingerprint);
  d.control_port = req.control_port;
  d.last_seen_ms = now;
  d.activity = "idle";
  d.atom.reset();
  d.lease_id.reset();
  std::string host_key = normalize_host_key(req.ssh_host_key);
  auto log = component_logger("gateway");
  if (was_approved && !d.ssh_host_key.empty() && !host_key.empty() && host_key != d.ssh_host_key) {
    // The pinned key stays: a changed host key is what a misrouted or impersonated machine looks like.
    log->warn("drone '{}' presented another SSH host key than the one pinned at approval; keeping the pinned key", d.name);
    m_events("ssh_host_key_mismatch", d.name, {{"source_ip", source_ip}, {"presented", host_key}});
  } else if (!host_key.empty()) {
    d.ssh_host_key = host_key;
  }

  if (admission.verdict == Verdict::pending) {
    d.approval = "pending";
    d.token_hash = presented;
    d.orchestrator.clear();
    d.route_message = "waiting for approval";
    m_registry.save_drone(d);
    m_metrics.count_registration("pending");
    if (token_changed) {
      log->info("drone '{}' from {} (reports {}) is pending approval: {}", d.name, source_ip, d.report_ip, admission.reason);
      m_events("drone_pending", d.name, {{"source_ip", source_ip}, {"report_ip", d.report_ip}, {"reason", admission.reason}});
    }
    return pending_answer(d.name);
  }

  d.approval = "approved";
  d.token_hash = presented;
  auto r = route(d, false);
  d.orchestrator = r.url;
  d.route_message = r.message;
  d.fingerprint_match = r.fingerprint_match;
  d.fingerprint_diff = r.fingerprint_diff;
  m_registry.save_drone(d);
  m_metrics.count_registration("approved");
  if (!was_approved) {
    log->info("drone '{}' approved ({})", d.name, admission.reason);
    m_events("drone_approved", d.name, {{"by", admission.reason}});
  }
  note_online(d.name);
  log->info("drone '{}' registered from {} (reports {}), sent to '{}'{}", d.name, source_ip, d.report_ip, r.url,
            r.message.empty() ? "" : ": " + r.message);
  m_events("drone_registered", d.name,
           {{"source_ip", source_ip}, {"report_ip", d.report_ip}, {"orchestrator", r.url}, {"message", r.message},
            {"version", d.version}, {"fingerprint_ok", r.fingerprint_match && r.fingerprint_diff.empty()}});
  return approved_answer(d, r);
}

DroneAnswer DroneService::heartbeat(const HeartbeatRequest& req, const std::string& token, const std::string& source) {
  std::string source_ip = plain_ip(source);
  static const std::set<std::string> kActivities = {"idle", "building", "uploading", "draining", "grounded"};
  if (!valid_drone_name(req.name) || !kActivities.count(req.activity)) {
    m_metrics.count_heartbeat("invalid");
    return DroneAnswer{400, "invalid",
                       valid_drone_name(req.name) ? "unknown activity '" + req.activity + "'" : "bad drone name", {}};
  }
  std::string presented = sha256_hex(token);
  int64_t now = m_clock->now_unix_ms();
  std::lock_guard lock(m_mutex);
  auto existing = m_registry.drone(req.name);
  auto admission = decide_admission(existing, m_registry.token(req.name), presented, m_options.auto_approve);
  if (admission.verdict == Verdict::revoked || admission.verdict == Verdict::hijack) {
    m_metrics.count_heartbeat("refused");
    return refuse("heartbeat", req.name, source_ip, admission.verdict, admission.reason);
  }
  if (!existing) {
    // A heartbeat before any registration (e.g. the gateway lost its database): keep what it tells.
    DroneRecord d;
    d.name = req.name;
    d.first_seen_ms = now;
    d.source_ip = source_ip;
    d.approval = admission.verdict == Verdict::approved ? "approved" : "pending";
    d.token_hash = presented;
    m_registry.save_drone(d);
    if (d.approval == "pending")
      m_events("drone_pending", d.name, {{"source_ip", source_ip}, {"reason", admission.reason}});
    else
      m_events("drone_approved", d.name, {{"by", admission.reason}});
    existing = d;
  }
  DroneRecord d = *existing;
  HeartbeatUpdate u;
  u.activity = req.activity;
  u.atom = req.atom;
  u.lease_id = req.lease_id;
  u.load = req.load;
  u.disk_free_mb = req.disk_free_mb;
  u.source_ip = source_ip;
  u.now_ms = now;
  if (admission.verdict == Verdict::pending) {
    u.route_message = "waiting for approval";
    u.fingerprint_diff = d.fingerprint_diff;
    m_registry.apply_heartbeat(d.name, u);
    m_metrics.count_heartbeat("pending");
    return pending_answer(d.name);
  }
  if (d.approval != "approved") {
    d.approval = "approved";
    d.token_hash = presented;
    m_registry.save_drone(d);
    m_events("drone_approved", d.name, {{"by", admission.reason}});
  }
  bool busy = req.lease_id.has_value() || busy_activity(req.activity);
  auto r = route(d, busy);
  u.orchestrator = r.url;
  u.route_message = r.message;
  u.fingerprint_match = r.fingerprint_match;
  u.fingerprint_diff = r.fingerprint_diff;
  m_registry.apply_heartbeat(d.name, u);
  m_metrics.count_heartbeat("approved");
  note_online(d.name);
  if (r.url != d.orchestrator)
    m_events("drone_moved", d.name, {{"from", d.orchestrator}, {"to", r.url}, {"message", r.message}});
  if (req.activity != d.activity || req.atom != d.atom) {
    json data = {{"activity", req.activity}, {"previous", d.activity}};
    if (req.atom) data["atom"] = *req.atom;
    m_events("drone_activity", d.name, data);
  }
  return approved_answer(d, r);
}

Status DroneService::approve(const std::string& name) {
  std::lock_guard lock(m_mutex);
  auto d = m_registry.drone(name);
  if (!d) return make_error(ErrorKind::not_found, "no drone named '" + name + "' has registered");
  if (d->approval == "approved") return {};
  m_registry.set_approval(name, "approved");
  if (auto t = m_registry.token(name); t && t->token_hash == d->token_hash) m_registry.set_token_revoked(name, false);
  component_logger("gateway")->info("drone '{}' approved by the admin", name);
  m_events("drone_approved", name, {{"by", "admin"}, {"previous", d->approval}});
  return {};
}

Status DroneService::revoke(const std::string& name) {
  std::lock_guard lock(m_mutex);
  bool drone = m_registry.set_approval(name, "revoked");
  bool token = m_registry.set_token_revoked(name, true);
  if (!drone && !token) return make_error(ErrorKind::not_found, "no drone or token named '" + name + "'");
  component_logger("gateway")->warn("drone '{}' revoked by the admin", name);
  m_events("drone_revoked", name, json::object());
  return {};
}

Result<std::string> DroneService::create_token(const std::string& name) {
  if (!valid_drone_name(name)) return make_error(ErrorKind::invalid, "bad drone name '" + name + "'");
  std::string token = random_token(32);
  std::lock_guard lock(m_mutex);
  m_registry.set_token(name, sha256_hex(token), m_clock->now_unix_ms());
  component_logger("gateway")->info("token created for drone '{}'", name);
  m_events("token_created", name, json::object());
  return token;
}

Result<int> DroneService::seed_tokens(const std::string& text) {
  auto entries = parse_tokens_text(text);
  if (!entries) return entries.error();
  std::lock_guard lock(m_mutex);
  int changed = 0;
  for (const auto& [name, token] : *entries)
    if (m_registry.seed_token(name, sha256_hex(token), m_clock->now_unix_ms())) ++changed;
  return changed;
}

void DroneService::sweep_offline() {
  std::lock_guard lock(m_mutex);
  for (const auto& d : m_registry.drones()) {
    if (d.approval != "approved" || effective_activity(d) != "offline" || m_offline.count(d.name)) continue;
    m_offline.insert(d.name);
    component_logger("gateway")->warn("drone '{}' is offline (no heartbeat for {} ms)", d.name,
                                      m_clock->now_unix_ms() - d.last_seen_ms);
    m_events("drone_offline", d.name, {{"last_seen_ms", d.last_seen_ms}});
  }
}

}  // namespace swarm::gateway
