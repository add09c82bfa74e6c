#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "build-swarm/render.hpp"
#include "build-swarm/table.hpp"

namespace swarm::cli {

using nlohmann::json;

namespace {

struct Segment {
  const char* state;
  char symbol;
};
constexpr Segment kSegments[] = {{"published", '#'},   {"received", '+'}, {"leased", '>'},    {"needed", '.'},
                                 {"quarantined", '!'}, {"blocked", '?'},  {"cancelled", 'x'}, {"withdrawn", '-'}};

std::string string_of(const json& obj, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (const json& v = member(obj, k); !v.is_null()) return cell(v);
  return {};
}

// "2 idle, 3 building" for the non-zero counts, in the given order; `none` when all are zero.
std::string nonzero_counts(const json& counts, const std::vector<std::string>& order, const std::string& none) {
  std::string out;
  for (const auto& key : order) {
    int64_t n = count_of(counts, key);
    if (n == 0) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + key;
  }
  return out.empty() ? none : out;
}

std::string orchestrator_state(const json& o) {
  for (const char* k : {"up", "healthy", "reachable", "ok"})
    if (const json& v = member(o, k); v.is_boolean()) return v.get<bool>() ? "up" : "down";
  return string_of(o, {"status", "state"});
}

void render_orchestrators(const json& list, std::ostream& out) {
  if (!list.is_array() || list.empty()) {
    out << "Orchestrators: none\n";
    return;
  }
  out << "Orchestrators:\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& o : list) {
    if (o.is_string())
      rows.push_back({"", o.get<std::string>(), "", "", ""});
    else
      rows.push_back({string_of(o, {"name"}), string_of(o, {"url", "base_url"}), orchestrator_state(o),
                      string_of(o, {"drones", "assigned"}), string_of(o, {"error", "message"})});
  }
  // Columns no orchestrator fills are left out rather than printed empty.
  std::vector<std::string> headers = {"NAME", "URL", "STATE", "DRONES", "NOTE"};
  std::vector<size_t> keep;
  for (size_t c = 0; c < headers.size(); ++c)
    if (std::any_of(rows.begin(), rows.end(), [c](const auto& r) { return !r[c].empty(); })) keep.push_back(c);
  std::vector<std::string> kept_headers;
  kept_headers.reserve(keep.size());
  for (size_t c : keep) kept_headers.push_back(headers[c]);
  Table t(kept_headers);
  for (const auto& r : rows) {
    std::vector<std::string> row;
    row.reserve(keep.size());
    for (size_t c : keep) row.push_back(r[c]);
    t.add_row(row);
  }
  t.print(out, "  ");
}

void render_runs(const json& runs, std::ostream& out) {
  if (!runs.is_array() || runs.empty()) {
    out << "Runs: none\n";
    return;
  }
  bool with_orch =
      std::any_of(runs.begin(), runs.end(), [](const json& r) { return !member(r, "orchestrator").is_null(); });
  out << "Runs:\n";
  std::vector<std::string> headers = {"RUN"};
  if (with_orch) headers.emplace_back("ORCHESTRATOR");
  for (const char* h : {"PROGRESS", "DONE", "STATE", "WAITING/FAILED"}) headers.emplace_back(h);
  Table t(headers);
  for (const auto& r : runs) {
    if (!r.is_object()) continue;
    const json& counts = member(r, "queue");
    int64_t total = 0;
    for (const auto& s : request_states()) total += count_of(counts, s);
    if (count_of(r, "total") > total) total = count_of(r, "total");
    int64_t waiting = count_of(counts, "needed") + count_of(counts, "leased") + count_of(counts, "received");
    std::string state = "running";
    if (flag_of(r, "complete", waiting == 0))
      state = "complete";
    else if (flag_of(r, "paused", false))
      state = "paused";
    std::vector<std::string> row = {string_of(r, {"run", "id"})};
    if (with_orch) row.push_back(string_of(r, {"orchestrator"}));
    row.push_back(progress_bar(counts, 24));
    row.push_back(std::to_string(total - waiting) + "/" + std::to_string(total));
    row.push_back(state);
    row.push_back(nonzero_counts(
        counts, {"needed", "leased", "received", "quarantined", "blocked", "cancelled", "withdrawn"}, ""));
    t.add_row(row);
  }
  t.print(out, "  ");
  out << "  " << progress_legend() << "\n";
}

}  // namespace

const std::vector<std::string>& request_states() {
  static const std::vector<std::string> states = {"needed",      "leased",  "received",  "published",
                                                  "quarantined", "blocked", "cancelled", "withdrawn"};
  return states;
}

const std::vector<std::string>& drone_counts() {
  static const std::vector<std::string> counts = {"idle",     "building", "uploading", "draining",
                                                  "grounded", "offline",  "pending",   "revoked"};
  return counts;
}

std::string progress_bar(const json& counts, int width) {
  width = std::max(width, 1);
  int64_t total = 0;
  int nonzero = 0;
  for (const auto& s : kSegments) {
    total += count_of(counts, s.state);
    nonzero += count_of(counts, s.state) > 0;
  }
  if (total == 0) return "[" + std::string(static_cast<size_t>(width), ' ') + "]";
  // Every non-zero state gets one cell, so two quarantined requests among thousands stay visible;
  // the other cells are shared by largest remainder.
  int64_t reserved = nonzero <= width ? nonzero : 0;
  int64_t shared = width - reserved;
  struct Share {
    size_t index;
    int64_t cells;
    int64_t remainder;
  };
  std::vector<Share> shares;
  int64_t used = 0;
  for (size_t i = 0; i < std::size(kSegments); ++i) {
    int64_t n = count_of(counts, kSegments[i].state);
    int64_t scaled = n * shared;
    shares.push_back({i, scaled / total + (reserved && n > 0 ? 1 : 0), scaled % total});
    used += scaled / total;
  }
  std::vector<Share> order = shares;
  std::stable_sort(order.begin(), order.end(),
                   [](const Share& a, const Share& b) { return a.remainder > b.remainder; });
  for (size_t i = 0; used < shared && i < order.size(); ++i, ++used) shares[order[i].index].cells += 1;
  std::string bar;
  for (const auto& s : shares) bar.append(static_cast<size_t>(s.cells), kSegments[s.index].symbol);
  return "[" + bar + "]";
}

std::string progress_legend() {
  std::string out;
  for (const auto& s : kSegments) out += (out.empty() ? "" : "  ") + std::string(1, s.symbol) + " " + s.state;
  return out;
}

std::vector<std::string> unreachable_orchestrators(const json& status) {
  std::vector<std::string> down;
  const json& list = member(status, "orchestrators");
  if (!list.is_array()) return down;
  for (const auto& o : list) {
    if (!o.is_object() || orchestrator_state(o) != "down") continue;
    std::string text = "orchestrator '" + string_of(o, {"name"}) + "'";
    if (std::string url = string_of(o, {"url", "base_url"}); !url.empty()) text += " (" + url + ")";
    text += " is unreachable";
    if (std::string e = string_of(o, {"error", "message"}); !e.empty()) text += ": " + e;
    down.push_back(text);
  }
  return down;
}

void render_status(const json& status, std::ostream& out) {
  const json& drones = member(status, "drones");
  std::string d = nonzero_counts(drones, drone_counts(), "none");
  if (int64_t cores = count_of(status, "cores"); cores > 0) d += " (" + std::to_string(cores) + " cores)";
  out << "Drones: " << d << "\n";
  const json& unrouted = member(status, "unrouted");
  if (unrouted.is_array() && !unrouted.empty()) {
    out << "Drones given no work:\n";
    for (const auto& u : unrouted) {
      out << "  " << string_of(u, {"name"});
      if (std::string m = string_of(u, {"message"}); !m.empty()) out << ": " << m;
      out << "\n";
    }
  }
  const json& queue = member(status, "queue");
  int64_t total = 0;
  for (const auto& s : request_states()) total += count_of(queue, s);
  // Counts come only from orchestrators that answered: say so rather than show an empty queue.
  auto down = unreachable_orchestrators(status);
  const json& orchestrators = member(status, "orchestrators");
  bool none_up = !down.empty() && orchestrators.is_array() && down.size() == orchestrators.size();
  out << "Queue:  ";
  if (none_up) {
    out << "unknown (no orchestrator reachable)";
  } else if (total == 0) {
    out << "empty";
  } else {
    out << total << " requests: " << nonzero_counts(queue, request_states(), "");
    if (member(status, "ready").is_number()) out << "; " << count_of(status, "ready") << " ready to build";
  }
  if (!down.empty() && !none_up) out << " (not counted: " << down.size() << " unreachable orchestrator" << (down.size() == 1 ? "" : "s") << ")";
  out << "\n";
  render_orchestrators(member(status, "orchestrators"), out);
  render_runs(member(status, "runs"), out);
}

}  // namespace swarm::cli
