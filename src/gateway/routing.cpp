#include "gateway/routing.hpp"

#include <algorithm>

namespace swarm::gateway {

using nlohmann::json;

namespace {

bool accepts(const OrchestratorState& o, const std::string& hash) {
  return std::any_of(o.fingerprints.begin(), o.fingerprints.end(),
                     [&](const std::string& f) { return f.empty() || f == hash; });
}

int64_t count_for(const std::map<std::string, int64_t>& counts, const std::string& url, const std::string& current) {
  auto it = counts.find(url);
  int64_t n = it == counts.end() ? 0 : it->second;
  if (url == current && n > 0) --n;  // the drone itself does not count against where it already is
  return n;
}

// The reference to diff against: the chosen orchestrator's, else the busiest live one that has one.
json reference_for(const std::vector<const OrchestratorState*>& live, const std::string& chosen_url) {
  const OrchestratorState* best = nullptr;
  for (const auto* o : live) {
    if (!o->reference_fingerprint.is_object() || o->reference_fingerprint.empty()) continue;
    if (o->url == chosen_url) return o->reference_fingerprint;
    if (!best || o->ready > best->ready) best = o;
  }
  return best ? best->reference_fingerprint : json();
}

}  // namespace

json fingerprint_difference(const json& drone, const json& reference) {
  json diff = json::object();
  if (!reference.is_object() || reference.empty()) return diff;
  json mine = drone.is_object() ? drone : json::object();
  for (const auto& [key, value] : reference.items()) {
    if (key == "hash") continue;
    auto it = mine.find(key);
    if (it == mine.end() || *it != value) diff[key] = {{"drone", it == mine.end() ? json() : *it}, {"reference", value}};
  }
  for (const auto& [key, value] : mine.items()) {
    if (key == "hash" || reference.contains(key)) continue;
    diff[key] = {{"drone", value}, {"reference", json()}};
  }
  return diff;
}

RouteDecision choose_orchestrator(const std::vector<OrchestratorState>& orchestrators, const std::string& fingerprint_hash,
                                  const json& fingerprint, const std::string& current_url, bool busy,
                                  const std::map<std::string, int64_t>& assigned_counts) {
  std::vector<const OrchestratorState*> live;
  for (const auto& o : orchestrators)
    if (o.up) live.push_back(&o);
  RouteDecision d;
  auto finish = [&](const OrchestratorState* chosen) {
    if (chosen) {
      d.url = chosen->url;
      d.name = chosen->name;
    }
    d.fingerprint_diff = fingerprint_difference(fingerprint, reference_for(live, d.url));
    return d;
  };
  if (live.empty()) {
    d.message = "no orchestrator is reachable";
    return finish(nullptr);
  }
  const OrchestratorState* current = nullptr;
  for (const auto* o : live)
    if (o->url == current_url) current = o;
  if (busy && current) return finish(current);  // its lease lives there

  // Better: more ready work, then fewer drones, then the current one; earlier in the list wins the rest.
  auto better = [&](const OrchestratorState* a, const OrchestratorState* b) {
    if (a->ready != b->ready) return a->ready > b->ready;
    int64_t ca = count_for(assigned_counts, a->url, current_url), cb = count_for(assigned_counts, b->url, current_url);
    if (ca != cb) return ca < cb;
    return a == current && b != current;
  };
  const OrchestratorState* best = nullptr;
  bool any_work = false;
  for (const auto* o : live) {
    if (!o->fingerprints.empty()) any_work = true;
    if (!accepts(*o, fingerprint_hash)) continue;
    if (!best || better(o, best)) best = o;
  }
  if (best) return finish(best);
  if (any_work) {
    d.fingerprint_match = false;
    d.message = "fingerprint " + (fingerprint_hash.empty() ? std::string("(none)") : fingerprint_hash.substr(0, 12)) +
                " matches no orchestrator's waiting runs";
    return finish(nullptr);
  }
  // Nothing waits anywhere: park the drone on a live orchestrator so it can long-poll for the next run.
  if (current) return finish(current);
  for (const auto* o : live)
    if (!best || better(o, best)) best = o;
  return finish(best);
}

}  // namespace swarm::gateway
