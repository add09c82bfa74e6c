// Store: queue listing with the reason each waiting request waits, status and metrics.
#include <ctime>

#include "orchestrator/store_internal.hpp"

namespace swarm::orch {

using nlohmann::json;

namespace {
std::string clock_time(int64_t unix_ms) {
  std::time_t t = unix_ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S UTC", &tm);
  return buf;
}
}  // namespace

std::vector<QueueRow> Store::queue(const std::string& state_filter, int64_t limit) {
  std::lock_guard lock(m_mutex);
  int64_t now = m_clock->now_unix_ms();
  int64_t seen_after = now - m_options.offline_after_ms;
  std::string sql =
      "SELECT r.id, r.run_id, r.atom, r.state, r.attempts, r.last_drone, r.reason, r.deps_pending, r.backoff_until_ms, "
      "u.paused, u.fingerprint_hash, (SELECT MAX(b.id) FROM builds b WHERE b.request_id = r.id) "
      "FROM requests r JOIN runs u ON u.id = r.run_id";
  if (!state_filter.empty()) sql += " WHERE r.state = ?";
  sql += " ORDER BY r.priority DESC, r.critical_path_s DESC, r.seq LIMIT ?";
  auto st = m_db.prepare(sql);
  int i = 1;
  if (!state_filter.empty()) st.bind(i++, state_filter);
  st.bind(i, limit);
  std::vector<QueueRow> rows;
  while (st.step()) {
    QueueRow r;
    r.id = st.column_int64(0);
    r.run_id = st.column_int64(1);
    r.atom = st.column_text(2);
    r.state = st.column_text(3);
    r.attempts = st.column_int64(4);
    r.drone = st.column_optional_text(5);
    r.reason = st.column_optional_text(6);
    r.last_build_id = st.column_optional_int64(11);
    if (r.state == "needed") {
      int64_t deps_pending = st.column_int64(7);
      int64_t backoff = st.column_int64(8);
      bool paused = st.column_int64(9) != 0;
      std::string fp = st.column_text(10);
      if (paused) {
        r.reason = "run paused";
      } else if (backoff >= kPausedUntilMs) {
        r.reason = "paused by the operator";
      } else if (deps_pending > 0) {
        auto& d = m_db.cached(
            "SELECT q.atom FROM dependencies d JOIN requests q ON q.id = d.depends_on WHERE d.request_id = ? "
            "AND q.state != 'published' ORDER BY q.seq LIMIT 1");
        d.bind(1, r.id);
        std::string first = d.step() ? d.column_text(0) : "?";
        d.reset();
        r.reason = "waiting on " + (first.size() > 1 && first[0] == '=' ? first.substr(1) : first) +
                   (deps_pending > 1 ? " and " + std::to_string(deps_pending - 1) + " more" : "");
      } else if (backoff > now) {
        r.reason = "backoff until " + clock_time(backoff);
      } else {
        auto& d = m_db.cached(
            "SELECT COUNT(*), SUM(grounded_until_ms > ?) FROM drones WHERE last_seen_ms >= ? AND (? = '' OR fingerprint_hash = ?)");
        d.bind(1, now).bind(2, seen_after).bind(3, fp).bind(4, fp);
        int64_t matching = 0, grounded = 0;
        if (d.step()) {
          matching = d.column_int64(0);
          grounded = d.column_is_null(1) ? 0 : d.column_int64(1);
        }
        d.reset();
        if (matching == 0)
          r.reason = fp.empty() ? "no drone online" : "no drone matches the reference configuration";
        else if (grounded == matching)
          r.reason = "all drones grounded";
        else
          r.reason = "ready: waiting for a free drone";
      }
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

int64_t Store::ready_count() {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached(
      "SELECT COUNT(*) FROM requests r JOIN runs u ON u.id = r.run_id WHERE r.state = 'needed' AND r.deps_pending = 0 "
      "AND u.paused = 0 AND r.backoff_until_ms <= ?");
  st.bind(1, m_clock->now_unix_ms());
  int64_t n = st.step() ? st.column_int64(0) : 0;
  st.reset();
  return n;
}

json Store::status() {
  std::lock_guard lock(m_mutex);
  int64_t now = m_clock->now_unix_ms();
  json queue = json::object();
  for (const char* s : kRequestStates) queue[s] = 0;
  {
    auto& st = m_db.cached("SELECT state, COUNT(*) FROM requests GROUP BY state");
    while (st.step()) queue[st.column_text(0)] = st.column_int64(1);
  }
  int64_t ready = ready_count();
  json runs = json::array();
  json fingerprints = json::array();
  json reference = json::object();
  {
    auto& st = m_db.cached(
        "SELECT u.id, u.created_ms, u.paused, u.fingerprint_hash, u.repo_revision, u.cycles_broken, u.fingerprint, "
        "SUM(r.state='needed'), SUM(r.state='leased'), SUM(r.state='received'), SUM(r.state='published'), "
        "SUM(r.state='quarantined'), SUM(r.state='blocked'), SUM(r.state='cancelled'), SUM(r.state='withdrawn'), "
        "COUNT(r.id) FROM runs u LEFT JOIN requests r ON r.run_id = u.id GROUP BY u.id ORDER BY u.id DESC LIMIT 50");
    while (st.step()) {
      json counts = json::object();
      int col = 7;
      int64_t waiting = 0;
      for (const char* s : kRequestStates) {
        counts[s] = st.column_is_null(col) ? 0 : st.column_int64(col);
        ++col;
      }
      waiting = counts["needed"].get<int64_t>() + counts["leased"].get<int64_t>() + counts["received"].get<int64_t>();
      bool complete = waiting == 0;
      runs.push_back({{"run", st.column_int64(0)}, {"created_ms", st.column_int64(1)}, {"paused", st.column_int64(2) != 0},
                      {"fingerprint_hash", st.column_text(3)}, {"repo_revision", st.column_text(4)},
                      {"cycles_broken", json::parse(st.column_text(5), nullptr, false)}, {"queue", counts},
                      {"total", st.column_int64(15)}, {"complete", complete}});
      if (!complete) {
        std::string fp = st.column_text(3);
        if (std::find(fingerprints.begin(), fingerprints.end(), fp) == fingerprints.end()) fingerprints.push_back(fp);
        if (!fp.empty() && reference.empty()) reference = json::parse(st.column_text(6), nullptr, false);
      }
    }
  }
  json drones = json::array();
  {
    auto& st = m_db.cached(
        "SELECT name, last_seen_ms, fail_streak, grounded_until_ms, upload_impaired, builds_ok, speed FROM drones ORDER BY name");
    while (st.step()) {
      bool grounded = st.column_int64(3) > now;
      drones.push_back({{"name", st.column_text(0)}, {"last_seen_ms", st.column_int64(1)},
                        {"fail_streak", st.column_int64(2)}, {"grounded", grounded},
                        {"grounded_until_ms", st.column_int64(3)}, {"upload_impaired", st.column_int64(4) != 0},
                        {"builds_ok", st.column_int64(5)}, {"speed", st.column_double(6)}});
    }
  }
  return {{"queue", queue}, {"ready", ready}, {"runs", runs}, {"fingerprints", fingerprints},
          {"reference_fingerprint", reference}, {"drones", drones}};
}

json Store::metrics() {
  std::lock_guard lock(m_mutex);
  json m = json::object();
  auto& st = m_db.cached("SELECT kind, COUNT(*) FROM events GROUP BY kind");
  while (st.step()) m[st.column_text(0)] = st.column_int64(1);
  return m;
}

}  // namespace swarm::orch
