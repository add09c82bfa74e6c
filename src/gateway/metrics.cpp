#include "gateway/metrics.hpp"

#include <sstream>

namespace swarm::gateway {

namespace {
void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}
}  // namespace

std::string prometheus_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void GatewayMetrics::count_registration(const std::string& outcome) {
  std::lock_guard lock(m_mutex);
  ++m_registrations[outcome];
}

void GatewayMetrics::count_heartbeat(const std::string& outcome) {
  std::lock_guard lock(m_mutex);
  ++m_heartbeats[outcome];
}

void GatewayMetrics::count_proxied(const std::string& target, int status) {
  std::lock_guard lock(m_mutex);
  ++m_proxied[{target, status}];
}

std::string GatewayMetrics::render(const MetricsSnapshot& s) const {
  std::ostringstream out;
  header(out, "swarm_gateway_drones", "gauge", "Approved drones by activity (offline: no heartbeat within offline_after).");
  for (const char* a : {"idle", "building", "uploading", "draining", "grounded", "offline"}) {
    auto it = s.drones_by_activity.find(a);
    out << "swarm_gateway_drones{activity=\"" << a << "\"} " << (it == s.drones_by_activity.end() ? 0 : it->second) << '\n';
  }
  header(out, "swarm_gateway_drones_by_approval", "gauge", "Known drones by approval.");
  for (const char* a : {"approved", "pending", "revoked"}) {
    auto it = s.drones_by_approval.find(a);
    out << "swarm_gateway_drones_by_approval{approval=\"" << a << "\"} "
        << (it == s.drones_by_approval.end() ? 0 : it->second) << '\n';
  }
  std::lock_guard lock(m_mutex);
  header(out, "swarm_gateway_registrations_total", "counter", "Drone registrations by outcome.");
  for (const char* o : {"approved", "pending", "refused", "invalid"}) {
    auto it = m_registrations.find(o);
    out << "swarm_gateway_registrations_total{outcome=\"" << o << "\"} " << (it == m_registrations.end() ? 0 : it->second) << '\n';
  }
  header(out, "swarm_gateway_heartbeats_total", "counter", "Drone heartbeats by outcome.");
  for (const char* o : {"approved", "pending", "refused", "invalid"}) {
    auto it = m_heartbeats.find(o);
    out << "swarm_gateway_heartbeats_total{outcome=\"" << o << "\"} " << (it == m_heartbeats.end() ? 0 : it->second) << '\n';
  }
  header(out, "swarm_gateway_tickets_issued_total", "counter", "Tickets signed by kind.");
  out << "swarm_gateway_tickets_issued_total{kind=\"drone\"} " << s.tickets_drone << '\n';
  out << "swarm_gateway_tickets_issued_total{kind=\"admin\"} " << s.tickets_admin << '\n';
  out << "swarm_gateway_tickets_issued_total{kind=\"control\"} " << s.tickets_control << '\n';
  header(out, "swarm_gateway_proxied_calls_total", "counter",
         "Calls sent to orchestrators and drones by target and HTTP status (0: no answer).");
  for (const auto& [key, n] : m_proxied)
    out << "swarm_gateway_proxied_calls_total{target=\"" << prometheus_label(key.first) << "\",status=\"" << key.second
        << "\"} " << n << '\n';
  header(out, "swarm_gateway_orchestrator_up", "gauge", "1 when the orchestrator answered its last status poll.");
  for (const auto& o : s.orchestrators)
    out << "swarm_gateway_orchestrator_up{orchestrator=\"" << prometheus_label(o.name) << "\",url=\""
        << prometheus_label(o.url) << "\"} " << (o.up ? 1 : 0) << '\n';
  header(out, "swarm_gateway_event_subscribers", "gauge", "Open /api/v1/events streams.");
  out << "swarm_gateway_event_subscribers " << s.event_subscribers << '\n';
  return out.str();
}

}  // namespace swarm::gateway
