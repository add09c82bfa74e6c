// Store: completions: failures and the circuit breaker, bad uploads, acceptance of a binary.
#include <algorithm>

#include "orchestrator/store_internal.hpp"

namespace swarm::orch {

using nlohmann::json;

namespace {

bool charged_to_drone(const std::string& failure_class) {
  return failure_class == "oom" || failure_class == "disk" || failure_class == "sync" || failure_class == "lost_tree" ||
         failure_class == "no_binary";
}

void store_answer(Database& db, const std::string& lease_id, const CompleteResponse& answer) {
  db.cached("UPDATE leases SET answer = ? WHERE id = ?").bind(1, answer.to_json().dump()).bind(2, lease_id).run();
}

int64_t insert_build(Database& db, const LeaseRecord& lease, const CompleteRequest& req, int64_t now,
                     const std::string& charged_to) {
  db.cached("INSERT INTO builds(request_id, lease_id, drone, started_ms, finished_ms, result, exit_code, failure_class, "
            "charged_to, sha256, size, duration_s, max_rss_mb, log_path, log_tail) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind(1, lease.request_id)
      .bind(2, lease.lease_id)
      .bind(3, lease.drone)
      .bind(4, now - static_cast<int64_t>(req.duration_s * 1000))
      .bind(5, now)
      .bind(6, req.result)
      .bind(7, req.exit_code)
      .bind(8, req.failure_class)
      .bind(9, charged_to)
      .bind(10, req.sha256)
      .bind(11, req.size)
      .bind(12, req.duration_s)
      .bind(13, req.max_rss_mb)
      .bind(14, req.log_path)
      .bind(15, req.log_tail.size() > 65536 ? req.log_tail.substr(req.log_tail.size() - 65536) : req.log_tail)
      .run();
  return db.last_insert_rowid();
}

// Counts one more failure in the drone's streak; returns why when it grounds the drone (the limit reached,
// or any failure while on trial after a cool-off), else nothing.
std::optional<std::string> breaker_trips(Database& db, const std::string& drone, const StoreOptions& o) {
  auto& st = db.cached("UPDATE drones SET fail_streak = fail_streak + 1 WHERE name = ? RETURNING fail_streak, trial");
  st.bind(1, drone);
  std::optional<int64_t> streak;
  bool trial = false;
  if (st.step()) {
    streak = st.column_int64(0);
    trial = st.column_int64(1) != 0;
  }
  st.reset();
  if (!streak) return std::nullopt;
  if (trial) return std::string("its trial job failed");
  if (*streak < o.ground_after) return std::nullopt;
  return std::to_string(*streak) + " consecutive failures";
}

// Takes this drone's streak off the packages: per package exactly the attempts its streak charged, so what
// other drones charged stays; a quarantine that no longer holds is lifted.
void uncharge_streak(Store::Tx& tx, const std::string& drone, const StoreOptions& o) {
  auto& db = tx.db();
  // Every grounding un-charges, so the package-charged builds since the drone's last success are this streak's.
  std::vector<std::pair<int64_t, int64_t>> charged;  // request id, attempts this streak charged it
  {
    auto& b = db.cached(
        "SELECT request_id, COUNT(*) FROM builds WHERE drone = ? AND charged_to = 'package' AND id > "
        "COALESCE((SELECT MAX(id) FROM builds WHERE drone = ? AND result = 'built'), 0) GROUP BY request_id");
    b.bind(1, drone).bind(2, drone);
    while (b.step()) charged.emplace_back(b.column_int64(0), b.column_int64(1));
  }
  db.cached(
        "UPDATE builds SET charged_to = 'uncharged' WHERE drone = ? AND charged_to = 'package' AND id > "
        "COALESCE((SELECT MAX(id) FROM builds WHERE drone = ? AND result = 'built'), 0)")
      .bind(1, drone)
      .bind(2, drone)
      .run();
  for (const auto& [request_id, count] : charged) {
    auto& r = db.cached("SELECT attempts, failed_drones, state FROM requests WHERE id = ?");
    r.bind(1, request_id);
    if (!r.step()) {
      r.reset();
      continue;
    }
    int64_t attempts = std::max<int64_t>(r.column_int64(0) - count, 0);
    auto failed = json::parse(r.column_text(1), nullptr, false);
    std::string state = r.column_text(2);
    r.reset();
    // The drone stays among the failed ones while an earlier, still charged failure of it remains.
    auto& still =
        db.cached("SELECT COUNT(*) FROM builds WHERE drone = ? AND request_id = ? AND charged_to = 'package'");
    still.bind(1, drone).bind(2, request_id);
    bool still_charged = still.step() && still.column_int64(0) > 0;
    still.reset();
    json kept = json::array();
    if (failed.is_array())
      for (const auto& f : failed)
        if (still_charged || f != drone) kept.push_back(f);
    // Its failure backoff ends; a longer one (an operator's pause) stays.
    db.cached("UPDATE requests SET attempts = ?, failed_drones = ?, backoff_until_ms = CASE WHEN backoff_until_ms <= ? "
              "THEN 0 ELSE backoff_until_ms END WHERE id = ?")
        .bind(1, attempts)
        .bind(2, kept.dump())
        .bind(3, tx.now_ms() + o.backoff_max_ms)
        .bind(4, request_id)
        .run();
    if (state == "quarantined" && attempts < o.max_attempts &&
        static_cast<int64_t>(kept.size()) < o.quarantine_after_drones) {
      set_request_state(tx, request_id, "needed", "un-charged: drone " + drone + " was grounded");
    }
  }
}

// Grounds the drone for a cool-off, then on trial: its leases go back, its streak's failures are un-charged.
void ground_drone(Store::Tx& tx, const std::string& drone, const std::string& why, const StoreOptions& o) {
  auto& db = tx.db();
  db.cached("UPDATE drones SET grounded_until_ms = ?, fail_streak = 0, trial = 1 WHERE name = ?")
      .bind(1, tx.now_ms() + o.cool_off_ms)
      .bind(2, drone)
      .run();
  uncharge_streak(tx, drone, o);
  // Its leases go back at once.
  std::vector<std::pair<std::string, int64_t>> live;
  {
    auto& l = db.cached("SELECT id, request_id FROM leases WHERE drone = ? AND state = 'live'");
    l.bind(1, drone);
    while (l.step()) live.emplace_back(l.column_text(0), l.column_int64(1));
  }
  for (const auto& [id, request_id] : live) {
    db.cached("UPDATE leases SET state = 'revoked' WHERE id = ?").bind(1, id).run();
    set_request_state(tx, request_id, "needed", "drone " + drone + " grounded", drone);
  }
  tx.event("grounded", std::nullopt, "", drone,
           why + "; cool-off " + std::to_string(o.cool_off_ms / 1000) + " s, then one trial job");
}

}  // namespace

CompleteResponse Store::record_failure(const LeaseRecord& lease, const CompleteRequest& req) {
  Tx tx(*this);
  auto& db = tx.db();
  int64_t now = tx.now_ms();
  std::string cls = req.failure_class.value_or("build");
  CompleteResponse answer;
  answer.accepted = false;
  if (lease.state != "live") {
    insert_build(db, lease, req, now, "none");
    answer.reason = "lease no longer live (" + lease.state + "); failure recorded";
    store_answer(db, lease.lease_id, answer);
    tx.commit();
    return answer;
  }
  db.cached("UPDATE leases SET state = 'completed' WHERE id = ?").bind(1, lease.lease_id).run();
  if (cls == "delivery") {
    // Built, but this orchestrator kept failing to take the binary in: nobody's fault to count.
    insert_build(db, lease, req, now, "none");
    tx.event("failed", lease.request_id, lease.atom, lease.drone, cls);
    set_request_state(tx, lease.request_id, "needed", "the binary could not be delivered (delivery)", lease.drone);
    answer.reason = "failure recorded";
    store_answer(db, lease.lease_id, answer);
    tx.commit();
    return answer;
  }
  bool drone_fault = charged_to_drone(cls);
  auto grounding = breaker_trips(db, lease.drone, m_options);
  // The failure that grounds the drone is never charged to the package, so it is not un-charged either.
  insert_build(db, lease, req, now, drone_fault ? "drone" : grounding ? "uncharged" : "package");
  tx.event("failed", lease.request_id, lease.atom, lease.drone, cls + ", exit " + std::to_string(req.exit_code));
  if (grounding) ground_drone(tx, lease.drone, *grounding, m_options);
  if (grounding || drone_fault) {
    set_request_state(tx, lease.request_id, "needed", "failure charged to drone " + lease.drone + " (" + cls + ")", lease.drone);
  } else {
    auto& st = db.cached("SELECT attempts, failed_drones FROM requests WHERE id = ?");
    st.bind(1, lease.request_id);
    st.step();
    int64_t attempts = st.column_int64(0) + 1;
    auto failed = json::parse(st.column_text(1), nullptr, false);
    st.reset();
    if (!failed.is_array()) failed = json::array();
    if (std::find(failed.begin(), failed.end(), lease.drone) == failed.end()) failed.push_back(lease.drone);
    int64_t backoff = std::min(m_options.backoff_max_ms, m_options.backoff_base_ms << std::min<int64_t>(attempts - 1, 20));
    db.cached("UPDATE requests SET attempts = ?, failed_drones = ?, backoff_until_ms = ? WHERE id = ?")
        .bind(1, attempts)
        .bind(2, failed.dump())
        .bind(3, now + backoff)
        .bind(4, lease.request_id)
        .run();
    std::string last_line = req.log_tail.substr(req.log_tail.rfind('\n', req.log_tail.size() >= 2 ? req.log_tail.size() - 2 : 0) + 1);
    if (attempts >= m_options.max_attempts || static_cast<int64_t>(failed.size()) >= m_options.quarantine_after_drones) {
      std::string reason = "failed " + std::to_string(attempts) + " times on " + std::to_string(failed.size()) +
                           " drones (" + cls + "): " + last_line.substr(0, 200);
      set_request_state(tx, lease.request_id, "quarantined", reason, lease.drone);  // blocks its dependents
    } else {
      set_request_state(tx, lease.request_id, "needed", "attempt " + std::to_string(attempts) + " failed (" + cls + ")",
                        lease.drone);
    }
  }
  answer.reason = "failure recorded";
  store_answer(db, lease.lease_id, answer);
  tx.commit();
  return answer;
}

CompleteResponse Store::record_bad_upload(const LeaseRecord& lease, const std::string& reason) {
  Tx tx(*this);
  auto& db = tx.db();
  auto& st = db.cached("UPDATE leases SET upload_retries = upload_retries + 1 WHERE id = ? RETURNING upload_retries");
  st.bind(1, lease.lease_id);
  int64_t retries = st.step() ? st.column_int64(0) : 0;
  st.reset();
  CompleteResponse answer;
  answer.accepted = false;
  answer.reason = reason;
  tx.event("upload_refused", lease.request_id, lease.atom, lease.drone, reason);
  db.cached("UPDATE drones SET upload_impaired = 1 WHERE name = ?").bind(1, lease.drone).run();
  if (retries <= m_options.max_upload_retries && lease.state == "live") {
    answer.retry_upload = true;  // not stored: the retried completion gets a fresh answer
    tx.commit();
    return answer;
  }
  if (lease.state == "live") {
    db.cached("UPDATE leases SET state = 'completed' WHERE id = ?").bind(1, lease.lease_id).run();
    set_request_state(tx, lease.request_id, "needed", "upload refused " + std::to_string(retries) + " times: " + reason,
                      lease.drone);
  }
  store_answer(db, lease.lease_id, answer);
  tx.commit();
  return answer;
}

bool Store::received_unblocks_waiting() {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached(
      "SELECT 1 FROM requests r JOIN dependencies d ON d.depends_on = r.id JOIN requests w ON w.id = d.request_id "
      "WHERE r.state = 'received' AND w.state = 'needed' LIMIT 1");
  bool found = st.step();
  st.reset();
  return found;
}

bool Store::request_open_for(const LeaseRecord& lease) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached("SELECT state FROM requests WHERE id = ?");
  st.bind(1, lease.request_id);
  std::string state = st.step() ? st.column_text(0) : "";
  st.reset();
  return state == "needed" || state == "leased" || state == "blocked";
}

CompleteResponse Store::record_superseded(const LeaseRecord& lease) {
  Tx tx(*this);
  CompleteResponse answer;
  answer.accepted = false;
  answer.reason = "superseded";
  if (lease.state == "live") tx.db().cached("UPDATE leases SET state = 'completed' WHERE id = ?").bind(1, lease.lease_id).run();
  tx.event("superseded", lease.request_id, lease.atom, lease.drone, "lease " + lease.lease_id);
  store_answer(tx.db(), lease.lease_id, answer);
  tx.commit();
  return answer;
}

int64_t Store::allocate_build_id(const std::string& cpv) {
  Tx tx(*this);
  auto& st = tx.db().cached(
      "INSERT INTO build_ids(cpv, last) VALUES(?, 1) ON CONFLICT(cpv) DO UPDATE SET last = last + 1 RETURNING last");
  st.bind(1, cpv);
  st.step();
  int64_t id = st.column_int64(0);
  st.reset();
  tx.commit();
  return id;
}

Result<CompleteResponse> Store::record_acceptance(const LeaseRecord& lease, const CompleteRequest& req, Acceptance acc) {
  // Installed first, outside the store's lock (link + directory fsync are the slow part): a crash before
  // the commit leaves a file the database does not know, which start-up reconciliation sets aside.
  if (auto st = acc.install(); !st) return st.error();
  bool keep_file = false;
  struct Undo {
    Acceptance& acc;
    bool& keep;
    ~Undo() {
      if (!keep && acc.uninstall) acc.uninstall();
    }
  } undo{acc, keep_file};
  Tx tx(*this);
  auto& db = tx.db();
  int64_t now = tx.now_ms();
  std::string state;
  {
    auto& st = db.cached("SELECT state FROM requests WHERE id = ?");
    st.bind(1, lease.request_id);
    state = st.step() ? st.column_text(0) : "";
    st.reset();
  }
  if (state != "needed" && state != "leased" && state != "blocked") {
    CompleteResponse answer;
    answer.reason = "superseded";
    if (lease.state == "live") db.cached("UPDATE leases SET state = 'completed' WHERE id = ?").bind(1, lease.lease_id).run();
    store_answer(db, lease.lease_id, answer);
    tx.event("superseded", lease.request_id, lease.atom, lease.drone, "request already " + state);
    tx.commit();
    return answer;
  }
  // The first valid binary wins: any other live holder is revoked (409 at its next renewal).
  {
    std::vector<std::pair<std::string, std::string>> others;
    auto& st = db.cached("SELECT id, drone FROM leases WHERE request_id = ? AND state = 'live' AND id != ?");
    st.bind(1, lease.request_id).bind(2, lease.lease_id);
    while (st.step()) others.emplace_back(st.column_text(0), st.column_text(1));
    for (const auto& [id, drone] : others) {
      db.cached("UPDATE leases SET state = 'revoked' WHERE id = ?").bind(1, id).run();
      tx.event("revoked", lease.request_id, lease.atom, drone, "lease " + id + ": another lease's binary was accepted");
    }
  }
  const auto& b = acc.binary;
  db.cached("INSERT INTO binaries(request_id, cpv, build_id, path, sha256, size, mtime, metadata, received_ms) "
            "VALUES(?,?,?,?,?,?,?,?,?)")
      .bind(1, lease.request_id)
      .bind(2, b.cpv)
      .bind(3, b.build_id)
      .bind(4, b.path)
      .bind(5, b.sha256)
      .bind(6, b.size)
      .bind(7, b.mtime)
      .bind(8, b.metadata.dump())
      .bind(9, now)
      .run();
  if (lease.state == "live") db.cached("UPDATE leases SET state = 'completed' WHERE id = ?").bind(1, lease.lease_id).run();
  insert_build(db, lease, req, now, "none");
  // A success ends the streak and the trial.
  db.cached("UPDATE drones SET fail_streak = 0, trial = 0, builds_ok = builds_ok + 1, upload_impaired = 0 "
            "WHERE name = ?")
      .bind(1, lease.drone)
      .run();
  set_request_state(tx, lease.request_id, "received", "", lease.drone);
  CompleteResponse answer;
  answer.accepted = true;
  store_answer(db, lease.lease_id, answer);
  tx.commit();
  keep_file = true;
  return answer;
}

}  // namespace swarm::orch
