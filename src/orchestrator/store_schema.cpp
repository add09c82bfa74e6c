#include "orchestrator/store_internal.hpp"

namespace swarm::orch {

const std::vector<std::string>& store_migrations() {
  static const std::vector<std::string> steps = {
      R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  fingerprint TEXT NOT NULL DEFAULT '{}',
  fingerprint_hash TEXT NOT NULL DEFAULT '',
  repo_revision TEXT NOT NULL DEFAULT '',
  paused INTEGER NOT NULL DEFAULT 0,
  cycles_broken TEXT NOT NULL DEFAULT '[]',
  completed_ms INTEGER
);
CREATE TABLE requests (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  cpv TEXT NOT NULL,
  atom TEXT NOT NULL,
  pn TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('needed','leased','received','published','quarantined','blocked','cancelled','withdrawn')),
  priority INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL,
  duration_s INTEGER NOT NULL,
  critical_path_s REAL NOT NULL DEFAULT 0,
  rebuild INTEGER NOT NULL DEFAULT 0,
  deps_pending INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  backoff_until_ms INTEGER NOT NULL DEFAULT 0,
  failed_drones TEXT NOT NULL DEFAULT '[]',
  reason TEXT,
  blocked_by INTEGER,
  last_drone TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  UNIQUE (cpv, run_id)
);
CREATE INDEX requests_ready ON requests(state, deps_pending, priority DESC, critical_path_s DESC, seq);
CREATE INDEX requests_cpv ON requests(cpv, state);
CREATE TABLE dependencies (
  request_id INTEGER NOT NULL REFERENCES requests(id),
  depends_on INTEGER NOT NULL REFERENCES requests(id),
  PRIMARY KEY (request_id, depends_on)
);
CREATE INDEX dependencies_rev ON dependencies(depends_on);
CREATE TABLE leases (
  id TEXT PRIMARY KEY,
  request_id INTEGER NOT NULL REFERENCES requests(id),
  drone TEXT NOT NULL,
  fence INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('live','completed','reclaimed','released','revoked')),
  issued_ms INTEGER NOT NULL,
  renewed_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  timeout_s INTEGER NOT NULL,
  upload_retries INTEGER NOT NULL DEFAULT 0,
  answer TEXT
);
CREATE INDEX leases_live ON leases(state, expires_ms);
CREATE INDEX leases_drone ON leases(drone, state);
CREATE INDEX leases_request ON leases(request_id);
CREATE TABLE builds (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL REFERENCES requests(id),
  lease_id TEXT NOT NULL,
  drone TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  result TEXT,
  exit_code INTEGER,
  failure_class TEXT,
  charged_to TEXT,
  sha256 TEXT,
  size INTEGER,
  duration_s REAL,
  max_rss_mb INTEGER,
  log_path TEXT,
  log_tail TEXT
);
CREATE INDEX builds_request ON builds(request_id);
CREATE TABLE binaries (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL REFERENCES requests(id),
  cpv TEXT NOT NULL,
  build_id INTEGER NOT NULL,
  path TEXT NOT NULL UNIQUE,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  indexed INTEGER NOT NULL DEFAULT 0,
  withdrawn INTEGER NOT NULL DEFAULT 0,
  UNIQUE (cpv, build_id)
);
CREATE TABLE build_ids (cpv TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE drones (
  name TEXT PRIMARY KEY,
  fingerprint_hash TEXT NOT NULL DEFAULT '',
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  fail_streak INTEGER NOT NULL DEFAULT 0,
  grounded_until_ms INTEGER NOT NULL DEFAULT 0,
  trial INTEGER NOT NULL DEFAULT 0,
  upload_impaired INTEGER NOT NULL DEFAULT 0,
  builds_ok INTEGER NOT NULL DEFAULT 0,
  speed REAL NOT NULL DEFAULT 1.0
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  ts_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  request_id INTEGER,
  atom TEXT NOT NULL DEFAULT '',
  drone TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
)sql",
  };
  return steps;
}

}  // namespace swarm::orch
