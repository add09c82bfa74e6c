// Orchestrator: POST /api/v1/complete (design.md, "Accepting a binary").
#include "orchestrator/orchestrator_impl.hpp"

namespace swarm::orch {

using nlohmann::json;

namespace {
// A label for metrics from an intake refusal's reason.
std::string rejection_label(const std::string& reason) {
  for (const char* k : {"sha256", "size", "symlink", "link", "traversal", "metadata", "missing", "manifest", "truncated"})
    if (reason.find(k) != std::string::npos) return k;
  return "other";
}
}  // namespace

HttpResponse Orchestrator::Impl::complete(const HttpRequest& http, const TicketClaims& who) {
  auto body = http.json();
  if (!body) return HttpResponse::from_error(body.error());
  auto req = CompleteRequest::from_json(*body);
  if (!req) return HttpResponse::from_error(req.error());
  std::lock_guard serial(lease_lock(req->lease_id));
  auto lease = store->lease(req->lease_id);
  if (!lease) return HttpResponse::error(404, "not_found", "no lease " + req->lease_id);
  if (lease->drone != who.subject) {
    log->warn("completion for lease {} of {} sent by {}: refused", lease->lease_id, lease->drone, who.subject);
    return HttpResponse::error(403, "forbidden", "lease " + req->lease_id + " is not yours");
  }
  if (lease->fence != req->fence) {
    log->warn("completion for lease {} with fence {} (lease has {}): refused", lease->lease_id, req->fence, lease->fence);
    return HttpResponse::error(409, "fence_mismatch", "fence does not match lease " + req->lease_id);
  }
  if (lease->answer) return HttpResponse::json(json::parse(*lease->answer));  // a replay gets the same answer
  if (req->log_path) {
    auto stored = intake->store_log(lease->drone, lease->lease_id, *req->log_path);
    req->log_path = stored ? std::optional<std::string>(stored->string()) : std::nullopt;
  }
  CompleteResponse answer;
  if (req->result == "failed") {
    answer = store->record_failure(*lease, *req);
    metrics.add("swarm_completions_total{result=\"failed\"}");
    log->info("{} failed on {} ({}, exit {})", lease->atom, lease->drone, req->failure_class.value_or("build"), req->exit_code);
    intake->cleanup_lease(lease->drone, lease->lease_id);
    return HttpResponse::json(answer.to_json());
  }
  return complete_built(*lease, *req);
}

HttpResponse Orchestrator::Impl::complete_built(LeaseRecord lease, CompleteRequest req) {
  if (!store->request_open_for(lease)) {
    auto answer = store->record_superseded(lease);
    metrics.add("swarm_completions_total{result=\"superseded\"}");
    intake->cleanup_lease(lease.drone, lease.lease_id);
    return HttpResponse::json(answer.to_json());
  }
  auto staged = intake->take(lease.drone, lease.lease_id, *req.path, *req.size, *req.sha256, lease.cpv);
  if (!staged) {
    metrics.add("swarm_intake_rejections_total{reason=\"" + rejection_label(staged.error().message) + "\"}");
    log->warn("binary of {} from {} refused: {}", lease.atom, lease.drone, staged.error().message);
    auto answer = store->record_bad_upload(lease, staged.error().message);
    metrics.add("swarm_completions_total{result=\"refused\"}");
    return HttpResponse::json(answer.to_json());
  }
  int64_t build_id = store->allocate_build_id(lease.cpv);
  auto prepared = intake->prepare(*staged, build_id);
  std::error_code ec;
  std::filesystem::remove(staged->copy, ec);
  if (!prepared) {
    // Our failure, not the drone's: the lease and the staged file stay, the drone sends the completion again.
    log->error("cannot prepare {} (BUILD_ID {}): {}", lease.atom, build_id, prepared.error().message);
    return HttpResponse::error(503, "internal", "cannot prepare the binary: " + prepared.error().message);
  }
  auto& [record, temp] = *prepared;
  std::string rel = record.path;
  Acceptance acc{record, [this, temp = temp, rel] { return intake->install(temp, rel); },
                 [this, rel] { intake->uninstall(rel); }};
  auto answer = store->record_acceptance(lease, req, std::move(acc));
  std::filesystem::remove(temp, ec);
  if (!answer) {
    log->error("cannot install {}: {}", rel, answer.error().message);
    return HttpResponse::from_error(answer.error());
  }
  if (answer->accepted) {
    metrics.add("swarm_completions_total{result=\"accepted\"}");
    log->info("accepted {} from {} as {}", lease.atom, lease.drone, rel);
  } else {
    metrics.add("swarm_completions_total{result=\"superseded\"}");
  }
  intake->cleanup_lease(lease.drone, lease.lease_id);
  return HttpResponse::json(answer->to_json());
}

}  // namespace swarm::orch
