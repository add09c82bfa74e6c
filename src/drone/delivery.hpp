#pragma once
// Delivery: gets a finished lease to its orchestrator: uploads the binary and the full log with
// retries and backoff (upload trouble is never a build failure), then sends the completion until
// it is answered.

#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/messages.hpp"
#include "drone/drone_config.hpp"
#include "drone/drone_state.hpp"
#include "drone/journal.hpp"
#include "drone/uploader.hpp"

namespace swarm::drone {

/// How a delivery step ended.
enum class StepEnd {
  done,
  lease_lost,  // the orchestrator says the lease is not ours (409): stop, do not upload
  stopped,     // hard stop requested
  gave_up,     // a refusal retrying cannot fix, or a drain: try again later (the journal keeps it)
  exhausted,   // the orchestrator kept failing (5xx, transport errors, busy too long): report a failure
};

struct CompleteOutcome {
  StepEnd end = StepEnd::gave_up;
  std::optional<CompleteResponse> answer;
  std::string error;
};

/// Where the lease's full log goes, relative to the lease's staging directory.
std::string staged_log_path(const std::string& lease_id);

/// The completion to send for a journal entry (the log tail read from its log file).
CompleteRequest completion_for(const JournalEntry& entry, size_t log_tail_bytes);

class Delivery {
 public:
  /// Everything must outlive the object.
  Delivery(const DroneConfig& config, DroneState& state, const Uploader& uploader, const Clock& clock);

  /// Uploads the entry's binary (when `with_binary`) and its log into the lease's staging directory,
  /// setting entry.log_uploaded. `max_attempts` 0 retries until it works, the lease is lost or the drone stops.
  /// When the binary has no hash yet (entry.sha256 empty), it is hashed while rsync runs and entry.sha256
  /// is set however the upload ends; it stays empty when the file cannot be read.
  StepEnd upload(JournalEntry& entry, bool with_binary, int64_t max_attempts) const;

  /// Sends the completion, retrying transport errors and 5xx answers with backoff up to
  /// --complete-attempts times, and re-sending it after retry_after_s while the orchestrator answers
  /// "in_progress", up to --complete-busy-timeout. While draining, a failed attempt ends it (gave_up).
  CompleteOutcome complete(const JournalEntry& entry) const;

  /// Removes the outbox copy of the lease's log.
  void clear_outbox(const std::string& lease_id) const;

 private:
  /// The attempts of upload(), without the hash.
  StepEnd upload_attempts(JournalEntry& entry, bool with_binary, int64_t max_attempts) const;
  /// Hard-links (or copies) the log to outbox/<lease>/logs/<lease>.log; returns the rsync source.
  Result<std::string> stage_log(const JournalEntry& entry) const;

  const DroneConfig& m_config;
  DroneState& m_state;
  const Uploader& m_uploader;
  const Clock& m_clock;
};

}  // namespace swarm::drone
