#pragma once
// OrchestratorClient: the drone's calls to one orchestrator, authenticated by the gateway's ticket.

#include <chrono>
#include <optional>
#include <string>

#include "common/messages.hpp"
#include "common/result.hpp"

namespace swarm::drone {

class OrchestratorClient {
 public:
  OrchestratorClient(std::string base_url, std::string ticket, std::chrono::milliseconds call_timeout,
                     std::chrono::milliseconds poll_timeout);

  /// Long-polls POST /api/v1/work: a lease, or nullopt when none came (204).
  Result<std::optional<WorkLease>> poll_work() const;
  /// POST /api/v1/leases/{id}/renew; conflict when the lease is no longer ours (409).
  Status renew(const std::string& lease_id, int64_t fence) const;
  /// POST /api/v1/leases/{id}/release; conflict when the lease is no longer ours (409).
  Status release(const std::string& lease_id, int64_t fence) const;
  /// POST /api/v1/complete: the answer (200, or 202 "in_progress"); conflict on 409, unauthorized on
  /// 401/403, protocol on 5xx and other answers, io on transport.
  Result<CompleteResponse> complete(const CompleteRequest& request) const;

  const std::string& base_url() const { return m_base_url; }

 private:
  Status lease_call(const std::string& lease_id, const char* action, int64_t fence) const;

  std::string m_base_url;
  std::string m_ticket;
  std::chrono::milliseconds m_call_timeout;
  std::chrono::milliseconds m_poll_timeout;
};

/// The Error for an HTTP answer that is not a success: 401/403 unauthorized, 404 not_found, 409 conflict,
/// other 4xx invalid, 5xx protocol; the message names the call and quotes the server.
Error http_failure(const std::string& call, int status, const std::string& server_message);

}  // namespace swarm::drone
