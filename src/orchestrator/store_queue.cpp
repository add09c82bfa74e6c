// Store: intake of runs, queue actions (retry, cancel, pause), listings and status.
#include <set>

#include "common/atom.hpp"
#include "orchestrator/graph.hpp"
#include "orchestrator/store_internal.hpp"

namespace swarm::orch {

using nlohmann::json;

namespace {

std::string fingerprint_hash_of(const json& fp) {
  if (fp.is_object() && fp.contains("hash") && fp["hash"].is_string()) return fp["hash"].get<std::string>();
  return "";
}

// Requests of this CPV that are waiting or building (in any run): a duplicate is skipped.
std::optional<std::pair<int64_t, std::string>> active_request(Database& db, const std::string& cpv) {
  auto& st = db.cached(
      "SELECT id, state FROM requests WHERE cpv = ? AND state IN ('needed','leased','blocked','received','published') "
      "ORDER BY CASE state WHEN 'published' THEN 1 ELSE 0 END, id DESC LIMIT 1");
  st.bind(1, cpv);
  if (!st.step()) return std::nullopt;
  return std::make_pair(st.column_int64(0), st.column_text(1));
}

}  // namespace

Result<QueueSubmitResponse> Store::submit(const QueueSubmit& submission) {
  // Validate everything first: nothing is added when any atom is bad.
  json rejected = json::array();
  std::vector<Atom> atoms;
  std::vector<GraphNode> nodes;
  std::set<std::string> seen;
  int64_t duplicates_in_submission = 0;
  std::vector<const PackageSpec*> specs;
  for (const auto& p : submission.packages) {
    auto a = parse_atom(p.atom);
    if (!a) {
      rejected.push_back({{"atom", p.atom}, {"reason", a.error().message}});
      continue;
    }
    std::vector<std::string> deps;
    for (const auto& d : p.deps) {
      auto da = parse_atom(d);
      if (!da) {
        rejected.push_back({{"atom", p.atom}, {"reason", "dependency '" + d + "': " + da.error().message}});
        continue;
      }
      deps.push_back(da->cpv());
    }
    if (p.duration_s && *p.duration_s < 0)
      rejected.push_back({{"atom", p.atom}, {"reason", "duration_s must not be negative"}});
    if (!seen.insert(a->cpv()).second) {
      ++duplicates_in_submission;
      continue;
    }
    double duration = static_cast<double>(p.duration_s.value_or(m_options.default_duration_s));
    nodes.push_back(GraphNode{a->cpv(), duration, deps});
    atoms.push_back(*a);
    specs.push_back(&p);
  }
  if (!rejected.empty()) {
    std::string msg = "submission refused, nothing was added: " + std::to_string(rejected.size()) + " invalid";
    msg += ": " + rejected[0]["atom"].get<std::string>() + ": " + rejected[0]["reason"].get<std::string>();
    return make_error(ErrorKind::invalid, msg);
  }
  GraphAnalysis graph = analyse_graph(nodes);

  QueueSubmitResponse out;
  out.skipped = duplicates_in_submission;
  for (const auto& e : graph.removed) out.cycles_broken.push_back({{"from", e.from}, {"to", e.to}});

  Tx tx(*this);
  auto& db = tx.db();
  db.cached("INSERT INTO runs(created_ms, fingerprint, fingerprint_hash, repo_revision, cycles_broken) VALUES(?,?,?,?,?)")
      .bind(1, tx.now_ms())
      .bind(2, submission.fingerprint.dump())
      .bind(3, fingerprint_hash_of(submission.fingerprint))
      .bind(4, submission.repo_revision)
      .bind(5, out.cycles_broken.dump())
      .run();
  out.run = db.last_insert_rowid();
  int64_t seq_base = db.query_int64("SELECT COALESCE(MAX(seq), 0) FROM requests").value_or(0);

  std::map<std::string, int64_t> id_of;        // cpv -> request id (new or already active)
  std::map<std::string, std::string> state_of;  // cpv -> state of that request
  std::vector<std::string> added;
  for (size_t i = 0; i < atoms.size(); ++i) {
    const auto& a = atoms[i];
    auto existing = active_request(db, a.cpv());
    if (existing && !(existing->second == "published" && specs[i]->rebuild)) {
      ++out.skipped;
      id_of[a.cpv()] = existing->first;
      state_of[a.cpv()] = existing->second;
      continue;
    }
    db.cached("INSERT INTO requests(run_id, cpv, atom, pn, state, priority, seq, duration_s, critical_path_s, rebuild, "
              "created_ms, updated_ms) VALUES(?,?,?,?, 'needed', ?,?,?,?,?,?,?)")
        .bind(1, out.run)
        .bind(2, a.cpv())
        .bind(3, a.to_string())  // with its :slot and ::repo: they reach the drone's emerge
        .bind(4, a.category + "/" + a.pn)
        .bind(5, specs[i]->priority)
        .bind(6, seq_base + static_cast<int64_t>(i) + 1)
        .bind(7, static_cast<int64_t>(nodes[i].duration_s))
        .bind(8, graph.critical_path_s[a.cpv()])
        .bind(9, specs[i]->rebuild ? 1 : 0)
        .bind(10, tx.now_ms())
        .bind(11, tx.now_ms())
        .run();
    id_of[a.cpv()] = db.last_insert_rowid();
    state_of[a.cpv()] = "needed";
    added.push_back(a.cpv());
    ++out.added;
  }
  // Dependencies of the new requests, on requests of this run or already waiting ones.
  for (const auto& cpv : added) {
    int64_t id = id_of[cpv];
    int64_t pending = 0;
    for (const auto& dep : graph.deps[cpv]) {
      auto it = id_of.find(dep);
      if (it == id_of.end()) continue;
      db.cached("INSERT OR IGNORE INTO dependencies(request_id, depends_on) VALUES(?,?)").bind(1, id).bind(2, it->second).run();
      if (state_of[dep] != "published") ++pending;
    }
    db.cached("UPDATE requests SET deps_pending = ? WHERE id = ?").bind(1, pending).bind(2, id).run();
    tx.event("queued", id, "=" + cpv, "", "run " + std::to_string(out.run));
  }
  // A new request depending on a blocked, quarantined or cancelled one is blocked from the start.
  for (const auto& cpv : added) apply_blocking_rule(tx, id_of[cpv]);
  tx.event("run", std::nullopt, "", "",
           "run " + std::to_string(out.run) + ": " + std::to_string(out.added) + " added, " + std::to_string(out.skipped) +
               " skipped, " + std::to_string(graph.removed.size()) + " cycle edges removed");
  tx.commit();
  return out;
}

namespace {
// The request an atom names: its latest request (in the run, when one is given too); not_found when the
// atom or the run names none.
Result<std::pair<int64_t, std::string>> named_request(Database& db, const QueueAction& a) {
  auto parsed = parse_atom(*a.atom);
  if (!parsed) return make_error(ErrorKind::invalid, parsed.error().message);
  const std::string cpv = parsed->cpv();
  auto st = db.prepare(std::string("SELECT id, state FROM requests WHERE cpv = ?") + (a.run ? " AND run_id = ?" : "") +
                       " ORDER BY id DESC LIMIT 1");
  st.bind(1, cpv);
  if (a.run) st.bind(2, *a.run);
  if (!st.step())
    return make_error(ErrorKind::not_found,
                      "no request for " + cpv + (a.run ? " in run " + std::to_string(*a.run) : std::string()));
  return std::make_pair(st.column_int64(0), st.column_text(1));
}

Status run_exists(Database& db, int64_t run) {
  auto& st = db.cached("SELECT 1 FROM runs WHERE id = ?");
  st.bind(1, run);
  bool found = st.step();
  st.reset();
  if (!found) return make_error(ErrorKind::not_found, "no run " + std::to_string(run));
  return {};
}

// The requests an action names in one of `states`: an atom names one request, a run the run's requests;
// not_found when what is named does not exist, invalid when nothing is named.
Result<std::vector<int64_t>> select_requests(Database& db, const QueueAction& a, const std::set<std::string>& states) {
  if (!a.atom && !a.run) return make_error(ErrorKind::invalid, "give an 'atom' or a 'run'");
  std::vector<int64_t> ids;
  if (a.atom) {
    auto r = named_request(db, a);
    if (!r) return r.error();
    if (states.count(r->second)) ids.push_back(r->first);
    return ids;
  }
  if (auto st = run_exists(db, *a.run); !st) return st.error();
  auto st = db.prepare("SELECT id, state FROM requests WHERE run_id = ?");
  st.bind(1, *a.run);
  while (st.step())
    if (states.count(st.column_text(1))) ids.push_back(st.column_int64(0));
  return ids;
}
}  // namespace

Result<int64_t> Store::retry(const QueueAction& action) {
  Tx tx(*this);
  auto ids = select_requests(tx.db(), action, {"quarantined", "blocked", "cancelled", "needed"});
  if (!ids) return ids.error();
  for (int64_t id : *ids) {
    tx.db().cached("UPDATE requests SET attempts = 0, failed_drones = '[]', backoff_until_ms = 0, blocked_by = NULL "
                   "WHERE id = ?").bind(1, id).run();
    set_request_state(tx, id, "needed", "retry requested");  // blocked again if a dependency still blocks it
  }
  tx.commit();
  return static_cast<int64_t>(ids->size());
}

Result<int64_t> Store::cancel(const QueueAction& action) {
  Tx tx(*this);
  auto ids = select_requests(tx.db(), action, {"needed", "leased", "blocked"});
  if (!ids) return ids.error();
  for (int64_t id : *ids) {
    tx.db().cached("UPDATE leases SET state = 'revoked' WHERE request_id = ? AND state = 'live'").bind(1, id).run();
    set_request_state(tx, id, "cancelled", "cancelled by the operator");
  }
  tx.commit();
  return static_cast<int64_t>(ids->size());
}

Result<int64_t> Store::set_paused(const QueueAction& action, bool paused) {
  Tx tx(*this);
  int64_t n = 0;
  if (action.atom) {
    // One request: held back by a backoff that never ends (claims skip it), until resumed or retried.
    auto r = named_request(tx.db(), action);
    if (!r) return r.error();
    auto [id, state] = *r;
    if (state != "needed" && state != "blocked") {
      tx.commit();
      return 0;  // building or done: nothing waits to be held back
    }
    n = paused ? tx.db().cached("UPDATE requests SET backoff_until_ms = ? WHERE id = ? AND backoff_until_ms < ?")
                     .bind(1, kPausedUntilMs).bind(2, id).bind(3, kPausedUntilMs).run()
               : tx.db().cached("UPDATE requests SET backoff_until_ms = 0 WHERE id = ? AND backoff_until_ms >= ?")
                     .bind(1, id).bind(2, kPausedUntilMs).run();
    if (n > 0) tx.event(paused ? "paused" : "resumed", id, "=" + parse_atom(*action.atom)->cpv(), "", "one request");
    tx.commit();
    return n;
  }
  if (action.run) {
    n = tx.db().cached("UPDATE runs SET paused = ? WHERE id = ?").bind(1, paused ? 1 : 0).bind(2, *action.run).run();
    if (n == 0) return make_error(ErrorKind::not_found, "no run " + std::to_string(*action.run));
  } else {
    n = tx.db().cached("UPDATE runs SET paused = ? WHERE completed_ms IS NULL").bind(1, paused ? 1 : 0).run();
  }
  tx.event(paused ? "paused" : "resumed", std::nullopt, "", "",
           action.run ? "run " + std::to_string(*action.run) : "all runs");
  tx.commit();
  return n;
}

}  // namespace swarm::orch
