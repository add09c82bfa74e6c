#pragma once
// OrchestratorPool: the configured orchestrators and what their last status poll said. Thread-safe;
// poll_all() fetches every status in parallel (each with its own timeout) and reports up/down changes.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "gateway/routing.hpp"

namespace swarm::gateway {

class OrchestratorPool {
 public:
  /// Called after a poll that changed an orchestrator's liveness (on the polling thread).
  using ChangeListener = std::function<void(const OrchestratorState&)>;

  OrchestratorPool(std::vector<std::string> urls, std::shared_ptr<Clock> clock, std::chrono::milliseconds timeout);

  void set_change_listener(ChangeListener listener);
  /// Fetches GET {url}/api/v1/status of every orchestrator and records the answers.
  void poll_all();
  /// A copy of every orchestrator's state, in configuration order.
  std::vector<OrchestratorState> snapshot() const;
  /// The orchestrator whose name or URL is `key`.
  std::optional<OrchestratorState> find(const std::string& key) const;
  /// The first orchestrator that answered its last poll.
  std::optional<OrchestratorState> first_live() const;
  std::vector<std::string> urls() const;

  /// Reads one status answer into `state` (fields above); false when it is not a usable status.
  static bool read_status(const nlohmann::json& status, OrchestratorState& state, std::string& error);

 private:
  OrchestratorState poll_one(OrchestratorState previous) const;

  std::shared_ptr<Clock> m_clock;
  std::chrono::milliseconds m_timeout;
  mutable std::mutex m_mutex;
  std::vector<OrchestratorState> m_states;
  ChangeListener m_listener;
  std::mutex m_poll_mutex;  // one poll at a time
};

}  // namespace swarm::gateway
