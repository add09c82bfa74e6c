#include "gateway/orchestrator_pool.hpp"

#include <future>

#include "common/http_client.hpp"
#include "common/logging.hpp"

namespace swarm::gateway {

using nlohmann::json;

OrchestratorPool::OrchestratorPool(std::vector<std::string> urls, std::shared_ptr<Clock> clock,
                                   std::chrono::milliseconds timeout)
    : m_clock(std::move(clock)), m_timeout(timeout) {
  for (auto& url : urls) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    OrchestratorState s;
    s.url = url;
    s.name = url;
    s.error = "not polled yet";
    m_states.push_back(std::move(s));
  }
}

void OrchestratorPool::set_change_listener(ChangeListener listener) {
  std::lock_guard lock(m_mutex);
  m_listener = std::move(listener);
}

bool OrchestratorPool::read_status(const json& status, OrchestratorState& s, std::string& error) {
  if (!status.is_object()) {
    error = "status is not a JSON object";
    return false;
  }
  if (auto it = status.find("name"); it != status.end() && it->is_string() && !it->get<std::string>().empty()) {
    s.name = it->get<std::string>();
  } else {
    error = "status has no 'name'";
    return false;
  }
  s.ready = 0;
  if (auto it = status.find("ready"); it != status.end() && it->is_number_integer()) s.ready = it->get<int64_t>();
  s.queue = json::object();
  if (auto it = status.find("queue"); it != status.end() && it->is_object()) {
    for (const auto& [k, v] : it->items())
      if (v.is_number_integer()) s.queue[k] = v.get<int64_t>();
  }
  s.fingerprints.clear();
  if (auto it = status.find("fingerprints"); it != status.end() && it->is_array()) {
    for (const auto& f : *it)
      if (f.is_string()) s.fingerprints.push_back(f.get<std::string>());
  }
  s.reference_fingerprint = json();
  if (auto it = status.find("reference_fingerprint"); it != status.end() && it->is_object() && !it->empty())
    s.reference_fingerprint = *it;
  s.runs = json::array();
  if (auto it = status.find("runs"); it != status.end() && it->is_array()) s.runs = *it;
  return true;
}

OrchestratorState OrchestratorPool::poll_one(OrchestratorState s) const {
  HttpClientOptions o;
  o.connect_timeout = std::min(m_timeout, std::chrono::milliseconds(3000));
  o.total_timeout = m_timeout;
  HttpClient client(s.url, o);
  s.last_poll_ms = m_clock->now_unix_ms();
  auto r = client.get("/api/v1/status");
  std::string error;
  if (!r) {
    error = r.error().message;
  } else if (r->status != 200) {
    error = "status answered HTTP " + std::to_string(r->status) + ": " + r->error_message();
  } else if (auto j = r->json(); !j) {
    error = j.error().message;
  } else if (OrchestratorState next = s; read_status(*j, next, error)) {
    next.up = true;
    next.error.clear();
    next.last_ok_ms = s.last_poll_ms;
    return next;
  }
  s.up = false;
  s.error = error;
  return s;
}

void OrchestratorPool::poll_all() {
  std::lock_guard poll_lock(m_poll_mutex);
  auto before = snapshot();
  std::vector<std::future<OrchestratorState>> futures;
  for (const auto& s : before) futures.push_back(std::async(std::launch::async, [this, s] { return poll_one(s); }));
  std::vector<OrchestratorState> after;
  for (auto& f : futures) after.push_back(f.get());
  ChangeListener listener;
  {
    std::lock_guard lock(m_mutex);
    m_states = after;
    listener = m_listener;
  }
  auto log = component_logger("gateway");
  for (size_t i = 0; i < after.size(); ++i) {
    bool first = before[i].last_poll_ms == 0;
    if (after[i].up == before[i].up && !first) continue;
    if (after[i].up) {
      log->info("orchestrator {} ({}) is up", after[i].name, after[i].url);
    } else {
      log->warn("orchestrator {} is down: {}", after[i].url, after[i].error);
    }
    if (listener) listener(after[i]);
  }
}

std::vector<OrchestratorState> OrchestratorPool::snapshot() const {
  std::lock_guard lock(m_mutex);
  return m_states;
}

std::optional<OrchestratorState> OrchestratorPool::find(const std::string& key) const {
  std::lock_guard lock(m_mutex);
  std::string k = key;
  while (!k.empty() && k.back() == '/') k.pop_back();
  for (const auto& s : m_states)
    if (s.name == k || s.url == k) return s;
  return std::nullopt;
}

std::optional<OrchestratorState> OrchestratorPool::first_live() const {
  std::lock_guard lock(m_mutex);
  for (const auto& s : m_states)
    if (s.up) return s;
  return std::nullopt;
}

std::vector<std::string> OrchestratorPool::urls() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> out;
  for (const auto& s : m_states) out.push_back(s.url);
  return out;
}

}  // namespace swarm::gateway
