#include "gateway/orchestrator_proxy.hpp"

#include "common/logging.hpp"

namespace swarm::gateway {

OrchestratorProxy::OrchestratorProxy(OrchestratorPool& pool, TicketIssuer& issuer, GatewayMetrics& metrics,
                                     std::chrono::milliseconds timeout)
    : m_pool(pool), m_issuer(issuer), m_metrics(metrics), m_timeout(timeout) {}

Result<OrchestratorState> OrchestratorProxy::pick(const std::string& key) const {
  if (!key.empty()) {
    auto o = m_pool.find(key);
    if (!o) return make_error(ErrorKind::not_found, "no orchestrator named '" + key + "'");
    return *o;
  }
  auto o = m_pool.first_live();
  if (!o) return make_error(ErrorKind::io, "no orchestrator is reachable");
  return *o;
}

HttpResponse pick_error(const Error& error) {
  if (error.kind == ErrorKind::not_found) return HttpResponse::error(404, "unknown_orchestrator", error.message);
  return HttpResponse::error(503, "no_orchestrator", error.message);
}

Result<HttpClientResponse> OrchestratorProxy::call(const OrchestratorState& target, const std::string& method,
                                                   const std::string& path, const std::string& body) {
  HttpClientOptions o;
  o.connect_timeout = std::min(m_timeout, std::chrono::milliseconds(5000));
  o.total_timeout = m_timeout;
  o.bearer_token = m_issuer.admin_ticket(target.name);
  HttpClient client(target.url, o);
  auto r = client.request(method, path, body);
  m_metrics.count_proxied("orchestrator", r ? r->status : 0);
  if (!r) component_logger("gateway")->warn("{} {}{} failed: {}", method, target.url, path, r.error().message);
  return r;
}

HttpResponse OrchestratorProxy::forward(const OrchestratorState& target, const std::string& method, const std::string& path,
                                        const std::string& body) {
  auto r = call(target, method, path, body);
  if (!r) {
    int status = r.error().kind == ErrorKind::timeout ? 504 : 502;
    return HttpResponse::error(status, "orchestrator_unreachable", "orchestrator '" + target.name + "': " + r.error().message);
  }
  HttpResponse out;
  out.status = r->status;
  out.body = std::move(r->body);
  auto ct = r->headers.find("content-type");
  out.content_type = ct == r->headers.end() ? "application/json" : ct->second;
  return out;
}

}  // namespace swarm::gateway
