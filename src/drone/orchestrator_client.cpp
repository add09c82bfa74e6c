#include "drone/orchestrator_client.hpp"

#include "common/http_client.hpp"
#include "common/http_types.hpp"

namespace swarm::drone {

Error http_failure(const std::string& call, int status, const std::string& server_message) {
  ErrorKind kind = ErrorKind::protocol;
  if (status == 401 || status == 403) kind = ErrorKind::unauthorized;
  else if (status == 404) kind = ErrorKind::not_found;
  else if (status == 409) kind = ErrorKind::conflict;
  else if (status >= 400 && status < 500) kind = ErrorKind::invalid;
  return make_error(kind, call + ": HTTP " + std::to_string(status) + ": " + server_message);
}

OrchestratorClient::OrchestratorClient(std::string base_url, std::string ticket, std::chrono::milliseconds call_timeout,
                                       std::chrono::milliseconds poll_timeout)
    : m_base_url(std::move(base_url)), m_ticket(std::move(ticket)), m_call_timeout(call_timeout),
      m_poll_timeout(poll_timeout) {}

namespace {
HttpClient make_client(const std::string& url, const std::string& ticket, std::chrono::milliseconds timeout) {
  HttpClientOptions options;
  options.bearer_token = ticket;
  options.total_timeout = timeout;
  options.connect_timeout = std::min(timeout, std::chrono::milliseconds(5'000));
  return HttpClient(url, options);
}
}  // namespace

Result<std::optional<WorkLease>> OrchestratorClient::poll_work() const {
  auto client = make_client(m_base_url, m_ticket, m_poll_timeout);
  auto r = client.post_json("/api/v1/work", nlohmann::json::object(), m_poll_timeout);
  if (!r) return r.error();
  if (r->status == 204) return std::optional<WorkLease>();
  if (r->status != 200) return http_failure("work", r->status, r->error_message());
  auto j = r->json();
  if (!j) return make_error(ErrorKind::protocol, "work: " + j.error().message);
  auto lease = WorkLease::from_json(*j);
  if (!lease) return make_error(ErrorKind::protocol, "work: " + lease.error().message);
  return std::optional<WorkLease>(std::move(*lease));
}

Status OrchestratorClient::lease_call(const std::string& lease_id, const char* action, int64_t fence) const {
  auto client = make_client(m_base_url, m_ticket, m_call_timeout);
  FenceRequest body{fence};
  auto r = client.post_json("/api/v1/leases/" + url_encode(lease_id) + "/" + action, body.to_json());
  if (!r) return r.error();
  if (r->status == 200 || r->status == 204) return {};
  return http_failure(action, r->status, r->error_message());
}

Status OrchestratorClient::renew(const std::string& lease_id, int64_t fence) const {
  return lease_call(lease_id, "renew", fence);
}

Status OrchestratorClient::release(const std::string& lease_id, int64_t fence) const {
  return lease_call(lease_id, "release", fence);
}

Result<CompleteResponse> OrchestratorClient::complete(const CompleteRequest& request) const {
  auto client = make_client(m_base_url, m_ticket, m_call_timeout);
  auto r = client.post_json("/api/v1/complete", request.to_json());
  if (!r) return r.error();
  // 202: the orchestrator is still taking the binary in (status "in_progress", retry_after_s).
  if (r->status != 200 && r->status != 202) return http_failure("complete", r->status, r->error_message());
  auto j = r->json();
  if (!j) return make_error(ErrorKind::protocol, "complete: " + j.error().message);
  auto answer = CompleteResponse::from_json(*j);
  if (!answer) return make_error(ErrorKind::protocol, "complete: " + answer.error().message);
  if (r->status == 202 && !answer->in_progress())
    return make_error(ErrorKind::protocol, "complete: HTTP 202 with status '" + answer->status + "'");
  return std::move(*answer);
}

}  // namespace swarm::drone
