// Orchestrator: POST /api/v1/complete (design.md, "Accepting a binary"). The intake of a built binary runs on
// its own thread, one per lease: an answer that takes longer than --complete-wait is 202 "in_progress", and
// the drone's replay of the same completion waits again or gets the stored final answer.
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

// Seconds a drone waits before sending a completion again after 202; the replay itself waits --complete-wait.
constexpr int64_t kCompleteRetryAfterS = 2;

HttpResponse in_progress() {
  CompleteResponse answer;
  answer.status = "in_progress";
  answer.accepted = false;
  nlohmann::json body = answer.to_json();
  body["retry_after_s"] = kCompleteRetryAfterS;
  auto r = HttpResponse::json(body, 202);
  r.headers.emplace_back("Retry-After", std::to_string(kCompleteRetryAfterS));
  return r;
}

HttpResponse stopping_answer() {
  return HttpResponse::error(503, "stopping", "the orchestrator is stopping: send the completion again later");
}
}  // namespace

bool IntakeJob::Waiter::answer(const HttpResponse& r) const {
  if (answered->exchange(true)) return false;
  respond(r);
  return true;
}

void Orchestrator::Impl::complete(const HttpRequest& http, const TicketClaims& who, Responder respond) {
  auto body = http.json();
  if (!body) return respond(HttpResponse::from_error(body.error()));
  auto req = CompleteRequest::from_json(*body);
  if (!req) return respond(HttpResponse::from_error(req.error()));
  std::unique_lock serial(lease_lock(req->lease_id));
  auto lease = store->lease(req->lease_id);
  if (!lease) return respond(HttpResponse::error(404, "not_found", "no lease " + req->lease_id));
  if (lease->drone != who.subject) {
    log->warn("completion for lease {} of {} sent by {}: refused", lease->lease_id, lease->drone, who.subject);
    return respond(HttpResponse::error(403, "forbidden", "lease " + req->lease_id + " is not yours"));
  }
  if (lease->fence != req->fence) {
    log->warn("completion for lease {} with fence {} (lease has {}): refused", lease->lease_id, req->fence, lease->fence);
    return respond(HttpResponse::error(409, "fence_mismatch", "fence does not match lease " + req->lease_id));
  }
  // A replay gets the same answer (the store keeps one per lease).
  if (lease->answer) return respond(HttpResponse::json(json::parse(*lease->answer)));
  IntakeJob::Waiter waiter{std::move(respond), std::make_shared<std::atomic<bool>>(false)};
  {
    std::lock_guard lock(intakes_mutex);
    reap_intakes();
    auto it = intakes.find(lease->lease_id);
    if (it != intakes.end() && !it->second->done) {
      it->second->waiters.push_back(waiter);  // a replay while the intake runs waits for the same intake
    } else if (it != intakes.end() && !it->second->delivered) {
      // Ended after its requests were answered 202 without a stored answer (retry_upload, our own error).
      auto result = *it->second->result;
      it->second->thread.join();
      intakes.erase(it);
      waiter.answer(result);
      return;
    } else if (req->result == "built") {
      if (stopping) return (void)waiter.answer(stopping_answer());
      auto job = std::make_shared<IntakeJob>();
      job->waiters.push_back(waiter);
      intakes[lease->lease_id] = job;
      job->thread = std::thread([this, job, l = *lease, r = *req] { run_intake(job, l, r); });
    }
  }
  if (req->result == "failed") {
    if (req->log_path) {
      auto stored = intake->store_log(lease->drone, lease->lease_id, *req->log_path);
      req->log_path = stored ? std::optional<std::string>(stored->string()) : std::nullopt;
    }
    auto answer = store->record_failure(*lease, *req);
    metrics.add("swarm_completions_total{result=\"failed\"}");
    log->info("{} failed on {} ({}, exit {})", lease->atom, lease->drone, req->failure_class.value_or("build"), req->exit_code);
    intake->cleanup_lease(lease->drone, lease->lease_id);
    waiter.answer(HttpResponse::json(answer.to_json()));
    return;
  }
  serial.unlock();
  auto wait = std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, options.complete_wait_s) * 1000));
  server->post_after(wait, [this, waiter] {
    if (waiter.answer(in_progress())) metrics.add("swarm_completions_total{result=\"in_progress\"}");
  });
}

void Orchestrator::Impl::run_intake(const std::shared_ptr<IntakeJob>& job, LeaseRecord lease, CompleteRequest req) {
  HttpResponse result;
  try {
    if (options.before_intake) options.before_intake(lease.lease_id, stopping);
    if (req.log_path) {
      auto stored = intake->store_log(lease.drone, lease.lease_id, *req.log_path);
      req.log_path = stored ? std::optional<std::string>(stored->string()) : std::nullopt;
    }
    if (stopping) {
      log->info("intake of {} abandoned before it began: stopping", lease.atom);
      result = stopping_answer();
    } else {
      result = complete_built(lease, req);
    }
  } catch (const std::exception& e) {
    log->error("intake of {} for lease {} failed: {}", lease.atom, lease.lease_id, e.what());
    result = HttpResponse::error(500, "internal", e.what());
  }
  // The lease lock first: a completion that found no stored answer under it also finds this job still running.
  // Answering only queues the bytes on the connection, so it is done under the locks.
  std::lock_guard serial(lease_lock(lease.lease_id));
  std::lock_guard lock(intakes_mutex);
  job->result = result;
  job->done = true;
  for (const auto& w : job->waiters) job->delivered = w.answer(result) || job->delivered;
  job->waiters.clear();
}

void Orchestrator::Impl::reap_intakes() {
  for (auto it = intakes.begin(); it != intakes.end();) {
    // A finished job whose answer reached its drone, or is stored, is no longer needed.
    if (it->second->done && it->second->delivered) {
      it->second->thread.join();
      it = intakes.erase(it);
    } else {
      ++it;
    }
  }
}

void Orchestrator::Impl::stop_intakes() {
  std::map<std::string, std::shared_ptr<IntakeJob>> jobs;
  size_t running = 0;
  {
    std::lock_guard lock(intakes_mutex);
    jobs.swap(intakes);  // `stopping` is set: no intake starts after this
    for (const auto& [id, job] : jobs) running += job->done ? 0 : 1;
  }
  if (running > 0) log->info("waiting for {} running intake(s) to finish or give up", running);
  for (auto& [id, job] : jobs)
    if (job->thread.joinable()) job->thread.join();
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
  std::error_code ec;
  if (stopping) {
    // Abandoned cleanly: no answer is stored and the staged file stays, so a replay after the restart starts again.
    std::filesystem::remove(staged->copy, ec);
    log->info("intake of {} abandoned: stopping", lease.atom);
    return stopping_answer();
  }
  int64_t build_id = store->allocate_build_id(lease.cpv);
  auto prepared = intake->prepare(*staged, build_id);
  std::filesystem::remove(staged->copy, ec);
  if (!prepared) {
    // Our failure, not the drone's: the lease and the staged file stay, the drone sends the completion again.
    log->error("cannot prepare {} (BUILD_ID {}): {}", lease.atom, build_id, prepared.error().message);
    return HttpResponse::error(503, "internal", "cannot prepare the binary: " + prepared.error().message);
  }
  auto& [record, temp] = *prepared;
  if (stopping) {
    std::filesystem::remove(temp, ec);
    log->info("intake of {} abandoned before installing: stopping", lease.atom);
    return stopping_answer();
  }
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
