#include "gateway/registry.hpp"

namespace swarm::gateway {

using nlohmann::json;

namespace {

const std::vector<std::string> kSchema = {
    R"sql(
CREATE TABLE drones (
  name TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL DEFAULT '',
  approval TEXT NOT NULL CHECK (approval IN ('pending', 'approved', 'revoked')),
  activity TEXT NOT NULL DEFAULT 'idle',
  report_ip TEXT NOT NULL DEFAULT '',
  source_ip TEXT NOT NULL DEFAULT '',
  cores INTEGER NOT NULL DEFAULT 0,
  ram_mb INTEGER NOT NULL DEFAULT 0,
  version TEXT NOT NULL DEFAULT '',
  binary_sha256 TEXT NOT NULL DEFAULT '',
  fingerprint TEXT NOT NULL DEFAULT '{}',
  fingerprint_hash TEXT NOT NULL DEFAULT '',
  fingerprint_diff TEXT NOT NULL DEFAULT '{}',
  fingerprint_match INTEGER NOT NULL DEFAULT 1,
  ssh_host_key TEXT NOT NULL DEFAULT '',
  control_port INTEGER NOT NULL DEFAULT 0,
  orchestrator TEXT NOT NULL DEFAULT '',
  route_message TEXT NOT NULL DEFAULT '',
  first_seen_ms INTEGER NOT NULL DEFAULT 0,
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  atom TEXT,
  lease_id TEXT,
  load REAL NOT NULL DEFAULT 0,
  disk_free_mb INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
  name TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  drone TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_drone ON events (drone, id);
)sql"};

constexpr const char* kDroneColumns =
    "name, token_hash, approval, activity, report_ip, source_ip, cores, ram_mb, version, binary_sha256, "
    "fingerprint, fingerprint_hash, fingerprint_diff, fingerprint_match, ssh_host_key, control_port, orchestrator, "
    "route_message, first_seen_ms, last_seen_ms, atom, lease_id, load, disk_free_mb";

json parse_or_empty(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

json GatewayEvent::to_json() const {
  return {{"id", id}, {"ts_ms", ts_ms}, {"kind", kind}, {"drone", drone}, {"data", data}};
}

Result<std::unique_ptr<Registry>> Registry::open(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return db.error();
  if (auto st = migrate(*db, kSchema); !st) return st.error();
  return std::unique_ptr<Registry>(new Registry(std::move(*db)));
}

DroneRecord Registry::read_drone(Statement& st) {
  DroneRecord d;
  d.name = st.column_text(0);
  d.token_hash = st.column_text(1);
  d.approval = st.column_text(2);
  d.activity = st.column_text(3);
  d.report_ip = st.column_text(4);
  d.source_ip = st.column_text(5);
  d.cores = st.column_int64(6);
  d.ram_mb = st.column_int64(7);
  d.version = st.column_text(8);
  d.binary_sha256 = st.column_text(9);
  d.fingerprint = parse_or_empty(st.column_text(10));
  d.fingerprint_hash = st.column_text(11);
  d.fingerprint_diff = parse_or_empty(st.column_text(12));
  d.fingerprint_match = st.column_int64(13) != 0;
  d.ssh_host_key = st.column_text(14);
  d.control_port = st.column_int64(15);
  d.orchestrator = st.column_text(16);
  d.route_message = st.column_text(17);
  d.first_seen_ms = st.column_int64(18);
  d.last_seen_ms = st.column_int64(19);
  d.atom = st.column_optional_text(20);
  d.lease_id = st.column_optional_text(21);
  d.load = st.column_double(22);
  d.disk_free_mb = st.column_int64(23);
  return d;
}

std::optional<DroneRecord> Registry::drone(const std::string& name) {
  std::lock_guard lock(m_mutex);
  static const std::string sql = std::string("SELECT ") + kDroneColumns + " FROM drones WHERE name = ?";
  auto& st = m_db.cached(sql.c_str());
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  auto d = read_drone(st);
  st.reset();
  return d;
}

std::vector<DroneRecord> Registry::drones() {
  std::lock_guard lock(m_mutex);
  static const std::string sql = std::string("SELECT ") + kDroneColumns + " FROM drones ORDER BY name";
  auto& st = m_db.cached(sql.c_str());
  std::vector<DroneRecord> out;
  while (st.step()) out.push_back(read_drone(st));
  return out;
}

void Registry::save_drone(const DroneRecord& d) {
  std::lock_guard lock(m_mutex);
  static const std::string sql = std::string("INSERT OR REPLACE INTO drones (") + kDroneColumns +
                                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  auto& st = m_db.cached(sql.c_str());
  st.bind(1, d.name).bind(2, d.token_hash).bind(3, d.approval).bind(4, d.activity).bind(5, d.report_ip);
  st.bind(6, d.source_ip).bind(7, d.cores).bind(8, d.ram_mb).bind(9, d.version).bind(10, d.binary_sha256);
  st.bind(11, dump(d.fingerprint)).bind(12, d.fingerprint_hash).bind(13, dump(d.fingerprint_diff));
  st.bind(14, d.fingerprint_match).bind(15, d.ssh_host_key).bind(16, d.control_port).bind(17, d.orchestrator);
  st.bind(18, d.route_message).bind(19, d.first_seen_ms).bind(20, d.last_seen_ms).bind(21, d.atom);
  st.bind(22, d.lease_id).bind(23, d.load).bind(24, d.disk_free_mb);
  st.run();
}

bool Registry::apply_heartbeat(const std::string& name, const HeartbeatUpdate& u) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached(
      "UPDATE drones SET activity = ?, atom = ?, lease_id = ?, load = ?, disk_free_mb = ?, source_ip = ?, "
      "orchestrator = ?, route_message = ?, fingerprint_match = ?, fingerprint_diff = ?, last_seen_ms = ? "
      "WHERE name = ?");
  st.bind(1, u.activity).bind(2, u.atom).bind(3, u.lease_id).bind(4, u.load).bind(5, u.disk_free_mb);
  st.bind(6, u.source_ip).bind(7, u.orchestrator).bind(8, u.route_message).bind(9, u.fingerprint_match);
  st.bind(10, dump(u.fingerprint_diff)).bind(11, u.now_ms).bind(12, name);
  return st.run() > 0;
}

std::map<std::string, int64_t> Registry::assigned_counts(int64_t min_last_seen_ms) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached(
      "SELECT orchestrator, COUNT(*) FROM drones WHERE approval = 'approved' AND orchestrator != '' AND last_seen_ms >= ? "
      "GROUP BY orchestrator");
  st.bind(1, min_last_seen_ms);
  std::map<std::string, int64_t> out;
  while (st.step()) out[st.column_text(0)] = st.column_int64(1);
  return out;
}

bool Registry::set_approval(const std::string& name, const std::string& approval) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached("UPDATE drones SET approval = ? WHERE name = ?");
  st.bind(1, approval).bind(2, name);
  return st.run() > 0;
}

std::optional<TokenRecord> Registry::token(const std::string& name) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached("SELECT name, token_hash, created_ms, revoked FROM tokens WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  TokenRecord t{st.column_text(0), st.column_text(1), st.column_int64(2), st.column_int64(3) != 0};
  st.reset();
  return t;
}

void Registry::set_token(const std::string& name, const std::string& hash, int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  Transaction tx(m_db);
  m_db.cached("INSERT OR REPLACE INTO tokens (name, token_hash, created_ms, revoked) VALUES (?, ?, ?, 0)")
      .bind(1, name)
      .bind(2, hash)
      .bind(3, now_ms)
      .run();
  m_db.cached("UPDATE drones SET token_hash = ? WHERE name = ?").bind(1, hash).bind(2, name).run();
  tx.commit();
}

bool Registry::seed_token(const std::string& name, const std::string& hash, int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  Transaction tx(m_db);
  auto& sel = m_db.cached("SELECT token_hash FROM tokens WHERE name = ?");
  sel.bind(1, name);
  std::optional<std::string> existing;
  if (sel.step()) existing = sel.column_text(0);
  sel.reset();
  if (existing && *existing == hash) return false;
  if (existing) {
    m_db.cached("UPDATE tokens SET token_hash = ?, created_ms = ? WHERE name = ?").bind(1, hash).bind(2, now_ms).bind(3, name).run();
  } else {
    m_db.cached("INSERT INTO tokens (name, token_hash, created_ms, revoked) VALUES (?, ?, ?, 0)")
        .bind(1, name)
        .bind(2, hash)
        .bind(3, now_ms)
        .run();
  }
  m_db.cached("UPDATE drones SET token_hash = ? WHERE name = ?").bind(1, hash).bind(2, name).run();
  tx.commit();
  return true;
}

bool Registry::set_token_revoked(const std::string& name, bool revoked) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached("UPDATE tokens SET revoked = ? WHERE name = ?");
  st.bind(1, revoked).bind(2, name);
  return st.run() > 0;
}

GatewayEvent Registry::add_event(int64_t ts_ms, const std::string& kind, const std::string& drone, const json& data) {
  std::lock_guard lock(m_mutex);
  m_db.cached("INSERT INTO events (ts_ms, kind, drone, data) VALUES (?, ?, ?, ?)")
      .bind(1, ts_ms)
      .bind(2, kind)
      .bind(3, drone)
      .bind(4, dump(data))
      .run();
  return GatewayEvent{m_db.last_insert_rowid(), ts_ms, kind, drone, data};
}

std::vector<GatewayEvent> Registry::events(int64_t limit, const std::string& drone) {
  std::lock_guard lock(m_mutex);
  auto& st = drone.empty()
                 ? m_db.cached("SELECT id, ts_ms, kind, drone, data FROM events ORDER BY id DESC LIMIT ?")
                 : m_db.cached("SELECT id, ts_ms, kind, drone, data FROM events WHERE drone = ? ORDER BY id DESC LIMIT ?");
  if (drone.empty()) {
    st.bind(1, limit);
  } else {
    st.bind(1, drone).bind(2, limit);
  }
  std::vector<GatewayEvent> out;
  while (st.step())
    out.push_back(GatewayEvent{st.column_int64(0), st.column_int64(1), st.column_text(2), st.column_text(3),
                               parse_or_empty(st.column_text(4))});
  return {out.rbegin(), out.rend()};
}

void Registry::prune_events(int64_t keep) {
  std::lock_guard lock(m_mutex);
  m_db.cached("DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)").bind(1, keep).run();
}

}  // namespace swarm::gateway
