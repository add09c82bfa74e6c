#include <algorithm>
#include <map>

#include "build-swarm/render.hpp"
#include "build-swarm/table.hpp"

namespace swarm::cli {

using nlohmann::json;

const json& member(const json& obj, const std::string& key) {
  static const json null_value;
  if (!obj.is_object()) return null_value;
  auto it = obj.find(key);
  return it == obj.end() ? null_value : *it;
}

bool flag_of(const json& obj, const std::string& key, bool fallback) {
  const json& v = member(obj, key);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

int64_t count_of(const json& obj, const std::string& key) {
  const json& v = member(obj, key);
  if (!v.is_number()) return 0;
  return std::max<int64_t>(0, v.get<int64_t>());
}

std::string cell(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_array()) {
    std::string out;
    for (const auto& v : value) out += (out.empty() ? "" : ", ") + cell(v);
    return out.empty() ? "-" : out;
  }
  return value.dump();
}

std::string format_age(int64_t age_ms) {
  if (age_ms < 0) return "-";
  int64_t s = age_ms / 1000;
  if (s < 120) return std::to_string(s) + "s ago";
  if (s < int64_t{2} * 3600) return std::to_string(s / 60) + "m ago";
  if (s < int64_t{2} * 86400) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

std::string format_last_seen(const json& value, int64_t now_ms) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_number()) return "-";
  double t = value.get<double>();
  if (t <= 0) return "never";
  int64_t ms = t > 1e11 ? static_cast<int64_t>(t) : static_cast<int64_t>(t * 1000);
  return format_age(std::max<int64_t>(0, now_ms - ms));
}

namespace {

std::string text_of(const json& obj, const char* key) {
  const json& v = member(obj, key);
  return v.is_null() ? std::string() : cell(v);
}

std::string fingerprint_cell(const json& node) {
  const json& diff = member(node, "fingerprint_diff");
  std::vector<std::string> keys;
  if (diff.is_object())
    for (auto it = diff.begin(); it != diff.end(); ++it) keys.push_back(it.key());
  if (diff.is_array())
    for (const auto& k : diff) keys.push_back(cell(k));
  const json& ok = member(node, "fingerprint_ok");
  if (keys.empty()) return ok.is_boolean() ? (ok.get<bool>() ? "ok" : "differs") : "-";
  std::string out = "differs: ";
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? ", " : "") + keys[i];
  return out;
}

std::string address_cell(const json& node) {
  std::string report = text_of(node, "report_ip");
  std::string source = text_of(node, "source_ip");
  if (report.empty()) report = text_of(node, "address");
  if (report.empty()) return source.empty() ? "-" : source;
  if (!source.empty() && source != report) return report + " (from " + source + ")";
  return report;
}

std::string dash_if_empty(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

void render_nodes(const json& nodes, int64_t now_ms, std::ostream& out) {
  if (!nodes.is_array() || nodes.empty()) {
    out << "No drones have registered.\n";
    return;
  }
  Table t({"NAME", "APPROVAL", "ACTIVITY", "ADDRESS", "CORES", "VERSION", "BUILDING", "LAST SEEN", "FINGERPRINT"});
  std::map<std::string, int64_t> activity, approval;
  int64_t cores = 0;
  for (const auto& n : nodes) {
    if (!n.is_object()) continue;
    std::string appr = dash_if_empty(text_of(n, "approval"));
    std::string act = dash_if_empty(text_of(n, "activity"));
    ++approval[appr];
    if (appr == "approved") ++activity[act];
    cores += count_of(n, "cores");
    t.add_row({text_of(n, "name"), appr, act, address_cell(n), dash_if_empty(text_of(n, "cores")),
               dash_if_empty(text_of(n, "version")), dash_if_empty(text_of(n, "atom")),
               format_last_seen(member(n, "last_seen").is_null() ? member(n, "last_seen_ms") : member(n, "last_seen"),
                                now_ms),
               fingerprint_cell(n)});
  }
  t.print(out);
  std::string summary = std::to_string(t.rows()) + (t.rows() == 1 ? " drone" : " drones");
  std::string parts;
  for (const auto& a : drone_counts())
    if (activity.count(a)) parts += (parts.empty() ? "" : ", ") + std::to_string(activity[a]) + " " + a;
  for (const auto& [a, n] : activity)
    if (std::find(drone_counts().begin(), drone_counts().end(), a) == drone_counts().end())
      parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + a;
  if (!parts.empty()) summary += ": " + parts;
  if (approval.count("pending")) summary += "; " + std::to_string(approval["pending"]) + " pending approval";
  if (approval.count("revoked")) summary += "; " + std::to_string(approval["revoked"]) + " revoked";
  summary += "; " + std::to_string(cores) + " cores";
  out << summary << "\n";
}

void render_queue(const json& items, std::ostream& out) {
  if (!items.is_array() || items.empty()) {
    out << "No requests.\n";
    return;
  }
  auto any = [&items](const char* key) {
    return std::any_of(items.begin(), items.end(), [key](const json& i) { return !member(i, key).is_null(); });
  };
  bool with_orchestrator = any("orchestrator");
  bool with_run = any("run");
  std::vector<std::string> headers;
  if (with_orchestrator) headers.emplace_back("ORCHESTRATOR");
  if (with_run) headers.emplace_back("RUN");
  for (const char* h : {"ATOM", "STATE", "ATTEMPTS", "DRONE", "REASON"}) headers.emplace_back(h);
  Table t(headers);
  std::map<std::string, int64_t> states;
  for (const auto& i : items) {
    if (!i.is_object()) continue;
    std::string state = dash_if_empty(text_of(i, "state"));
    ++states[state];
    std::vector<std::string> row;
    if (with_orchestrator) row.push_back(dash_if_empty(text_of(i, "orchestrator")));
    if (with_run) row.push_back(dash_if_empty(text_of(i, "run")));
    for (const char* k : {"atom", "state", "attempts", "drone", "reason"}) row.push_back(dash_if_empty(text_of(i, k)));
    t.add_row(row);
  }
  t.print(out);
  std::string parts;
  for (const auto& s : request_states())
    if (states.count(s)) parts += (parts.empty() ? "" : ", ") + std::to_string(states[s]) + " " + s;
  for (const auto& [s, n] : states)
    if (std::find(request_states().begin(), request_states().end(), s) == request_states().end())
      parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + s;
  out << t.rows() << (t.rows() == 1 ? " request: " : " requests: ") << parts << "\n";
}

void render_array(const json& array, std::ostream& out, const std::string& indent) {
  if (!array.is_array() || array.empty()) {
    out << indent << "(none)\n";
    return;
  }
  std::vector<std::string> keys;
  for (const auto& item : array) {
    if (!item.is_object()) continue;
    for (auto it = item.begin(); it != item.end(); ++it)
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) keys.push_back(it.key());
  }
  if (keys.empty()) {
    for (const auto& item : array) out << indent << cell(item) << "\n";
    return;
  }
  std::vector<std::string> headers;
  for (auto k : keys) {
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    headers.push_back(k);
  }
  Table t(headers);
  for (const auto& item : array) {
    std::vector<std::string> row;
    for (const auto& k : keys) {
      const json& v = member(item, k);
      row.push_back(v.is_object() ? v.dump() : cell(v));
    }
    t.add_row(row);
  }
  t.print(out, indent);
}

void render_object(const json& object, std::ostream& out, const std::string& indent) {
  if (!object.is_object()) {
    if (object.is_array())
      render_array(object, out, indent);
    else
      out << indent << cell(object) << "\n";
    return;
  }
  auto nested = [](const json& v) {
    return (v.is_object() && !v.empty()) ||
           (v.is_array() && std::any_of(v.begin(), v.end(), [](const json& e) { return e.is_object(); }));
  };
  size_t width = 0;
  for (auto it = object.begin(); it != object.end(); ++it)
    if (!nested(it.value())) width = std::max(width, it.key().size());
  for (auto it = object.begin(); it != object.end(); ++it) {
    const json& v = it.value();
    if (nested(v)) {
      out << indent << it.key() << ":\n";
      render_object(v, out, indent + "  ");
    } else {
      out << indent << it.key() << ":" << std::string(width - it.key().size() + 1, ' ')
          << (v.is_object() ? "-" : cell(v)) << "\n";
    }
  }
}

}  // namespace swarm::cli
