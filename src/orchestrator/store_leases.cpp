// Store: claims, renewals, releases and reclaims of leases.
#include "common/crypto.hpp"
#include "orchestrator/store_internal.hpp"

namespace swarm::orch {

using nlohmann::json;

LeaseRecord read_lease(Statement& st) {
  LeaseRecord l;
  l.lease_id = st.column_text(0);
  l.request_id = st.column_int64(1);
  l.run_id = st.column_int64(2);
  l.drone = st.column_text(3);
  l.fence = st.column_int64(4);
  l.attempt = st.column_int64(5);
  l.atom = st.column_text(6);
  l.cpv = st.column_text(7);
  l.state = st.column_text(8);
  l.expires_ms = st.column_int64(9);
  l.timeout_s = st.column_int64(10);
  l.upload_retries = st.column_int64(11);
  l.repo_revision = st.column_text(12);
  l.answer = st.column_optional_text(13);
  return l;
}

namespace {

// Records that the drone was seen; writes only when something changed or a few seconds passed, so
// that an idle long-poll costs no fsync.
void upsert_drone(Database& db, const DroneIdentity& d, int64_t now) {
  {
    auto& st = db.cached("SELECT fingerprint_hash, last_seen_ms FROM drones WHERE name = ?");
    st.bind(1, d.name);
    bool fresh = st.step() && st.column_text(0) == d.fingerprint_hash && st.column_int64(1) > now - 5000;
    st.reset();
    if (fresh) return;
  }
  db.cached("INSERT INTO drones(name, fingerprint_hash, last_seen_ms) VALUES(?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET fingerprint_hash = excluded.fingerprint_hash, last_seen_ms = excluded.last_seen_ms")
      .bind(1, d.name)
      .bind(2, d.fingerprint_hash)
      .bind(3, now)
      .run();
}

bool contains(const std::string& json_array, const std::string& name) {
  auto j = json::parse(json_array, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& e : j)
    if (e.is_string() && e.get<std::string>() == name) return true;
  return false;
}

// Whether a drone other than the ones in `failed` could take this request now.
bool other_eligible_drone(Database& db, const std::string& failed, const std::string& fp, int64_t now, int64_t seen_after) {
  auto& st = db.cached(
      "SELECT name FROM drones WHERE last_seen_ms >= ? AND grounded_until_ms <= ? AND (? = '' OR fingerprint_hash = ?)");
  st.bind(1, seen_after).bind(2, now).bind(3, fp).bind(4, fp);
  bool found = false;
  while (st.step()) {
    if (!contains(failed, st.column_text(0))) {
      found = true;
      break;
    }
  }
  st.reset();
  return found;
}

}  // namespace

void Store::touch_drone(const DroneIdentity& drone) {
  std::lock_guard lock(m_mutex);
  upsert_drone(m_db, drone, m_clock->now_unix_ms());
}

std::optional<LeaseRecord> Store::lease(const std::string& lease_id) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached((std::string(kLeaseSelect) + "WHERE l.id = ?").c_str());
  st.bind(1, lease_id);
  if (!st.step()) return std::nullopt;
  auto l = read_lease(st);
  st.reset();
  return l;
}

Result<std::optional<LeaseRecord>> Store::claim(const DroneIdentity& drone) {
  Tx tx(*this);
  auto& db = tx.db();
  int64_t now = tx.now_ms();
  upsert_drone(db, drone, now);
  {
    // Idempotent: a drone holding a live lease gets it back (its answer was lost).
    auto& st = db.cached((std::string(kLeaseSelect) + "WHERE l.drone = ? AND l.state = 'live' LIMIT 1").c_str());
    st.bind(1, drone.name);
    if (st.step()) {
      auto l = read_lease(st);
      st.reset();
      tx.commit();
      return std::optional<LeaseRecord>(l);
    }
  }
  // A grounded drone gets nothing until its cool-off ends; then, on trial, one job at a time (the live
  // lease above) until a success clears the trial or a failure grounds it again (store_complete.cpp).
  int64_t grounded_until = 0;
  bool trial = false;
  {
    auto& st = db.cached("SELECT grounded_until_ms, trial FROM drones WHERE name = ?");
    st.bind(1, drone.name);
    if (st.step()) {
      grounded_until = st.column_int64(0);
      trial = st.column_int64(1) != 0;
    }
    st.reset();
  }
  if (grounded_until > now) {
    tx.commit();
    return std::optional<LeaseRecord>();
  }
  int64_t seen_after = now - m_options.offline_after_ms;
  std::optional<int64_t> chosen;
  std::string chosen_fp;
  {
    auto& st = db.cached(
        "SELECT r.id, r.failed_drones, u.fingerprint_hash FROM requests r JOIN runs u ON u.id = r.run_id "
        "WHERE r.state = 'needed' AND r.deps_pending = 0 AND u.paused = 0 AND r.backoff_until_ms <= ? "
        "AND (u.fingerprint_hash = '' OR u.fingerprint_hash = ?) "
        "ORDER BY r.priority DESC, r.critical_path_s DESC, r.seq LIMIT 256");
    st.bind(1, now).bind(2, drone.fingerprint_hash);
    std::vector<std::tuple<int64_t, std::string, std::string>> candidates;
    while (st.step()) candidates.emplace_back(st.column_int64(0), st.column_text(1), st.column_text(2));
    st.reset();
    for (const auto& [id, failed, fp] : candidates) {
      // A drone that failed this request gets it again only when no other eligible drone exists.
      if (contains(failed, drone.name) && other_eligible_drone(db, failed, fp, now, seen_after)) continue;
      chosen = id;
      chosen_fp = fp;
      break;
    }
  }
  if (!chosen) {
    tx.commit();
    return std::optional<LeaseRecord>();
  }
  // The guarded update: only a request still `needed` becomes leased, so no request has two holders.
  auto& up = db.cached(
      "UPDATE requests SET state = 'leased', last_drone = ?, reason = NULL, updated_ms = ? WHERE id = ? AND state = 'needed' "
      "RETURNING duration_s, atom");
  up.bind(1, drone.name).bind(2, now).bind(3, *chosen);
  if (!up.step()) {
    up.reset();
    tx.commit();
    return std::optional<LeaseRecord>();
  }
  int64_t duration = up.column_int64(0);
  std::string atom = up.column_text(1);
  up.reset();
  int64_t fence = 0;
  {
    auto& f = db.cached("SELECT COALESCE(MAX(fence), 0) + 1 FROM leases WHERE request_id = ?");
    f.bind(1, *chosen);
    f.step();
    fence = f.column_int64(0);
    f.reset();
  }
  int64_t timeout_s = std::max<int64_t>(m_options.min_timeout_s, duration * 3);
  std::string id = random_token(12);
  db.cached("INSERT INTO leases(id, request_id, drone, fence, attempt, state, issued_ms, renewed_ms, expires_ms, timeout_s) "
            "VALUES(?,?,?,?,?, 'live', ?,?,?,?)")
      .bind(1, id)
      .bind(2, *chosen)
      .bind(3, drone.name)
      .bind(4, fence)
      .bind(5, fence)
      .bind(6, now)
      .bind(7, now)
      .bind(8, now + m_options.offline_after_ms)
      .bind(9, timeout_s)
      .run();
  tx.event("leased", *chosen, atom, drone.name,
           "lease " + id + " fence " + std::to_string(fence) + (trial ? " (trial)" : ""));
  auto& st = db.cached((std::string(kLeaseSelect) + "WHERE l.id = ?").c_str());
  st.bind(1, id);
  st.step();
  auto lease = read_lease(st);
  st.reset();
  tx.commit();
  return std::optional<LeaseRecord>(lease);
}

Status Store::renew(const std::string& lease_id, const std::string& drone, int64_t fence) {
  Tx tx(*this);
  int64_t now = tx.now_ms();
  int n = tx.db()
              .cached("UPDATE leases SET renewed_ms = ?, expires_ms = MAX(expires_ms, ?) WHERE id = ? AND drone = ? AND "
                      "fence = ? AND state = 'live'")
              .bind(1, now)
              .bind(2, now + m_options.offline_after_ms)
              .bind(3, lease_id)
              .bind(4, drone)
              .bind(5, fence)
              .run();
  tx.db().cached("UPDATE drones SET last_seen_ms = ? WHERE name = ?").bind(1, now).bind(2, drone).run();
  tx.commit();
  if (n == 0) return make_error(ErrorKind::conflict, "lease " + lease_id + " is no longer held by " + drone);
  return {};
}

Status Store::release(const std::string& lease_id, const std::string& drone, int64_t fence) {
  Tx tx(*this);
  auto& st = tx.db().cached(
      "UPDATE leases SET state = 'released' WHERE id = ? AND drone = ? AND fence = ? AND state = 'live' RETURNING request_id");
  st.bind(1, lease_id).bind(2, drone).bind(3, fence);
  if (!st.step()) {
    st.reset();
    return make_error(ErrorKind::conflict, "lease " + lease_id + " is no longer held by " + drone);
  }
  int64_t request_id = st.column_int64(0);
  st.reset();
  set_request_state(tx, request_id, "needed", "released by " + drone, drone);
  tx.commit();
  return {};
}

int64_t Store::reclaim_expired() {
  Tx tx(*this);
  int64_t now = tx.now_ms();
  std::vector<std::pair<std::string, int64_t>> expired;
  std::vector<std::string> drones;
  {
    auto& st = tx.db().cached("SELECT id, request_id, drone FROM leases WHERE state = 'live' AND expires_ms < ?");
    st.bind(1, now);
    while (st.step()) {
      expired.emplace_back(st.column_text(0), st.column_int64(1));
      drones.push_back(st.column_text(2));
    }
  }
  for (size_t i = 0; i < expired.size(); ++i) {
    const auto& [id, request_id] = expired[i];
    tx.db().cached("UPDATE leases SET state = 'reclaimed' WHERE id = ?").bind(1, id).run();
    auto& st = tx.db().cached("SELECT state FROM requests WHERE id = ?");
    st.bind(1, request_id);
    std::string state = st.step() ? st.column_text(0) : "";
    st.reset();
    if (state == "leased")
      set_request_state(tx, request_id, "needed", "lease " + id + " of " + drones[i] + " not renewed: reclaimed", drones[i]);
    tx.event("reclaimed", request_id, "", drones[i], "lease " + id);
  }
  tx.commit();
  return static_cast<int64_t>(expired.size());
}

void Store::grant_restart_grace() {
  Tx tx(*this);
  int64_t until = tx.now_ms() + m_options.offline_after_ms;
  int n = tx.db().cached("UPDATE leases SET expires_ms = MAX(expires_ms, ?) WHERE state = 'live'").bind(1, until).run();
  if (n > 0) tx.event("grace", std::nullopt, "", "", std::to_string(n) + " live leases kept after restart");
  tx.commit();
}

}  // namespace swarm::orch
