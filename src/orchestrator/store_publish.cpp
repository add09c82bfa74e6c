// Store: the binaries behind the binhost index, publication and reconciliation.
#include "orchestrator/store_internal.hpp"

namespace swarm::orch {

using nlohmann::json;

std::vector<BinaryRecord> Store::binaries(bool indexed_only) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached(indexed_only
                             ? "SELECT id, request_id, cpv, build_id, path, sha256, size, mtime, metadata, indexed FROM binaries "
                               "WHERE withdrawn = 0 AND indexed = 1 ORDER BY cpv, build_id"
                             : "SELECT id, request_id, cpv, build_id, path, sha256, size, mtime, metadata, indexed FROM binaries "
                               "WHERE withdrawn = 0 ORDER BY cpv, build_id");
  std::vector<BinaryRecord> out;
  while (st.step()) {
    BinaryRecord b;
    b.id = st.column_int64(0);
    b.request_id = st.column_int64(1);
    b.cpv = st.column_text(2);
    b.build_id = st.column_int64(3);
    b.path = st.column_text(4);
    b.sha256 = st.column_text(5);
    b.size = st.column_int64(6);
    b.mtime = st.column_int64(7);
    b.metadata = json::parse(st.column_text(8), nullptr, false);
    b.indexed = st.column_int64(9) != 0;
    out.push_back(std::move(b));
  }
  return out;
}

int64_t Store::mark_published(const std::vector<int64_t>& binary_ids) {
  if (binary_ids.empty()) return 0;
  Tx tx(*this);
  int64_t n = 0;
  for (int64_t id : binary_ids) {
    auto& st = tx.db().cached("UPDATE binaries SET indexed = 1 WHERE id = ? AND indexed = 0 RETURNING request_id");
    st.bind(1, id);
    if (!st.step()) {
      st.reset();
      continue;
    }
    int64_t request_id = st.column_int64(0);
    st.reset();
    auto& r = tx.db().cached("SELECT state FROM requests WHERE id = ?");
    r.bind(1, request_id);
    std::string state = r.step() ? r.column_text(0) : "";
    r.reset();
    if (state != "received") continue;
    set_request_state(tx, request_id, "published", "");
    on_request_published(tx, request_id);
    ++n;
  }
  tx.commit();
  return n;
}

void Store::forget_binary(int64_t binary_id, const std::string& why) {
  Tx tx(*this);
  auto& st = tx.db().cached("DELETE FROM binaries WHERE id = ? RETURNING request_id, cpv");
  st.bind(1, binary_id);
  if (!st.step()) {
    st.reset();
    return;
  }
  int64_t request_id = st.column_int64(0);
  std::string cpv = st.column_text(1);
  st.reset();
  auto& r = tx.db().cached("SELECT state FROM requests WHERE id = ?");
  r.bind(1, request_id);
  std::string state = r.step() ? r.column_text(0) : "";
  r.reset();
  if (state == "received" || state == "published") {
    if (state == "published") {
      // Its dependents wait again.
      tx.db().cached("UPDATE requests SET deps_pending = deps_pending + 1 WHERE id IN "
                     "(SELECT request_id FROM dependencies WHERE depends_on = ?) AND state IN ('needed','blocked')")
          .bind(1, request_id)
          .run();
    }
    set_request_state(tx, request_id, "needed", why);
  }
  tx.event("reconciled", request_id, "=" + cpv, "", why);
  tx.commit();
}

std::optional<std::string> Store::build_log_path(int64_t build_id) {
  std::lock_guard lock(m_mutex);
  auto& st = m_db.cached("SELECT log_path FROM builds WHERE id = ?");
  st.bind(1, build_id);
  std::optional<std::string> out;
  if (st.step()) out = st.column_optional_text(0);
  st.reset();
  return out;
}

}  // namespace swarm::orch
