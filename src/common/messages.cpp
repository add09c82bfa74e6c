#include "common/messages.hpp"

#include "common/json_fields.hpp"

namespace swarm {

using nlohmann::json;

namespace {
template <typename T>
Result<T> finish(JsonReader& r, T value) {
  r.no_unknown();
  if (auto st = r.status(); !st) return st.error();
  return value;
}
void put(json& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = *v;
}
void put(json& j, const char* key, const std::optional<int64_t>& v) {
  if (v) j[key] = *v;
}
}  // namespace

json RegisterRequest::to_json() const {
  return {{"name", name}, {"report_ip", report_ip}, {"cores", cores}, {"ram_mb", ram_mb}, {"version", version},
          {"binary_sha256", binary_sha256}, {"fingerprint", fingerprint}, {"control_port", control_port},
          {"ssh_host_key", ssh_host_key}};
}
Result<RegisterRequest> RegisterRequest::from_json(const json& j) {
  RegisterRequest m;
  JsonReader r(j, "register request");
  r.req("name", m.name);
  r.opt("report_ip", m.report_ip);
  r.opt("cores", m.cores);
  r.opt("ram_mb", m.ram_mb);
  r.opt("version", m.version);
  r.opt("binary_sha256", m.binary_sha256);
  r.opt("fingerprint", m.fingerprint);
  r.opt("control_port", m.control_port);
  r.opt("ssh_host_key", m.ssh_host_key);
  if (!m.fingerprint.is_object()) return make_error(ErrorKind::invalid, "register request: field 'fingerprint' must be an object");
  return finish(r, std::move(m));
}

json RegisterResponse::to_json() const {
  json j = {{"approval", approval}, {"orchestrator", orchestrator}, {"ticket", ticket},
            {"heartbeat_interval_s", heartbeat_interval_s}};
  if (!message.empty()) j["message"] = message;
  return j;
}
Result<RegisterResponse> RegisterResponse::from_json(const json& j) {
  RegisterResponse m;
  JsonReader r(j, "register answer");
  r.req("approval", m.approval);
  r.opt("orchestrator", m.orchestrator);
  r.opt("ticket", m.ticket);
  r.opt("heartbeat_interval_s", m.heartbeat_interval_s);
  r.opt("message", m.message);
  if (auto st = r.status(); !st) return st.error();
  return m;  // answers may grow: unknown fields tolerated
}

json HeartbeatRequest::to_json() const {
  json j = {{"name", name}, {"activity", activity}, {"load", load}, {"disk_free_mb", disk_free_mb}};
  put(j, "lease_id", lease_id);
  put(j, "atom", atom);
  return j;
}
Result<HeartbeatRequest> HeartbeatRequest::from_json(const json& j) {
  HeartbeatRequest m;
  JsonReader r(j, "heartbeat");
  r.req("name", m.name);
  r.req("activity", m.activity);
  r.opt("lease_id", m.lease_id);
  r.opt("atom", m.atom);
  r.opt("load", m.load);
  r.opt("disk_free_mb", m.disk_free_mb);
  return finish(r, std::move(m));
}

json UploadTarget::to_json() const { return {{"host", host}, {"user", user}, {"port", port}, {"path", path}}; }
Result<UploadTarget> UploadTarget::from_json(const json& j) {
  UploadTarget m;
  JsonReader r(j, "upload target");
  r.req("host", m.host);
  r.req("user", m.user);
  r.opt("port", m.port);
  r.req("path", m.path);
  if (auto st = r.status(); !st) return st.error();
  return m;
}

json WorkLease::to_json() const {
  return {{"lease_id", lease_id}, {"fence", fence}, {"atom", atom}, {"attempt", attempt},
          {"lease_ttl_s", lease_ttl_s}, {"timeout_s", timeout_s}, {"repo_revision", repo_revision},
          {"orchestrator", orchestrator}, {"upload", upload.to_json()}};
}
Result<WorkLease> WorkLease::from_json(const json& j) {
  WorkLease m;
  JsonReader r(j, "lease");
  r.req("lease_id", m.lease_id);
  r.req("fence", m.fence);
  r.req("atom", m.atom);
  r.opt("attempt", m.attempt);
  r.opt("lease_ttl_s", m.lease_ttl_s);
  r.opt("timeout_s", m.timeout_s);
  r.opt("repo_revision", m.repo_revision);
  r.opt("orchestrator", m.orchestrator);
  json up;
  r.opt("upload", up);
  if (auto st = r.status(); !st) return st.error();
  if (up.is_null()) return make_error(ErrorKind::invalid, "lease: missing field 'upload'");
  auto u = UploadTarget::from_json(up);
  if (!u) return u.error();
  m.upload = *u;
  return m;
}

json FenceRequest::to_json() const { return {{"fence", fence}}; }
Result<FenceRequest> FenceRequest::from_json(const json& j) {
  FenceRequest m;
  JsonReader r(j, "lease request");
  r.req("fence", m.fence);
  return finish(r, std::move(m));
}

json CompleteRequest::to_json() const {
  json j = {{"lease_id", lease_id}, {"fence", fence}, {"result", result}, {"duration_s", duration_s},
            {"max_rss_mb", max_rss_mb}, {"exit_code", exit_code}, {"log_tail", log_tail}};
  put(j, "path", path);
  put(j, "sha256", sha256);
  put(j, "size", size);
  put(j, "failure_class", failure_class);
  put(j, "log_path", log_path);
  return j;
}
Result<CompleteRequest> CompleteRequest::from_json(const json& j) {
  CompleteRequest m;
  JsonReader r(j, "complete request");
  r.req("lease_id", m.lease_id);
  r.req("fence", m.fence);
  r.req("result", m.result);
  r.opt("path", m.path);
  r.opt("sha256", m.sha256);
  r.opt("size", m.size);
  r.opt("duration_s", m.duration_s);
  r.opt("max_rss_mb", m.max_rss_mb);
  r.opt("exit_code", m.exit_code);
  r.opt("failure_class", m.failure_class);
  r.opt("log_tail", m.log_tail);
  r.opt("log_path", m.log_path);
  auto out = finish(r, std::move(m));
  if (!out) return out;
  if (out->result != "built" && out->result != "failed")
    return make_error(ErrorKind::invalid, "complete request: 'result' must be \"built\" or \"failed\"");
  if (out->result == "built" && (!out->path || !out->sha256 || !out->size))
    return make_error(ErrorKind::invalid, "complete request: a built result needs 'path', 'sha256' and 'size'");
  return out;
}

json CompleteResponse::to_json() const {
  json j = {{"status", status}, {"accepted", accepted}};
  if (retry_upload) j["retry_upload"] = true;
  if (!reason.empty()) j["reason"] = reason;
  if (retry_after_s > 0) j["retry_after_s"] = retry_after_s;
  return j;
}
Result<CompleteResponse> CompleteResponse::from_json(const json& j) {
  CompleteResponse m;
  JsonReader r(j, "complete answer");
  r.opt("status", m.status);
  r.req("accepted", m.accepted);
  r.opt("retry_upload", m.retry_upload);
  r.opt("reason", m.reason);
  r.opt("retry_after_s", m.retry_after_s);
  if (auto st = r.status(); !st) return st.error();
  return m;
}

json PackageSpec::to_json() const {
  json j = {{"atom", atom}, {"priority", priority}, {"deps", deps}, {"rebuild", rebuild}};
  put(j, "duration_s", duration_s);
  return j;
}
Result<PackageSpec> PackageSpec::from_json(const json& j) {
  PackageSpec m;
  JsonReader r(j, "package");
  r.req("atom", m.atom);
  r.opt("priority", m.priority);
  r.opt("deps", m.deps);
  r.opt("duration_s", m.duration_s);
  r.opt("rebuild", m.rebuild);
  return finish(r, std::move(m));
}

json QueueSubmit::to_json() const {
  json pk = json::array();
  for (const auto& p : packages) pk.push_back(p.to_json());
  json j = {{"packages", pk}, {"fingerprint", fingerprint}, {"repo_revision", repo_revision}};
  put(j, "orchestrator", orchestrator);
  return j;
}
Result<QueueSubmit> QueueSubmit::from_json(const json& j) {
  QueueSubmit m;
  JsonReader r(j, "queue submission");
  r.opt("orchestrator", m.orchestrator);
  json packages;
  std::vector<std::string> atoms;
  r.opt("packages", packages);
  r.opt("atoms", atoms);
  r.opt("fingerprint", m.fingerprint);
  r.opt("repo_revision", m.repo_revision);
  r.no_unknown();
  if (auto st = r.status(); !st) return st.error();
  if (!packages.is_null()) {
    if (!packages.is_array()) return make_error(ErrorKind::invalid, "queue submission: 'packages' must be an array");
    for (size_t i = 0; i < packages.size(); ++i) {
      auto p = PackageSpec::from_json(packages[i]);
      if (!p) return make_error(ErrorKind::invalid, "packages[" + std::to_string(i) + "]: " + p.error().message);
      m.packages.push_back(std::move(*p));
    }
  }
  for (auto& a : atoms) m.packages.push_back(PackageSpec{a, 0, {}, std::nullopt, false});
  if (m.packages.empty()) return make_error(ErrorKind::invalid, "queue submission: no 'packages' or 'atoms' given");
  if (!m.fingerprint.is_object()) return make_error(ErrorKind::invalid, "queue submission: 'fingerprint' must be an object");
  return m;
}

json QueueSubmitResponse::to_json() const {
  return {{"run", run}, {"added", added}, {"skipped", skipped}, {"rejected", rejected}, {"cycles_broken", cycles_broken}};
}
Result<QueueSubmitResponse> QueueSubmitResponse::from_json(const json& j) {
  QueueSubmitResponse m;
  JsonReader r(j, "queue answer");
  r.req("run", m.run);
  r.opt("added", m.added);
  r.opt("skipped", m.skipped);
  r.opt("rejected", m.rejected);
  r.opt("cycles_broken", m.cycles_broken);
  if (auto st = r.status(); !st) return st.error();
  return m;
}

json QueueAction::to_json() const {
  json j = json::object();
  put(j, "atom", atom);
  put(j, "run", run);
  put(j, "orchestrator", orchestrator);
  return j;
}
Result<QueueAction> QueueAction::from_json(const json& j) {
  QueueAction m;
  JsonReader r(j, "queue action");
  r.opt("atom", m.atom);
  r.opt("run", m.run);
  r.opt("orchestrator", m.orchestrator);
  return finish(r, std::move(m));
}

}  // namespace swarm
