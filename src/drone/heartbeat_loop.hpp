#pragma once
// HeartbeatLoop: the drone's second thread. Registers with the gateway (backoff and jitter while it
// fails or the drone is pending), heartbeats every heartbeat_interval, renews the current lease
// with its orchestrator every few seconds (409: the build stops at once), and turns a drain that
// outlived --drain-timeout into a hard stop.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/clock.hpp"
#include "common/messages.hpp"
#include "drone/drone_config.hpp"
#include "drone/drone_state.hpp"
#include "drone/gateway_client.hpp"

namespace swarm::drone {

class HeartbeatLoop {
 public:
  /// `make_registration` builds the register body (called on this loop's thread); all must outlive the loop.
  HeartbeatLoop(const DroneConfig& config, DroneState& state, GatewayClient gateway,
                std::function<RegisterRequest()> make_registration, std::function<HeartbeatRequest()> make_heartbeat,
                const Clock& clock);
  ~HeartbeatLoop();
  HeartbeatLoop(const HeartbeatLoop&) = delete;
  HeartbeatLoop& operator=(const HeartbeatLoop&) = delete;

  /// Starts the thread (once).
  void start();
  /// Stops and joins the thread. Idempotent.
  void stop();

 private:
  void run();
  /// One register or heartbeat call; returns the delay until the next one.
  std::chrono::milliseconds talk_to_gateway();
  void renew_lease();
  void check_drain_timeout();

  const DroneConfig& m_config;
  DroneState& m_state;
  GatewayClient m_gateway;
  std::function<RegisterRequest()> m_make_registration;
  std::function<HeartbeatRequest()> m_make_heartbeat;
  const Clock& m_clock;

  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;

  // Only touched by the loop's thread.
  bool m_registered = false;
  std::string m_last_approval;
  std::string m_last_orchestrator;
};

}  // namespace swarm::drone
