#pragma once
// EventRelay: one thread per orchestrator reading its GET /api/v1/events stream and republishing each
// event on the gateway's EventHub, tagged with the orchestrator's name; reconnects after a pause.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "gateway/event_hub.hpp"
#include "gateway/orchestrator_pool.hpp"

namespace swarm::gateway {

class EventRelay {
 public:
  /// `pool` and `hub` must outlive the relay.
  EventRelay(OrchestratorPool& pool, EventHub& hub, std::shared_ptr<Clock> clock, std::chrono::milliseconds retry,
             std::chrono::milliseconds idle_timeout);
  ~EventRelay();
  EventRelay(const EventRelay&) = delete;
  EventRelay& operator=(const EventRelay&) = delete;

  /// Starts one thread per orchestrator.
  void start();
  /// Stops and joins the threads (within about 100 ms). Idempotent.
  void stop();
  /// Ends the waits between attempts now (an orchestrator came up).
  void wake();

  /// The envelope an orchestrator's event becomes on the gateway's stream (kind: data.kind, else the SSE name).
  static nlohmann::json envelope(const std::string& orchestrator_name, const std::string& url, const std::string& event,
                                 const std::string& data, int64_t ts_ms);

 private:
  void run(const std::string& url);

  OrchestratorPool& m_pool;
  EventHub& m_hub;
  std::shared_ptr<Clock> m_clock;
  std::chrono::milliseconds m_retry;
  std::chrono::milliseconds m_idle_timeout;
  std::atomic<bool> m_stop{false};
  std::mutex m_mutex;
  std::condition_variable m_cv;
  uint64_t m_wakeups = 0;
  std::vector<std::thread> m_threads;
};

}  // namespace swarm::gateway
