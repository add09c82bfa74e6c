#include "orchestrator/store.hpp"

#include <deque>

#include "common/logging.hpp"
#include "orchestrator/store_internal.hpp"

namespace swarm::orch {

using nlohmann::json;

nlohmann::json QueueRow::to_json() const {
  json j = {{"id", id}, {"run", run_id}, {"atom", atom}, {"state", state}, {"attempts", attempts}};
  if (drone) j["drone"] = *drone;
  if (reason) j["reason"] = *reason;
  if (last_build_id) j["last_build_id"] = *last_build_id;
  return j;
}

nlohmann::json StoreEvent::to_json() const {
  json j = {{"id", id}, {"ts_ms", ts_ms}, {"kind", kind}, {"atom", atom}, {"drone", drone}, {"detail", detail}};
  if (request_id) j["request_id"] = *request_id;
  return j;
}

void Store::Tx::event(const std::string& kind, std::optional<int64_t> request_id, const std::string& atom,
                      const std::string& drone, const std::string& detail) {
  auto& st = db().cached("INSERT INTO events(ts_ms, kind, request_id, atom, drone, detail) VALUES(?,?,?,?,?,?)");
  st.bind(1, now_ms()).bind(2, kind).bind(3, request_id).bind(4, atom).bind(5, drone).bind(6, detail);
  st.run();
  m_events.push_back(StoreEvent{db().last_insert_rowid(), now_ms(), kind, request_id, atom, drone, detail});
}

void Store::Tx::commit() {
  m_tx.commit();
  auto events = std::move(m_events);
  m_lock.unlock();
  if (!events.empty()) m_store.notify(std::move(events));
}

Store::Store(const std::string& path, std::shared_ptr<Clock> clock, StoreOptions options)
    : m_clock(std::move(clock)), m_options(options), m_db(path, DatabaseOptions{}) {
  auto st = migrate(m_db, store_migrations());
  if (!st) throw std::runtime_error("database " + path + ": " + st.error().message);
}

Store::~Store() = default;

void Store::set_event_listener(std::function<void(const std::vector<StoreEvent>&)> listener) {
  std::lock_guard lock(m_listener_mutex);
  m_listener = std::move(listener);
}

void Store::notify(std::vector<StoreEvent> events) {
  std::function<void(const std::vector<StoreEvent>&)> l;
  {
    std::lock_guard lock(m_listener_mutex);
    l = m_listener;
  }
  if (l) l(events);
}

std::vector<StoreEvent> Store::events_since(int64_t after_id, int64_t limit) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached("SELECT id, ts_ms, kind, request_id, atom, drone, detail FROM events WHERE id > ? ORDER BY id LIMIT ?");
  st.bind(1, after_id).bind(2, limit);
  std::vector<StoreEvent> out;
  while (st.step())
    out.push_back(StoreEvent{st.column_int64(0), st.column_int64(1), st.column_text(2), st.column_optional_int64(3),
                             st.column_text(4), st.column_text(5), st.column_text(6)});
  return out;
}

Status Store::integrity_check() {
  std::lock_guard lock(m_mutex);
  return m_db.integrity_check();
}

namespace {

// Writes a request's state and reason with an event; the blocking rule is the caller's business.
void write_state(Store::Tx& tx, int64_t request_id, const std::string& state, const std::string& reason,
                 const std::string& drone) {
  auto& st = tx.db().cached("UPDATE requests SET state = ?, reason = ?, updated_ms = ? WHERE id = ? RETURNING atom");
  st.bind(1, state).bind(2, reason.empty() ? std::optional<std::string>() : std::optional<std::string>(reason));
  st.bind(3, tx.now_ms()).bind(4, request_id);
  std::string atom;
  if (st.step()) atom = st.column_text(0);
  st.reset();
  tx.event(state, request_id, atom, drone, reason);
}

struct Blocking {
  std::string state;
  std::optional<int64_t> blocked_by;
};

Blocking blocking_of(Database& db, int64_t request_id) {
  auto& st = db.cached("SELECT state, blocked_by FROM requests WHERE id = ?");
  st.bind(1, request_id);
  Blocking b;
  if (st.step()) b = Blocking{st.column_text(0), st.column_optional_int64(1)};
  st.reset();
  return b;
}

// The dependency that blocks a request under the rule (the first by submission order), named by the
// cancelled or quarantined request at the root of its chain; nothing when none blocks it.
std::optional<std::pair<int64_t, std::string>> blocker_of(Database& db, int64_t request_id) {
  auto& st = db.cached(
      "SELECT COALESCE(CASE WHEN q.state = 'blocked' THEN q.blocked_by END, q.id) FROM dependencies d "
      "JOIN requests q ON q.id = d.depends_on WHERE d.request_id = ? AND q.state IN ('cancelled','quarantined','blocked') "
      "ORDER BY q.seq LIMIT 1");
  st.bind(1, request_id);
  std::optional<int64_t> root;
  if (st.step()) root = st.column_int64(0);
  st.reset();
  if (!root) return std::nullopt;
  auto& r = db.cached("SELECT cpv, state FROM requests WHERE id = ?");
  r.bind(1, *root);
  std::string reason;
  if (r.step()) {
    std::string state = r.column_text(1);
    reason = "dependency " + r.column_text(0) + (state == "cancelled" ? " was cancelled" : " is " + state);
  }
  r.reset();
  return std::make_pair(*root, reason);
}

std::vector<int64_t> waiting_dependents(Database& db, int64_t request_id) {
  auto& st = db.cached(
      "SELECT r.id FROM dependencies d JOIN requests r ON r.id = d.request_id "
      "WHERE d.depends_on = ? AND r.state IN ('needed','blocked')");
  st.bind(1, request_id);
  std::vector<int64_t> out;
  while (st.step()) out.push_back(st.column_int64(0));
  st.reset();
  return out;
}

}  // namespace

void set_request_state(Store::Tx& tx, int64_t request_id, const std::string& state, const std::string& reason,
                       const std::string& drone) {
  write_state(tx, request_id, state, reason, drone);
  apply_blocking_rule(tx, request_id);
}

void apply_blocking_rule(Store::Tx& tx, int64_t request_id) {
  auto& db = tx.db();
  std::deque<int64_t> work{request_id};
  bool origin = true;
  while (!work.empty()) {
    int64_t id = work.front();
    work.pop_front();
    Blocking before = blocking_of(db, id);
    bool changed = false;
    if (before.state == "needed" || before.state == "blocked") {
      auto blocker = blocker_of(db, id);
      std::optional<int64_t> by = blocker ? std::optional<int64_t>(blocker->first) : std::nullopt;
      if (blocker && (before.state != "blocked" || before.blocked_by != by)) {
        db.cached("UPDATE requests SET blocked_by = ? WHERE id = ?").bind(1, by).bind(2, id).run();
        write_state(tx, id, "blocked", blocker->second, "");
        changed = true;
      } else if (!blocker && before.state == "blocked") {
        db.cached("UPDATE requests SET blocked_by = NULL WHERE id = ?").bind(1, id).run();
        write_state(tx, id, "needed", "no dependency blocks it any more", "");
        changed = true;
      } else if (!blocker && before.blocked_by) {
        db.cached("UPDATE requests SET blocked_by = NULL WHERE id = ?").bind(1, id).run();
      }
    }
    // The origin's state was just changed by the caller, so its dependents are looked at in any case.
    if (changed || origin)
      for (int64_t dep : waiting_dependents(db, id)) work.push_back(dep);
    origin = false;
  }
}

void on_request_published(Store::Tx& tx, int64_t request_id) {
  tx.db().cached("UPDATE requests SET deps_pending = deps_pending - 1 WHERE id IN "
                 "(SELECT request_id FROM dependencies WHERE depends_on = ?) AND deps_pending > 0")
      .bind(1, request_id)
      .run();
}

}  // namespace swarm::orch
