#include "drone/delivery.hpp"

#include <unistd.h>

#include <algorithm>
#include <future>

#include "common/crypto.hpp"
#include "common/process_runner.hpp"
#include "drone/backoff.hpp"
#include "drone/loggers.hpp"
#include "drone/orchestrator_client.hpp"

namespace swarm::drone {

namespace fs = std::filesystem;

std::string staged_log_path(const std::string& lease_id) { return "logs/" + lease_id + ".log"; }

CompleteRequest completion_for(const JournalEntry& e, size_t log_tail_bytes) {
  CompleteRequest req;
  req.lease_id = e.lease.lease_id;
  req.fence = e.lease.fence;
  const bool built = e.failure_class.empty() && !e.binary.empty();
  req.result = built ? "built" : "failed";
  if (built) {
    req.path = e.binary;
    req.sha256 = e.sha256;
    req.size = e.size;
  } else {
    req.failure_class = e.failure_class.empty() ? std::string("build") : e.failure_class;
  }
  req.duration_s = e.duration_s;
  req.max_rss_mb = e.max_rss_mb;
  req.exit_code = e.exit_code;
  if (!built && !e.failure_excerpt.empty()) {
    // Portage's own reason, its last line the one-line summary the queue shows.
    req.log_tail = e.failure_excerpt.size() > log_tail_bytes ? e.failure_excerpt.substr(e.failure_excerpt.size() - log_tail_bytes)
                                                             : e.failure_excerpt;
  } else {
    req.log_tail = e.log_file.empty() ? std::string() : tail_of_file(e.log_file, log_tail_bytes);
  }
  if (e.log_uploaded) req.log_path = staged_log_path(e.lease.lease_id);
  return req;
}

Delivery::Delivery(const DroneConfig& config, DroneState& state, const Uploader& uploader, const Clock& clock)
    : m_config(config), m_state(state), m_uploader(uploader), m_clock(clock) {}

Result<std::string> Delivery::stage_log(const JournalEntry& entry) const {
  const std::string& id = entry.lease.lease_id;
  const fs::path box = m_config.work_dir / "outbox" / id;
  const fs::path staged = box / staged_log_path(id);
  std::error_code ec;
  fs::create_directories(staged.parent_path(), ec);
  if (ec) return make_error(ErrorKind::io, "cannot create " + staged.parent_path().string() + ": " + ec.message());
  if (entry.log_file.empty() || !fs::is_regular_file(entry.log_file))
    return make_error(ErrorKind::not_found, "no build log to upload");
  fs::remove(staged, ec);
  // A hard link costs nothing; a copy when the work dir spans file systems.
  if (::link(entry.log_file.c_str(), staged.c_str()) != 0) {
    fs::copy_file(entry.log_file, staged, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(ErrorKind::io, "cannot copy the log to " + staged.string() + ": " + ec.message());
  }
  // rsync's /./ marker: everything after it is recreated under the destination.
  return (box.lexically_normal() / "." / staged_log_path(id)).string();
}

void Delivery::clear_outbox(const std::string& lease_id) const {
  std::error_code ec;
  if (valid_lease_id(lease_id)) fs::remove_all(m_config.work_dir / "outbox" / lease_id, ec);
}

StepEnd Delivery::upload(JournalEntry& entry, bool with_binary, int64_t max_attempts) const {
  // The hash is needed only for the completion: computing it while rsync runs hides its cost.
  std::future<Result<std::string>> hashing;
  if (with_binary && entry.sha256.empty())
    hashing = std::async(std::launch::async, sha256_file_hex, m_config.pkgdir / entry.binary);
  StepEnd end = upload_attempts(entry, with_binary, max_attempts);
  if (hashing.valid()) {
    auto sha = hashing.get();
    if (sha) {
      entry.sha256 = *sha;
    } else {
      upload_log()->error("lease {}: cannot hash {}: {}", entry.lease.lease_id, entry.binary, sha.error().message);
    }
  }
  return end;
}

StepEnd Delivery::upload_attempts(JournalEntry& entry, bool with_binary, int64_t max_attempts) const {
  std::vector<std::string> sources;
  if (with_binary) sources.push_back("./" + entry.binary);
  auto log_source = stage_log(entry);
  if (log_source) {
    sources.push_back(*log_source);
  } else {
    upload_log()->warn("lease {}: the full log will not be uploaded: {}", entry.lease.lease_id, log_source.error().message);
  }
  if (sources.empty()) return StepEnd::gave_up;
  const fs::path transcript = m_config.work_dir / "logs" / "upload.log";
  Backoff backoff(seconds_ms(m_config.backoff_initial_s), seconds_ms(m_config.backoff_max_s));
  for (int64_t attempt = 1;; ++attempt) {
    if (m_state.lease_revoked()) return StepEnd::lease_lost;
    if (m_state.hard_stop()) return StepEnd::stopped;
    m_state.set_activity(Activity::uploading);
    const auto t0 = m_clock.now_steady();
    Status st = m_uploader.upload(m_config.pkgdir, sources, entry.lease.upload, transcript, m_state.cancel_flag());
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(m_clock.now_steady() - t0);
    m_state.note_upload(took, st ? std::string() : st.error().message);
    if (st) {
      entry.log_uploaded = log_source.ok();
      upload_log()->info("lease {}: uploaded {} to {}@{}:{} in {} ms (attempt {})", entry.lease.lease_id,
                     with_binary ? entry.binary : staged_log_path(entry.lease.lease_id), entry.lease.upload.user,
                     entry.lease.upload.host, entry.lease.upload.path, took.count(), attempt);
      return StepEnd::done;
    }
    if (m_state.lease_revoked()) return StepEnd::lease_lost;
    if (m_state.hard_stop()) return StepEnd::stopped;
    if (st.error().kind == ErrorKind::invalid) {
      upload_log()->error("lease {}: cannot upload: {}", entry.lease.lease_id, st.error().message);
      return StepEnd::gave_up;
    }
    if (max_attempts > 0 && attempt >= max_attempts) {
      upload_log()->error("lease {}: upload failed {} times, giving up: {}", entry.lease.lease_id, attempt,
                      st.error().message);
      return StepEnd::gave_up;
    }
    auto delay = backoff.next();
    upload_log()->warn("lease {}: upload attempt {} failed after {} ms: {}; retrying in {} ms", entry.lease.lease_id,
                   attempt, took.count(), st.error().message, delay.count());
    if (!m_state.pause(delay)) return StepEnd::stopped;
  }
}

CompleteOutcome Delivery::complete(const JournalEntry& entry) const {
  CompleteOutcome out;
  const std::string& id = entry.lease.lease_id;
  const CompleteRequest request = completion_for(entry, static_cast<size_t>(m_config.log_tail_bytes));
  Backoff backoff(seconds_ms(m_config.complete_backoff_initial_s), seconds_ms(m_config.complete_backoff_max_s));
  int refusals = 0;
  int64_t failures = 0;  // transport errors and 5xx answers
  std::optional<std::chrono::steady_clock::time_point> busy_since;
  auto end_with = [&](StepEnd end) {
    out.end = end;
    return out;
  };
  for (int64_t attempt = 1;; ++attempt) {
    if (m_state.hard_stop()) return end_with(StepEnd::stopped);
    OrchestratorClient client(entry.orchestrator, m_state.ticket_for(entry.orchestrator),
                              seconds_ms(m_config.http_timeout_s), seconds_ms(m_config.work_poll_timeout_s));
    auto r = client.complete(request);
    if (r && r->in_progress()) {
      // The orchestrator is still taking a large binary in: ask again later; the lease is renewed meanwhile.
      const auto now = m_clock.now_steady();
      if (!busy_since) busy_since = now;
      const auto busy = std::chrono::duration_cast<std::chrono::milliseconds>(now - *busy_since);
      if (busy >= seconds_ms(m_config.complete_busy_timeout_s)) {
        out.error = "the orchestrator was still taking the binary in after " + std::to_string(busy.count() / 1000) + " s";
        upload_log()->error("lease {}: {}; giving up on this completion", id, out.error);
        return end_with(StepEnd::exhausted);
      }
      failures = 0;
      backoff.reset();
      const auto delay = std::clamp(std::chrono::milliseconds(r->retry_after_s * 1000),
                                    std::max(seconds_ms(m_config.complete_backoff_initial_s), std::chrono::milliseconds(100)),
                                    std::chrono::milliseconds(300'000));
      upload_log()->info("lease {}: the orchestrator is still taking the binary in; asking again in {} ms", id,
                         delay.count());
      if (!m_state.pause(delay)) return end_with(StepEnd::stopped);
      continue;
    }
    if (r) {
      out.answer = *r;
      return end_with(StepEnd::done);
    }
    out.error = r.error().message;
    if (r.error().kind == ErrorKind::conflict) {
      upload_log()->warn("lease {}: completion refused, the lease is not ours: {}", id, out.error);
      return end_with(StepEnd::lease_lost);
    }
    // A stale ticket heals with the next heartbeat; a request the orchestrator cannot take does not.
    const bool refusal = r.error().kind == ErrorKind::unauthorized || r.error().kind == ErrorKind::invalid ||
                         r.error().kind == ErrorKind::not_found;
    if (refusal && ++refusals >= 5) {
      upload_log()->error("lease {}: giving up on the completion for now after {} attempts: {}", id, attempt, out.error);
      return end_with(StepEnd::gave_up);
    }
    if (!refusal) {
      ++failures;
      if (m_config.complete_attempts > 0 && failures >= m_config.complete_attempts) {
        upload_log()->error("lease {}: the completion failed {} times: {}", id, failures, out.error);
        return end_with(StepEnd::exhausted);
      }
    }
    if (m_state.draining()) {
      // A drain must not wait on retries: the journal sends the completion again at the next start.
      upload_log()->warn("lease {}: completion failed while draining ({}); it is sent again at the next start", id,
                         out.error);
      return end_with(StepEnd::gave_up);
    }
    auto delay = backoff.next();
    upload_log()->warn("lease {}: completion attempt {} failed: {}; retrying in {} ms", id, attempt, out.error,
                       delay.count());
    if (!m_state.pause(delay, true) && m_state.hard_stop()) return end_with(StepEnd::stopped);
  }
}

}  // namespace swarm::drone
