#pragma once
// Registry: the gateway's SQLite database (<data-dir>/gateway.db, WAL): drones, tokens and events.
// Thread-safe: one connection behind a mutex; every write touches only the rows it names, so
// heartbeats from many drones never overwrite one another.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/sqlite.hpp"

namespace swarm::gateway {

/// One drone's row. `activity` is what the drone last reported; offline is computed by readers.
struct DroneRecord {
  std::string name;
  std::string token_hash;           // SHA-256 hex of the token pinned (approved) or last presented (pending)
  std::string approval = "pending";  // pending, approved, revoked
  std::string activity = "idle";     // idle, building, uploading, draining, grounded
  std::string report_ip;             // the address the drone says it has (used for control calls)
  std::string source_ip;             // the address its packets came from
  int64_t cores = 0;
  int64_t ram_mb = 0;
  std::string version;
  std::string binary_sha256;
  nlohmann::json fingerprint = nlohmann::json::object();
  std::string fingerprint_hash;
  nlohmann::json fingerprint_diff = nlohmann::json::object();  // KEY -> {drone, reference}
  bool fingerprint_match = true;     // false: no orchestrator with waiting work accepts its fingerprint
  std::string ssh_host_key;          // pinned at approval
  int64_t control_port = 0;
  std::string orchestrator;          // base URL it was sent to, empty when none
  std::string route_message;         // why it has no orchestrator, for status
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  std::optional<std::string> atom;
  std::optional<std::string> lease_id;
  double load = 0;
  int64_t disk_free_mb = 0;
};

struct TokenRecord {
  std::string name;
  std::string token_hash;
  int64_t created_ms = 0;
  bool revoked = false;
};

/// The fields one heartbeat changes on its drone's row.
struct HeartbeatUpdate {
  std::string activity;
  std::optional<std::string> atom;
  std::optional<std::string> lease_id;
  double load = 0;
  int64_t disk_free_mb = 0;
  std::string source_ip;
  std::string orchestrator;
  std::string route_message;
  bool fingerprint_match = true;
  nlohmann::json fingerprint_diff = nlohmann::json::object();
  int64_t now_ms = 0;
};

struct GatewayEvent {
  int64_t id = 0;
  int64_t ts_ms = 0;
  std::string kind;
  std::string drone;
  nlohmann::json data = nlohmann::json::object();
  nlohmann::json to_json() const;
};

class Registry {
 public:
  /// Opens (creating) and migrates the database at `path` (":memory:" allowed); io/conflict on failure.
  static Result<std::unique_ptr<Registry>> open(const std::string& path);

  std::optional<DroneRecord> drone(const std::string& name);
  /// Every drone, by name.
  std::vector<DroneRecord> drones();
  /// Inserts or replaces the drone's whole row (registration, approval).
  void save_drone(const DroneRecord& record);
  /// Applies one heartbeat with a single UPDATE of that drone's row; false when there is no such row.
  bool apply_heartbeat(const std::string& name, const HeartbeatUpdate& update);
  /// Approved drones seen since `min_last_seen_ms`, per orchestrator URL (empty URLs left out).
  std::map<std::string, int64_t> assigned_counts(int64_t min_last_seen_ms);
  /// Sets the approval of an existing drone; false when there is no such drone.
  bool set_approval(const std::string& name, const std::string& approval);

  std::optional<TokenRecord> token(const std::string& name);
  /// Stores `hash` as the name's token (not revoked) and re-pins an existing drone row to it.
  void set_token(const std::string& name, const std::string& hash, int64_t now_ms);
  /// Pre-seeds a token: inserted when new; a changed hash replaces the old one (and re-pins the
  /// drone) but keeps a revocation. Returns whether anything changed.
  bool seed_token(const std::string& name, const std::string& hash, int64_t now_ms);
  /// Marks the name's token revoked (or not); false when the name has no token.
  bool set_token_revoked(const std::string& name, bool revoked);

  /// Appends an event and returns it with its id.
  GatewayEvent add_event(int64_t ts_ms, const std::string& kind, const std::string& drone, const nlohmann::json& data);
  /// The newest `limit` events (of one drone when `drone` is set), oldest first.
  std::vector<GatewayEvent> events(int64_t limit, const std::string& drone = "");
  /// Keeps only the newest `keep` events.
  void prune_events(int64_t keep);

 private:
  explicit Registry(Database db) : m_db(std::move(db)) {}
  DroneRecord read_drone(Statement& st);

  std::mutex m_mutex;
  Database m_db;
};

}  // namespace swarm::gateway
