#pragma once
// EventHub: the gateway's live event stream (GET /api/v1/events). Every event is one SSE `data:` line
// holding a JSON envelope {source: "gateway"|"orchestrator", orchestrator?, kind, ts_ms, drone?, data},
// sent without an `event:` name so that EventSource.onmessage sees them all. Keeps the last few for
// GET /api/v1/events/recent. Thread-safe.

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http_server.hpp"

namespace swarm::gateway {

class EventHub {
 public:
  explicit EventHub(size_t recent_limit = 200) : m_recent_limit(recent_limit) {}

  /// Adds a subscriber; it gets every event published from now on.
  void subscribe(std::shared_ptr<EventStream> stream);
  /// Sends `envelope` to every open subscriber and remembers it among the recent ones.
  void publish(const nlohmann::json& envelope);
  /// The newest `limit` events, oldest first.
  std::vector<nlohmann::json> recent(size_t limit) const;
  /// Sends a keep-alive comment to every subscriber and forgets closed ones.
  void keepalive();
  size_t subscribers() const;
  /// Closes every subscriber (shutdown).
  void close_all();

 private:
  size_t m_recent_limit;
  mutable std::mutex m_mutex;
  std::vector<std::shared_ptr<EventStream>> m_streams;
  std::deque<nlohmann::json> m_recent;
};

}  // namespace swarm::gateway
