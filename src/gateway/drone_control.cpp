#include "gateway/drone_control.hpp"

#include "common/http_client.hpp"
#include "common/logging.hpp"

namespace swarm::gateway {

DroneControl::DroneControl(TicketIssuer& issuer, GatewayMetrics& metrics, std::map<std::string, std::string> overrides,
                           std::chrono::milliseconds timeout)
    : m_issuer(issuer), m_metrics(metrics), m_overrides(std::move(overrides)), m_timeout(timeout) {}

std::vector<std::string> DroneControl::addresses(const DroneRecord& d) const {
  std::vector<std::string> out;
  if (!d.report_ip.empty()) {
    out.push_back(d.report_ip);
  } else if (!d.source_ip.empty()) {
    out.push_back(d.source_ip);
  }
  if (auto it = m_overrides.find(d.name); it != m_overrides.end() && (out.empty() || out.front() != it->second))
    out.push_back(it->second);
  return out;
}

HttpResponse DroneControl::call(const DroneRecord& d, const std::string& action, const std::string& query) {
  auto log = component_logger("gateway");
  bool is_get = action == "status" || action == "logs";
  std::string path = "/api/v1/" + action + (is_get && !query.empty() ? "?" + query : "");
  int64_t port = d.control_port > 0 ? d.control_port : kDefaultControlPort;
  std::vector<std::string> tried;
  bool refused = false;
  for (const auto& host : addresses(d)) {
    std::string h = host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
    HttpClientOptions o;
    o.connect_timeout = std::min(m_timeout, std::chrono::milliseconds(5000));
    o.total_timeout = m_timeout;
    o.bearer_token = m_issuer.control_ticket(d.name, action);
    HttpClient client("http://" + h + ":" + std::to_string(port), o);
    auto r = is_get ? client.request("GET", path) : client.request("POST", path, "{}");
    if (!r) {
      m_metrics.count_proxied("drone", 0);
      log->warn("control call {} to drone '{}' at {}:{} failed: {}", action, d.name, host, port, r.error().message);
      tried.push_back(host + ": " + r.error().message);
      continue;
    }
    m_metrics.count_proxied("drone", r->status);
    if (r->status == 401 || r->status == 403 || r->status == 404 || r->status == 409) {
      // A refusal (409: another drone's name) may come from another machine behind the address: try the override.
      log->warn("drone at {}:{} refused control call {} for '{}': HTTP {} {}", host, port, action, d.name, r->status,
                r->error_message());
      tried.push_back(host + ": HTTP " + std::to_string(r->status) + " " + r->error_message());
      refused = true;
      continue;
    }
    log->info("control call {} to drone '{}' at {}:{}: HTTP {}", action, d.name, host, port, r->status);
    HttpResponse out;
    out.status = r->status;
    out.body = r->body;
    auto ct = r->headers.find("content-type");
    out.content_type = ct == r->headers.end() ? "application/json" : ct->second;
    return out;
  }
  std::string msg = (refused ? "drone '" + d.name + "' refused the call" : "no answer from drone '" + d.name + "'");
  for (const auto& t : tried) msg += "; " + t;
  if (tried.empty()) msg += ": it has no known address";
  return HttpResponse::error(502, refused ? "drone_refused" : "drone_unreachable", msg);
}

}  // namespace swarm::gateway
