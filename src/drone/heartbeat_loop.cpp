#include "drone/heartbeat_loop.hpp"

#include <algorithm>

#include "drone/backoff.hpp"
#include "drone/loggers.hpp"
#include "drone/orchestrator_client.hpp"

namespace swarm::drone {

namespace {
using std::chrono::milliseconds;
}  // namespace

HeartbeatLoop::HeartbeatLoop(const DroneConfig& config, DroneState& state, GatewayClient gateway,
                             std::function<RegisterRequest()> make_registration,
                             std::function<HeartbeatRequest()> make_heartbeat, const Clock& clock)
    : m_config(config), m_state(state), m_gateway(std::move(gateway)),
      m_make_registration(std::move(make_registration)), m_make_heartbeat(std::move(make_heartbeat)), m_clock(clock) {}

HeartbeatLoop::~HeartbeatLoop() { stop(); }

void HeartbeatLoop::start() {
  std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) return;
  m_stop = false;
  m_thread = std::thread([this] { run(); });
}

void HeartbeatLoop::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

void HeartbeatLoop::run() {
  Backoff backoff(seconds_ms(m_config.backoff_initial_s), seconds_ms(m_config.backoff_max_s));
  auto next_gateway = m_clock.now_steady();
  auto next_renew = m_clock.now_steady();
  std::string renewing;  // the lease the renew schedule belongs to
  while (true) {
    const auto now = m_clock.now_steady();
    if (now >= next_gateway) {
      milliseconds delay = talk_to_gateway();
      if (delay.count() < 0) {
        delay = backoff.next();
      } else {
        backoff.reset();
      }
      next_gateway = m_clock.now_steady() + delay;
    }
    auto lease = m_state.lease();
    milliseconds renew_every = seconds_ms(m_config.renew_interval_s);
    if (lease) {
      if (lease->lease_ttl_s > 0) renew_every = std::min(renew_every, seconds_ms(static_cast<double>(lease->lease_ttl_s) / 3));
      if (lease->lease_id != renewing) {
        renewing = lease->lease_id;
        next_renew = now + renew_every;  // the lease is fresh: no need to renew at once
      } else if (m_clock.now_steady() >= next_renew) {
        renew_lease();
        next_renew = m_clock.now_steady() + renew_every;
      }
    } else {
      renewing.clear();
    }
    check_drain_timeout();
    auto wake = next_gateway;
    if (lease) wake = std::min(wake, next_renew);
    // Wake at least every 200 ms to notice a new lease or a drain deadline.
    auto wait = std::clamp(std::chrono::duration_cast<milliseconds>(wake - m_clock.now_steady()), milliseconds(1),
                           milliseconds(200));
    std::unique_lock lock(m_mutex);
    if (m_cv.wait_for(lock, wait, [this] { return m_stop; })) return;
  }
}

milliseconds HeartbeatLoop::talk_to_gateway() {
  const bool registering = !m_registered || m_state.approval() != "approved";
  auto answer = registering ? m_gateway.register_drone(m_make_registration()) : m_gateway.heartbeat(m_make_heartbeat());
  if (!answer) {
    const Error& e = answer.error();
    m_state.set_gateway_error(e.message);
    // An unknown drone (gateway restarted, registry lost) registers again.
    if (e.kind == ErrorKind::unauthorized || e.kind == ErrorKind::not_found) m_registered = false;
    heartbeat_log()->warn("{} failed: {}", registering ? "registration" : "heartbeat", e.message);
    return milliseconds(-1);
  }
  m_registered = true;
  m_state.apply_gateway_answer(*answer);
  if (answer->approval != m_last_approval) {
    if (answer->approval == "approved") {
      heartbeat_log()->info("approved by the gateway");
    } else {
      heartbeat_log()->warn("the gateway answers '{}'{}{}: waiting for approval (build-swarm drone approve {})",
                     answer->approval, answer->message.empty() ? "" : ": ", answer->message, m_state.name());
    }
    m_last_approval = answer->approval;
  }
  if (answer->approval == "approved" && answer->orchestrator != m_last_orchestrator) {
    heartbeat_log()->info("orchestrator is now '{}'", answer->orchestrator);
    m_last_orchestrator = answer->orchestrator;
  }
  if (answer->approval != "approved") return milliseconds(-1);  // pending: ask again with backoff
  return seconds_ms(static_cast<double>(std::max<int64_t>(1, m_state.heartbeat_interval_s())));
}

void HeartbeatLoop::renew_lease() {
  auto lease = m_state.lease();
  if (!lease || lease->orchestrator.empty()) return;
  OrchestratorClient client(lease->orchestrator, m_state.ticket_for(lease->orchestrator),
                            seconds_ms(m_config.http_timeout_s), seconds_ms(m_config.work_poll_timeout_s));
  Status st = client.renew(lease->lease_id, lease->fence);
  if (st) return;
  if (st.error().kind == ErrorKind::conflict) {
    heartbeat_log()->warn("lease {} ({}) is no longer ours: stopping its work", lease->lease_id, lease->atom);
    m_state.revoke(lease->lease_id);
    return;
  }
  heartbeat_log()->warn("renewing lease {} failed: {}", lease->lease_id, st.error().message);
}

void HeartbeatLoop::check_drain_timeout() {
  if (m_config.drain_timeout_s <= 0 || m_state.hard_stop()) return;
  auto started = m_state.drain_started();
  if (!started) return;
  if (m_clock.now_steady() - *started >= seconds_ms(m_config.drain_timeout_s)) {
    heartbeat_log()->warn("drain timeout ({} s) reached: stopping the build", m_config.drain_timeout_s);
    m_state.request_hard_stop();
  }
}

}  // namespace swarm::drone
