#pragma once
// DroneState: everything the work loop, the heartbeat thread and the control endpoint share, behind
// one mutex (the cancel flag is an atomic because the process runner polls it). No globals.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/messages.hpp"

namespace swarm::drone {

enum class Activity { idle, building, uploading };

struct LeaseInfo {
  std::string lease_id;
  int64_t fence = 0;
  std::string atom;
  int64_t attempt = 1;
  std::string orchestrator;  // where to renew, release and complete
  int64_t started_unix = 0;
  int64_t lease_ttl_s = 60;  // renewals come well within it
};

/// A copy of the state for status answers and heartbeats.
struct DroneStatus {
  std::string name;
  std::string approval;
  std::string orchestrator;
  std::string activity;  // idle, building, uploading, draining
  std::optional<LeaseInfo> lease;
  bool draining = false;
  bool lease_revoked = false;
  int64_t upload_attempts = 0;  // for the current lease
  int64_t upload_failures = 0;  // for the current lease
  std::string last_upload_error;
  int64_t last_upload_ms = 0;
  int64_t heartbeat_interval_s = 10;
  std::string last_gateway_error;
  std::deque<std::string> recent;  // newest last
  /// The status body (lease null when idle).
  nlohmann::json to_json() const;
};

class DroneState {
 public:
  /// `clock` must outlive the state.
  DroneState(std::string name, const Clock& clock);

  const std::string& name() const { return m_name; }

  /// Takes in a register or heartbeat answer: approval, orchestrator, ticket (kept per orchestrator).
  void apply_gateway_answer(const RegisterResponse& answer);
  /// Remembers the last gateway failure for status answers.
  void set_gateway_error(std::string error);
  /// The orchestrator to ask for new work (empty unless approved and routed).
  std::string orchestrator() const;
  /// The gateway's last word: approved, pending, revoked, or empty.
  std::string approval() const;
  /// Seconds between heartbeats, as the gateway asks.
  int64_t heartbeat_interval_s() const;
  /// The latest ticket the gateway gave for `orchestrator`, or the newest one when it gave none for it.
  std::string ticket_for(const std::string& orchestrator) const;
  /// Approved, with an orchestrator and a ticket.
  bool ready_for_work() const;

  /// What the work loop is doing, for heartbeats and status.
  void set_activity(Activity activity);
  /// Makes `lease` the current one; resets the cancel flag (unless stopping) and upload counters.
  void begin_lease(LeaseInfo lease);
  /// No current lease any more (idle).
  void end_lease();
  /// The current lease, if any.
  std::optional<LeaseInfo> lease() const;

  /// The orchestrator says `lease_id` is no longer ours: cancels its build or upload at once.
  void revoke(const std::string& lease_id);
  /// Whether the current lease was revoked.
  bool lease_revoked() const;
  /// Turns true on revocation or hard stop; the process runner polls it.
  const std::atomic<bool>* cancel_flag() const { return &m_cancel; }

  /// First SIGTERM (or a control drain/restart): no new work. Returns true the first time.
  bool request_drain(bool restart = false);
  /// Second SIGTERM or the drain timeout: kill the build, release the lease, exit.
  void request_hard_stop();
  /// True once a drain (or hard stop) was asked for.
  bool draining() const;
  /// True once a hard stop was asked for.
  bool hard_stop() const;
  /// True when the drain was asked for as a restart.
  bool restart_requested() const;
  /// When the drain began, if it did.
  std::optional<std::chrono::steady_clock::time_point> drain_started() const;

  /// Counts an upload attempt of the current lease (error empty on success).
  void note_upload(std::chrono::milliseconds took, const std::string& error);
  /// Remembers a one-line summary of a finished lease (the last 20 are kept).
  void record_result(std::string summary);

  /// A consistent copy of everything, taken under the lock.
  DroneStatus status() const;

  /// Waits up to `d`; returns false early on hard stop (or on drain when `wake_on_drain`).
  bool pause(std::chrono::milliseconds d, bool wake_on_drain = false) const;
  /// Waits up to `d` for ready_for_work(), returning early on drain; returns ready_for_work().
  bool wait_ready(std::chrono::milliseconds d) const;

 private:
  bool ready_locked() const;

  const std::string m_name;
  const Clock& m_clock;
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_cv;
  std::atomic<bool> m_cancel{false};

  std::string m_approval;
  std::string m_orchestrator;
  std::map<std::string, std::string> m_tickets;  // orchestrator URL -> ticket
  std::string m_newest_ticket;
  int64_t m_heartbeat_interval_s = 10;
  std::string m_gateway_error;

  Activity m_activity = Activity::idle;
  std::optional<LeaseInfo> m_lease;
  bool m_revoked = false;
  bool m_draining = false;
  bool m_hard_stop = false;
  bool m_restart = false;
  std::optional<std::chrono::steady_clock::time_point> m_drain_started;
  int64_t m_upload_attempts = 0;
  int64_t m_upload_failures = 0;
  std::string m_last_upload_error;
  int64_t m_last_upload_ms = 0;
  std::deque<std::string> m_recent;
};

}  // namespace swarm::drone
