#pragma once
// Store: the orchestrator's queue in SQLite. Every transition is one BEGIN IMMEDIATE transaction and
// is recorded in `events`. Time comes from the injected Clock, so the simulator and the tests drive it.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/messages.hpp"
#include "common/result.hpp"
#include "common/sqlite.hpp"

namespace swarm::orch {

/// The one list of request states (design.md, "The queue").
inline constexpr const char* kRequestStates[] = {"needed",      "leased",  "received",  "published",
                                                 "quarantined", "blocked", "cancelled", "withdrawn"};

struct StoreOptions {
  int64_t offline_after_ms = 60'000;  // lease TTL: reclaimed when not renewed within this
  int max_attempts = 3;
  int quarantine_after_drones = 2;    // a package failing on this many different drones is the package's
  int ground_after = 5;               // consecutive failures that ground a drone
  int64_t cool_off_ms = 120'000;
  int max_upload_retries = 3;         // retry_upload answers per lease before the request goes back
  int64_t default_duration_s = 600;
  int64_t min_timeout_s = 3600;
  int64_t backoff_base_ms = 10'000;   // per-request backoff after a package failure, doubling
  int64_t backoff_max_ms = 600'000;
};

/// Who is asking, from the verified ticket (never from the request body).
struct DroneIdentity {
  std::string name;
  std::string fingerprint_hash;  // empty: unknown
};

struct LeaseRecord {
  std::string lease_id;
  int64_t request_id = 0;
  int64_t run_id = 0;
  std::string drone;
  int64_t fence = 0;
  int64_t attempt = 0;
  std::string atom;  // =CATEGORY/PF
  std::string cpv;   // CATEGORY/PF
  std::string state;  // live, completed, reclaimed, released, revoked
  int64_t expires_ms = 0;
  int64_t timeout_s = 0;
  int64_t upload_retries = 0;
  std::string repo_revision;
  std::optional<std::string> answer;  // the stored answer to its completion
};

/// A request as listed by GET /api/v1/queue, with the reason it waits.
struct QueueRow {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string atom;
  std::string state;
  int64_t attempts = 0;
  std::optional<std::string> drone;
  std::optional<std::string> reason;
  std::optional<int64_t> last_build_id;  // its latest attempt: GET /api/v1/builds/{id}/log
  nlohmann::json to_json() const;
};

/// A binary accepted into PKGDIR (the `binaries` table).
struct BinaryRecord {
  int64_t id = 0;
  int64_t request_id = 0;
  std::string cpv;
  int64_t build_id = 0;
  std::string path;  // relative to PKGDIR
  std::string sha256;
  int64_t size = 0;
  int64_t mtime = 0;
  nlohmann::json metadata;  // gpkg metadata KEY -> value
  bool indexed = false;
};

/// What the acceptance step needs recorded; `install` links the file into PKGDIR before the transaction,
/// `uninstall` removes it again when the binary is not recorded (superseded, or the commit failed).
struct Acceptance {
  BinaryRecord binary;
  std::function<Status()> install;    // must not replace an existing file
  std::function<void()> uninstall;    // undo install when the transaction fails
};

struct StoreEvent {
  int64_t id = 0;
  int64_t ts_ms = 0;
  std::string kind;
  std::optional<int64_t> request_id;
  std::string atom;
  std::string drone;
  std::string detail;
  nlohmann::json to_json() const;
};

class Store {
 public:
  /// Opens (creating) the database at `path` (":memory:" for the simulator) and migrates it.
  Store(const std::string& path, std::shared_ptr<Clock> clock, StoreOptions options = {});
  ~Store();

  // --- intake (queue.cpp) ---
  /// Adds a run: all or nothing; invalid atoms rejected with reasons; cycles broken and reported.
  Result<QueueSubmitResponse> submit(const QueueSubmit& submission);
  Result<int64_t> retry(const QueueAction& action);   // quarantined/blocked/cancelled -> needed; count
  Result<int64_t> cancel(const QueueAction& action);  // waiting requests -> cancelled; count
  Result<int64_t> set_paused(const QueueAction& action, bool paused);
  std::vector<QueueRow> queue(const std::string& state_filter = "", int64_t limit = 10000);
  /// Requests ready now (needed, dependencies published, run not paused, no backoff), any fingerprint.
  int64_t ready_count();
  nlohmann::json status();

  // --- leases (leases.cpp) ---
  /// The drone's live lease if it holds one (lost answer), else the best ready request, else nothing.
  Result<std::optional<LeaseRecord>> claim(const DroneIdentity& drone);
  /// Extends a live lease; conflict when the lease is no longer this drone's with this fence.
  Status renew(const std::string& lease_id, const std::string& drone, int64_t fence);
  /// Gives a live lease back without charging anyone; the request is needed again.
  Status release(const std::string& lease_id, const std::string& drone, int64_t fence);
  /// Reclaims leases not renewed within offline_after; returns how many.
  int64_t reclaim_expired();
  /// After a restart: every live lease gets one offline_after of grace.
  void grant_restart_grace();
  std::optional<LeaseRecord> lease(const std::string& lease_id);
  /// Records that a drone asked for work (seen, its fingerprint) for eligibility decisions.
  void touch_drone(const DroneIdentity& drone);

  // --- completion (complete.cpp) ---
  /// A failed build: charged to the package or the drone by its class; answer stored and returned.
  CompleteResponse record_failure(const LeaseRecord& lease, const CompleteRequest& req);
  /// A binary that did not pass intake: retry_upload while retries remain, else the request goes back.
  CompleteResponse record_bad_upload(const LeaseRecord& lease, const std::string& reason);
  /// Whether a received (accepted, not yet indexed) request has a dependent waiting in `needed`.
  bool received_unblocks_waiting();
  /// Whether a binary for this lease's request may still be accepted (not received by another lease).
  bool request_open_for(const LeaseRecord& lease);
  /// Answers `superseded` (stored) when the request was received by another lease.
  CompleteResponse record_superseded(const LeaseRecord& lease);
  /// The next BUILD_ID for a CPV on this binhost (highest ever issued + 1), persisted.
  int64_t allocate_build_id(const std::string& cpv);
  /// Records an accepted binary: installs it, marks the request received, revokes other holders.
  Result<CompleteResponse> record_acceptance(const LeaseRecord& lease, const CompleteRequest& req, Acceptance acc);

  // --- binhost (publish.cpp) ---
  std::vector<BinaryRecord> binaries(bool indexed_only = false);
  /// Marks the binaries with these ids indexed and their requests published (the index is in place).
  int64_t mark_published(const std::vector<int64_t>& binary_ids);
  /// Reconciliation: a recorded binary whose file is missing goes back to needed.
  void forget_binary(int64_t binary_id, const std::string& why);
  /// Stores the full log of a build attempt; returns the build's id.
  std::optional<std::string> build_log_path(int64_t build_id);

  // --- events ---
  std::vector<StoreEvent> events_since(int64_t after_id, int64_t limit = 500);
  /// Called after each commit with the events it wrote (for SSE and long-poll wake-ups).
  void set_event_listener(std::function<void(const std::vector<StoreEvent>&)> listener);
  nlohmann::json metrics();
  Status integrity_check();

  const StoreOptions& options() const { return m_options; }
  Clock& clock() { return *m_clock; }

  class Tx;  // a transaction with its pending events (store_internal.hpp)

 private:
  friend class Tx;
  void notify(std::vector<StoreEvent> events);

  std::shared_ptr<Clock> m_clock;
  StoreOptions m_options;
  std::recursive_mutex m_mutex;  // one connection, one writer: SQLite serialises writers anyway
  Database m_db;
  std::function<void(const std::vector<StoreEvent>&)> m_listener;
  std::mutex m_listener_mutex;
};

}  // namespace swarm::orch
