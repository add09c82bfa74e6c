#include "drone/drone_state.hpp"

namespace swarm::drone {

namespace {
const char* activity_name(Activity a) {
  switch (a) {
    case Activity::building: return "building";
    case Activity::uploading: return "uploading";
    case Activity::idle: break;
  }
  return "idle";
}
}  // namespace

nlohmann::json DroneStatus::to_json() const {
  nlohmann::json j = {{"name", name},
                      {"approval", approval},
                      {"orchestrator", orchestrator},
                      {"activity", activity},
                      {"draining", draining},
                      {"upload_attempts", upload_attempts},
                      {"upload_failures", upload_failures},
                      {"last_upload_error", last_upload_error},
                      {"last_upload_ms", last_upload_ms},
                      {"heartbeat_interval_s", heartbeat_interval_s},
                      {"last_gateway_error", last_gateway_error},
                      {"recent", recent}};
  if (lease) {
    j["lease"] = {{"lease_id", lease->lease_id}, {"fence", lease->fence},       {"atom", lease->atom},
                  {"attempt", lease->attempt},   {"orchestrator", lease->orchestrator},
                  {"started_unix", lease->started_unix}, {"revoked", lease_revoked}};
  } else {
    j["lease"] = nullptr;
  }
  return j;
}

DroneState::DroneState(std::string name, const Clock& clock) : m_name(std::move(name)), m_clock(clock) {}

void DroneState::apply_gateway_answer(const RegisterResponse& answer) {
  std::lock_guard lock(m_mutex);
  m_approval = answer.approval;
  m_orchestrator = answer.approval == "approved" ? answer.orchestrator : "";
  if (!answer.ticket.empty()) {
    m_newest_ticket = answer.ticket;
    if (!answer.orchestrator.empty()) m_tickets[answer.orchestrator] = answer.ticket;
  }
  if (answer.heartbeat_interval_s > 0) m_heartbeat_interval_s = answer.heartbeat_interval_s;
  m_gateway_error.clear();
  m_cv.notify_all();
}

void DroneState::set_gateway_error(std::string error) {
  std::lock_guard lock(m_mutex);
  m_gateway_error = std::move(error);
}

std::string DroneState::orchestrator() const {
  std::lock_guard lock(m_mutex);
  return m_orchestrator;
}

std::string DroneState::approval() const {
  std::lock_guard lock(m_mutex);
  return m_approval;
}

int64_t DroneState::heartbeat_interval_s() const {
  std::lock_guard lock(m_mutex);
  return m_heartbeat_interval_s;
}

std::string DroneState::ticket_for(const std::string& orchestrator) const {
  std::lock_guard lock(m_mutex);
  auto it = m_tickets.find(orchestrator);
  return it != m_tickets.end() ? it->second : m_newest_ticket;
}

bool DroneState::ready_locked() const {
  return m_approval == "approved" && !m_orchestrator.empty() && !m_newest_ticket.empty();
}

bool DroneState::ready_for_work() const {
  std::lock_guard lock(m_mutex);
  return ready_locked();
}

void DroneState::set_activity(Activity activity) {
  std::lock_guard lock(m_mutex);
  m_activity = activity;
}

void DroneState::begin_lease(LeaseInfo lease) {
  std::lock_guard lock(m_mutex);
  m_lease = std::move(lease);
  m_revoked = false;
  m_cancel = m_hard_stop;
  m_upload_attempts = 0;
  m_upload_failures = 0;
  m_last_upload_error.clear();
}

void DroneState::end_lease() {
  std::lock_guard lock(m_mutex);
  m_lease.reset();
  m_revoked = false;
  m_activity = Activity::idle;
  m_cancel = m_hard_stop;
}

std::optional<LeaseInfo> DroneState::lease() const {
  std::lock_guard lock(m_mutex);
  return m_lease;
}

void DroneState::revoke(const std::string& lease_id) {
  std::lock_guard lock(m_mutex);
  if (!m_lease || m_lease->lease_id != lease_id) return;
  m_revoked = true;
  m_cancel = true;
  m_cv.notify_all();
}

bool DroneState::lease_revoked() const {
  std::lock_guard lock(m_mutex);
  return m_revoked;
}

bool DroneState::request_drain(bool restart) {
  std::lock_guard lock(m_mutex);
  if (restart) m_restart = true;
  if (m_draining) return false;
  m_draining = true;
  m_drain_started = m_clock.now_steady();
  m_cv.notify_all();
  return true;
}

void DroneState::request_hard_stop() {
  std::lock_guard lock(m_mutex);
  if (!m_draining) m_drain_started = m_clock.now_steady();
  m_draining = true;
  m_hard_stop = true;
  m_cancel = true;
  m_cv.notify_all();
}

bool DroneState::draining() const {
  std::lock_guard lock(m_mutex);
  return m_draining;
}

bool DroneState::hard_stop() const {
  std::lock_guard lock(m_mutex);
  return m_hard_stop;
}

bool DroneState::restart_requested() const {
  std::lock_guard lock(m_mutex);
  return m_restart;
}

std::optional<std::chrono::steady_clock::time_point> DroneState::drain_started() const {
  std::lock_guard lock(m_mutex);
  return m_drain_started;
}

void DroneState::note_upload(std::chrono::milliseconds took, const std::string& error) {
  std::lock_guard lock(m_mutex);
  ++m_upload_attempts;
  if (!error.empty()) ++m_upload_failures;
  m_last_upload_error = error;
  m_last_upload_ms = took.count();
}

void DroneState::record_result(std::string summary) {
  std::lock_guard lock(m_mutex);
  m_recent.push_back(std::move(summary));
  while (m_recent.size() > 20) m_recent.pop_front();
}

DroneStatus DroneState::status() const {
  std::lock_guard lock(m_mutex);
  DroneStatus s;
  s.name = m_name;
  s.approval = m_approval;
  s.orchestrator = m_orchestrator;
  s.activity = m_draining ? "draining" : activity_name(m_activity);
  s.lease = m_lease;
  s.draining = m_draining;
  s.lease_revoked = m_revoked;
  s.upload_attempts = m_upload_attempts;
  s.upload_failures = m_upload_failures;
  s.last_upload_error = m_last_upload_error;
  s.last_upload_ms = m_last_upload_ms;
  s.heartbeat_interval_s = m_heartbeat_interval_s;
  s.last_gateway_error = m_gateway_error;
  s.recent = m_recent;
  return s;
}

bool DroneState::pause(std::chrono::milliseconds d, bool wake_on_drain) const {
  std::unique_lock lock(m_mutex);
  return !m_cv.wait_for(lock, d, [&] { return m_hard_stop || (wake_on_drain && m_draining); });
}

bool DroneState::wait_ready(std::chrono::milliseconds d) const {
  std::unique_lock lock(m_mutex);
  m_cv.wait_for(lock, d, [&] { return ready_locked() || m_draining; });
  return ready_locked();
}

}  // namespace swarm::drone
