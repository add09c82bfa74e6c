#include <set>
#include <sstream>

#include "common/health.hpp"
#include "gateway/admin_auth.hpp"
#include "gateway/gateway_context.hpp"

namespace swarm::gateway {

using nlohmann::json;

namespace {
const char* const kStates[] = {"needed", "leased", "received", "published", "quarantined", "blocked", "cancelled", "withdrawn"};
const char* const kActivities[] = {"idle", "building", "uploading", "draining", "grounded", "offline"};
}  // namespace

std::optional<HttpResponse> GatewayContext::require_admin(const HttpRequest& request) const {
  if (holds_admin_token(request, admin_token)) return std::nullopt;
  return admin_required();
}

std::optional<HttpResponse> GatewayContext::require_reader(const HttpRequest& request) const {
  if (!options.private_status) return std::nullopt;
  return require_admin(request);
}

json drone_view(const GatewayContext& ctx, const DroneRecord& d) {
  std::string orchestrator_name;
  if (!d.orchestrator.empty()) {
    auto o = ctx.pool.find(d.orchestrator);
    orchestrator_name = o ? o->name : d.orchestrator;
  }
  json v = {{"name", d.name},
            {"approval", d.approval},
            {"activity", ctx.drones.effective_activity(d)},
            {"reported_activity", d.activity},
            {"report_ip", d.report_ip},
            {"source_ip", d.source_ip},
            {"cores", d.cores},
            {"ram_mb", d.ram_mb},
            {"version", d.version},
            {"binary_sha256", d.binary_sha256},
            {"atom", d.atom ? json(*d.atom) : json()},
            {"lease_id", d.lease_id ? json(*d.lease_id) : json()},
            {"load", d.load},
            {"disk_free_mb", d.disk_free_mb},
            {"last_seen", d.last_seen_ms / 1000},
            {"last_seen_ms", d.last_seen_ms},
            {"first_seen_ms", d.first_seen_ms},
            {"orchestrator", d.orchestrator},
            {"orchestrator_name", orchestrator_name},
            {"message", d.route_message},
            {"fingerprint_hash", d.fingerprint_hash},
            {"fingerprint_ok", d.fingerprint_match && d.fingerprint_diff.empty()},
            {"fingerprint_match", d.fingerprint_match},
            {"fingerprint_diff", d.fingerprint_diff},
            {"control_port", d.control_port},
            {"ssh_host_key_pinned", !d.ssh_host_key.empty() && d.approval == "approved"}};
  return v;
}

json status_view(GatewayContext& ctx) {
  json drones = json::object();
  for (const char* a : kActivities) drones[a] = 0;
  drones["pending"] = 0;
  drones["revoked"] = 0;
  int64_t cores = 0;
  json unrouted = json::array();
  std::map<std::string, int64_t> per_orchestrator;
  for (const auto& d : ctx.registry.drones()) {
    if (d.approval != "approved") {
      drones[d.approval] = drones[d.approval].get<int64_t>() + 1;
      continue;
    }
    std::string activity = ctx.drones.effective_activity(d);
    drones[activity] = drones.value(activity, int64_t{0}) + 1;
    if (activity == "offline") continue;
    cores += d.cores;
    if (d.orchestrator.empty()) {
      unrouted.push_back({{"name", d.name}, {"message", d.route_message}, {"fingerprint_diff", d.fingerprint_diff}});
    } else {
      ++per_orchestrator[d.orchestrator];
    }
  }
  json queue = json::object();
  for (const char* s : kStates) queue[s] = 0;
  json orchestrators = json::array();
  json runs = json::array();
  int64_t ready = 0;
  for (const auto& o : ctx.pool.snapshot()) {
    orchestrators.push_back({{"name", o.name},
                             {"url", o.url},
                             {"up", o.up},
                             {"ready", o.ready},
                             {"queue", o.queue},
                             {"drones", per_orchestrator[o.url]},
                             {"fingerprints", o.fingerprints},
                             {"last_poll_ms", o.last_poll_ms},
                             {"last_ok_ms", o.last_ok_ms},
                             {"error", o.error}});
    if (!o.up) continue;
    ready += o.ready;
    for (const auto& [state, n] : o.queue.items())
      if (n.is_number_integer()) queue[state] = queue.value(state, int64_t{0}) + n.get<int64_t>();
    for (auto run : o.runs) {
      if (run.is_object()) run["orchestrator"] = o.name;
      runs.push_back(std::move(run));
    }
  }
  return {{"drones", drones},   {"cores", cores},       {"queue", queue},     {"ready", ready},
          {"orchestrators", orchestrators}, {"runs", runs}, {"unrouted", unrouted},
          {"version", swarm_version()}, {"ts_ms", ctx.clock->now_unix_ms()}};
}

std::string known_hosts_text(const GatewayContext& ctx) {
  auto overrides = parse_address_overrides(ctx.options.drone_address_overrides);
  std::ostringstream out;
  for (const auto& d : ctx.registry.drones()) {
    if (d.approval != "approved" || d.ssh_host_key.empty()) continue;
    std::vector<std::string> hosts{d.name};
    if (!d.report_ip.empty()) hosts.push_back(d.report_ip);
    if (overrides) {
      if (auto it = overrides->find(d.name); it != overrides->end()) hosts.push_back(it->second);
    }
    std::set<std::string> seen;
    std::string list;
    for (const auto& h : hosts) {
      if (!seen.insert(h).second) continue;
      if (!list.empty()) list += ",";
      list += h;
    }
    out << list << ' ' << d.ssh_host_key << '\n';
  }
  return out.str();
}

}  // namespace swarm::gateway
