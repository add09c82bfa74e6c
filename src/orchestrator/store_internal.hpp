#pragma once
// Internals shared by the Store's source files: the transaction with pending events and small helpers.

#include <string>
#include <vector>

#include "common/sqlite.hpp"
#include "orchestrator/store.hpp"

namespace swarm::orch {

/// A store transaction: locks the store, BEGIN IMMEDIATE, collects events; commit() writes and then
/// hands the events to the listener.
class Store::Tx {
 public:
  explicit Tx(Store& s) : m_store(s), m_lock(s.m_mutex), m_tx(s.m_db) {}
  Database& db() { return m_store.m_db; }
  int64_t now_ms() const { return m_store.m_clock->now_unix_ms(); }
  /// Records an event in the `events` table, delivered to the listener after commit.
  void event(const std::string& kind, std::optional<int64_t> request_id, const std::string& atom,
             const std::string& drone, const std::string& detail);
  void commit();

 private:
  Store& m_store;
  std::unique_lock<std::recursive_mutex> m_lock;
  Transaction m_tx;
  std::vector<StoreEvent> m_events;
};

/// backoff_until_ms of a request the operator paused: claims never reach it (store_queue.cpp).
inline constexpr int64_t kPausedUntilMs = int64_t{1} << 62;

/// The schema, one migration step per version.
const std::vector<std::string>& store_migrations();

/// Reads a leases row joined with its request (columns as in kLeaseSelect).
LeaseRecord read_lease(Statement& st);
inline constexpr const char* kLeaseSelect =
    "SELECT l.id, l.request_id, r.run_id, l.drone, l.fence, l.attempt, r.atom, r.cpv, l.state, l.expires_ms, "
    "l.timeout_s, l.upload_retries, u.repo_revision, l.answer FROM leases l JOIN requests r ON r.id = l.request_id "
    "JOIN runs u ON u.id = r.run_id ";

/// Lowers the pending count of `request_id`'s dependents: it is published.
void on_request_published(Store::Tx& tx, int64_t request_id);
/// The blocking rule, the one place it lives: a waiting request (needed or blocked) is blocked while a
/// dependency is cancelled, quarantined or blocked itself, with blocked_by and the reason naming the
/// cancelled or quarantined request at the root; else it is needed. Applied to `request_id` and, as far as
/// anything changes, to its dependents transitively.
void apply_blocking_rule(Store::Tx& tx, int64_t request_id);
/// Sets a request's state with an event, then applies the blocking rule from it.
void set_request_state(Store::Tx& tx, int64_t request_id, const std::string& state, const std::string& reason,
                       const std::string& drone = "");

}  // namespace swarm::orch
