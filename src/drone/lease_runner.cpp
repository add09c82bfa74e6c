#include "drone/lease_runner.hpp"

#include <fstream>

#include "common/atom.hpp"
#include "drone/build_command.hpp"
#include "drone/leftover_build.hpp"
#include "drone/loggers.hpp"
#include "drone/orchestrator_client.hpp"

namespace swarm::drone {

namespace fs = std::filesystem;

namespace {

// retry_upload answers followed before the binary is kept and the lease given up.
constexpr int64_t kMaxUploadRounds = 5;
// Upload attempts for the log of a failed build: useful, not worth blocking the drone for.
constexpr int64_t kFailureLogUploadAttempts = 3;

// Clears the state's current lease however drive() ends.
class LeaseScope {
 public:
  LeaseScope(DroneState& state, const JournalEntry& e) : m_state(state) {
    m_state.begin_lease(LeaseInfo{e.lease.lease_id, e.lease.fence, e.lease.atom, e.lease.attempt, e.orchestrator,
                                  e.started_unix, e.lease.lease_ttl_s});
  }
  ~LeaseScope() { m_state.end_lease(); }
  LeaseScope(const LeaseScope&) = delete;
  LeaseScope& operator=(const LeaseScope&) = delete;

 private:
  DroneState& m_state;
};

void note_in_log(const std::string& log_file, const std::string& line) {
  if (log_file.empty()) return;
  std::ofstream out(log_file, std::ios::app);
  out << ">>> swarm-drone: " << line << "\n";
}

}  // namespace

const char* to_string(LeaseEnd end) {
  switch (end) {
    case LeaseEnd::finished: return "finished";
    case LeaseEnd::lost: return "lost";
    case LeaseEnd::stopped: return "stopped";
    case LeaseEnd::deferred: return "deferred";
  }
  return "?";
}

LeaseRunner::LeaseRunner(const DroneConfig& config, DroneState& state, Journal& journal, Builder& builder,
                         const Delivery& delivery, const Clock& clock)
    : m_config(config), m_state(state), m_journal(journal), m_builder(builder), m_delivery(delivery), m_clock(clock) {}

fs::path LeaseRunner::log_path_for(const WorkLease& lease) const {
  std::string dir = lease.atom;
  if (auto atom = parse_atom(lease.atom); atom) dir = atom->category + "_" + atom->pf();
  for (char& ch : dir)
    if (ch == '/' || ch == '=' || ch == ':' || ch == ' ') ch = '_';
  if (dir.empty() || dir[0] == '.') dir = "_" + dir;
  return m_config.work_dir / "logs" / dir / (std::to_string(lease.attempt) + ".log");
}

bool LeaseRunner::save(const JournalEntry& entry) {
  if (auto st = m_journal.save(entry); !st) {
    drone_log()->error("lease {}: cannot write the journal: {}", entry.lease.lease_id, st.error().message);
    return false;
  }
  return true;
}

void LeaseRunner::release(const JournalEntry& entry, const char* why) {
  OrchestratorClient client(entry.orchestrator, m_state.ticket_for(entry.orchestrator),
                            seconds_ms(m_config.http_timeout_s), seconds_ms(m_config.work_poll_timeout_s));
  Status st = client.release(entry.lease.lease_id, entry.lease.fence);
  if (st) {
    drone_log()->info("lease {}: released ({})", entry.lease.lease_id, why);
  } else {
    drone_log()->warn("lease {}: release ({}) failed: {}", entry.lease.lease_id, why, st.error().message);
  }
}

LeaseEnd LeaseRunner::finish(JournalEntry& entry, LeaseEnd end, const std::string& summary) {
  if (end == LeaseEnd::finished || end == LeaseEnd::lost) {
    m_delivery.clear_outbox(entry.lease.lease_id);
    if (auto st = m_journal.remove(entry.lease.lease_id); !st)
      drone_log()->warn("lease {}: {}", entry.lease.lease_id, st.error().message);
  }
  const std::string line = entry.lease.atom + " (lease " + entry.lease.lease_id + "): " + summary;
  m_state.record_result(line);
  if (end == LeaseEnd::finished) {
    drone_log()->info("{}", line);
  } else {
    drone_log()->warn("{} [{}]", line, to_string(end));
  }
  return end;
}

bool LeaseRunner::takes(const WorkLease& lease) {
  if (m_unreachable_revision.empty()) return true;
  if (lease.repo_revision != m_unreachable_revision) {
    m_unreachable_revision.clear();
    return true;
  }
  auto have = m_builder.tree_revision();
  if (have && revision_matches(lease.repo_revision, *have)) {
    drone_log()->info("the repository reached revision {}: taking work of its run again", lease.repo_revision);
    m_unreachable_revision.clear();
    return true;
  }
  return false;
}

LeaseEnd LeaseRunner::run_new(const WorkLease& lease, const std::string& orchestrator) {
  JournalEntry entry;
  entry.lease = lease;
  entry.orchestrator = orchestrator;
  entry.started_unix = m_clock.now_unix();
  entry.log_file = log_path_for(lease).string();
  if (!save(entry)) {
    release(entry, "no journal");
    return LeaseEnd::lost;
  }
  return drive(entry);
}

LeaseEnd LeaseRunner::resume(JournalEntry entry) {
  drone_log()->info("lease {}: resuming {} at stage {}", entry.lease.lease_id, entry.lease.atom, to_string(entry.stage));
  if (entry.stage == JournalStage::leased) {
    // The build was cut off; its binary, if any, cannot be trusted to be complete. What is left of it
    // must not write into PKGDIR beside the next build.
    if (int killed = stop_leftover_build(entry); killed > 0)
      drone_log()->warn("lease {}: killed {} processes left by the interrupted build", entry.lease.lease_id, killed);
    release(entry, "build interrupted by a restart");
    if (auto atom = parse_atom(entry.lease.atom); atom) m_builder.remove_placeholders(*atom);
    note_in_log(entry.log_file, "build interrupted by a drone restart; lease released");
    return finish(entry, LeaseEnd::lost, "build interrupted by a restart, lease released");
  }
  if (entry.stage == JournalStage::built) {
    OrchestratorClient client(entry.orchestrator, m_state.ticket_for(entry.orchestrator),
                              seconds_ms(m_config.http_timeout_s), seconds_ms(m_config.work_poll_timeout_s));
    Status st = client.renew(entry.lease.lease_id, entry.lease.fence);
    if (!st && st.error().kind == ErrorKind::conflict)
      return finish(entry, LeaseEnd::lost, "lease lost while the drone was down; binary kept at " + entry.binary);
  }
  return drive(entry);
}

std::optional<LeaseEnd> LeaseRunner::build_step(JournalEntry& entry) {
  const std::string& id = entry.lease.lease_id;
  auto fail = [&](const char* failure_class, const std::string& why) -> std::optional<LeaseEnd> {
    note_in_log(entry.log_file, why);
    entry.failure_class = failure_class;
    entry.stage = JournalStage::failed;
    save(entry);
    drone_log()->warn("lease {}: {} failed ({}): {}", id, entry.lease.atom, failure_class, why);
    return std::nullopt;
  };
  auto atom = parse_atom(entry.lease.atom);
  if (!atom) {
    entry.exit_code = -1;
    return fail(failure::kBuild, "refusing to build: " + atom.error().message);
  }
  m_state.set_activity(Activity::building);
  if (!entry.lease.repo_revision.empty()) {
    Status st =
        m_builder.reach_revision(entry.lease.repo_revision, entry.log_file, m_state.cancel_flag(), build_marker(id));
    if (!st && m_state.lease_revoked()) return finish(entry, LeaseEnd::lost, "lease revoked during the sync");
    if (!st && m_state.hard_stop()) {
      release(entry, "drone stopping");
      finish(entry, LeaseEnd::lost, "stopped during the sync, lease released");
      return LeaseEnd::stopped;
    }
    if (!st) {
      entry.exit_code = -1;
      m_unreachable_revision = entry.lease.repo_revision;
      return fail(failure::kSync, st.error().message);
    }
  }
  const auto timeout = entry.lease.timeout_s > 0 ? std::chrono::seconds(entry.lease.timeout_s) : std::chrono::hours(24);
  drone_log()->info("lease {}: building {} (attempt {}, timeout {} s)", id, entry.lease.atom, entry.lease.attempt,
                 timeout.count());
  BuildTracking tracking;
  tracking.marker = build_marker(id);
  tracking.on_start = [&](const ProcessStarted& started) {
    entry.build_pid = started.pid;
    entry.build_start_ticks = started.start_ticks;
    save(entry);
  };
  BuildReport report = m_builder.build(*atom, timeout, entry.log_file, m_state.cancel_flag(),
                                       static_cast<size_t>(m_config.log_tail_bytes), tracking);
  if (report.cancelled) {
    m_builder.remove_placeholders(*atom);
    if (m_state.lease_revoked()) return finish(entry, LeaseEnd::lost, "lease revoked, build killed");
    release(entry, "drone stopping");
    finish(entry, LeaseEnd::lost, "build killed, drone stopping, lease released");
    return LeaseEnd::stopped;
  }
  entry.duration_s = report.duration_s;
  entry.max_rss_mb = report.max_rss_mb;
  entry.exit_code = report.exit_code;
  if (!report.failure_class) {
    // The SHA-256 is computed during the upload (Delivery::upload), where it costs no extra time.
    entry.binary = report.binary.rel_path;
    entry.sha256.clear();
    entry.size = report.binary.size;
    entry.stage = JournalStage::built;
    save(entry);
    drone_log()->info("lease {}: built {} ({} bytes) in {:.1f} s", id, entry.binary, entry.size, entry.duration_s);
    return std::nullopt;
  }
  m_builder.remove_placeholders(*atom);
  if (report.portage_failure) {
    entry.failure_excerpt = report.portage_failure->excerpt;
    return fail(report.failure_class->c_str(), report.summary + ": " + report.portage_failure->summary);
  }
  return fail(report.failure_class->c_str(), report.summary);
}

LeaseEnd LeaseRunner::drive(JournalEntry& entry) {
  LeaseScope scope(m_state, entry);
  const std::string& id = entry.lease.lease_id;
  auto keep_note = [&] { return entry.binary.empty() ? std::string() : "; binary kept at " + entry.binary; };
  while (true) {
    switch (entry.stage) {
      case JournalStage::leased:
        if (auto end = build_step(entry)) return *end;
        break;
      case JournalStage::built: {
        StepEnd end = m_delivery.upload(entry, true, m_config.upload_attempts);
        if (end == StepEnd::lease_lost) return finish(entry, LeaseEnd::lost, "lease revoked before the upload ended" + keep_note());
        if (end == StepEnd::stopped) return finish(entry, LeaseEnd::stopped, "stopped during the upload; resumes at restart");
        if (end == StepEnd::gave_up) return finish(entry, LeaseEnd::deferred, "upload failed" + keep_note());
        if (entry.sha256.empty()) {
          // Uploaded but unreadable here: the orchestrator could not be told what to check.
          note_in_log(entry.log_file, "cannot read the binary " + entry.binary + " to hash it");
          entry.failure_class = failure::kNoBinary;
          entry.stage = JournalStage::failed;
          save(entry);
          drone_log()->warn("lease {}: {} failed ({}): the binary cannot be read", id, entry.lease.atom, failure::kNoBinary);
          break;
        }
        ++entry.upload_rounds;
        entry.stage = JournalStage::uploaded;
        save(entry);
        break;
      }
      case JournalStage::failed:
        if (!entry.log_uploaded) {
          StepEnd end = m_delivery.upload(entry, false, kFailureLogUploadAttempts);
          if (end == StepEnd::lease_lost) return finish(entry, LeaseEnd::lost, "lease revoked before the failure was reported");
          if (end == StepEnd::stopped) return finish(entry, LeaseEnd::stopped, "stopped before the failure was reported");
        }
        entry.stage = JournalStage::completion_sent;
        save(entry);
        break;
      case JournalStage::uploaded:
        entry.stage = JournalStage::completion_sent;
        save(entry);
        break;
      case JournalStage::completion_sent: {
        CompleteOutcome out = m_delivery.complete(entry);
        if (out.end == StepEnd::lease_lost) return finish(entry, LeaseEnd::lost, "completion refused: " + out.error + keep_note());
        if (out.end == StepEnd::stopped) return finish(entry, LeaseEnd::stopped, "stopped before the completion was answered");
        if (out.end == StepEnd::exhausted && entry.failure_class.empty() && !entry.binary.empty()) {
          // The orchestrator keeps failing to take the binary in: say so as a failure that is not the
          // package's, so the request is built again, and keep the binary here.
          const std::string why = "binary " + entry.binary + " built but not taken in: " + out.error;
          note_in_log(entry.log_file, why);
          entry.failure_class = failure::kDelivery;
          entry.failure_excerpt = why + "\n";
          save(entry);
          drone_log()->warn("lease {}: {} failed ({}): {}", id, entry.lease.atom, failure::kDelivery, why);
          break;
        }
        if (out.end == StepEnd::gave_up || out.end == StepEnd::exhausted)
          return finish(entry, LeaseEnd::deferred, "completion not answered: " + out.error);
        entry.answer = out.answer;
        entry.stage = JournalStage::answered;
        save(entry);
        break;
      }
      case JournalStage::answered: {
        const CompleteResponse answer = entry.answer.value_or(CompleteResponse{});
        const bool delivery = entry.failure_class == failure::kDelivery;
        // A delivery failure answered "accepted" means an earlier completion did get through.
        if (delivery && !entry.binary.empty() && !answer.accepted && answer.reason != "superseded") {
          if (auto st = m_journal.keep(id); !st) drone_log()->warn("lease {}: {}", id, st.error().message);
          return finish(entry, LeaseEnd::finished, "failure (delivery) reported" + keep_note());
        }
        if (entry.binary.empty() || (!entry.failure_class.empty() && !delivery))
          return finish(entry, LeaseEnd::finished, "failure (" + entry.failure_class + ") reported");
        if (answer.accepted || answer.reason == "superseded") {
          std::string note = answer.accepted ? "accepted" : "superseded";
          if (!m_config.keep_binaries) {
            if (auto st = drop_local_binary(m_config.pkgdir, entry.binary); !st)
              drone_log()->warn("lease {}: cannot remove the local copy: {}", id, st.error().message);
          } else {
            note += "; binary kept (--keep-binaries)";
          }
          return finish(entry, LeaseEnd::finished, note);
        }
        if (answer.retry_upload && entry.upload_rounds < kMaxUploadRounds) {
          drone_log()->warn("lease {}: the orchestrator asks for the upload again ({})", id, answer.reason);
          entry.answer.reset();
          entry.stage = JournalStage::built;
          save(entry);
          break;
        }
        return finish(entry, LeaseEnd::finished, "refused: " + answer.reason + keep_note());
      }
    }
  }
}

}  // namespace swarm::drone
