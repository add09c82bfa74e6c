#pragma once
// LogRing: the drone's recent log lines in memory, for GET /api/v1/logs on the control endpoint.

#include <memory>
#include <string>
#include <vector>

namespace spdlog::sinks {
template <typename Mutex>
class ringbuffer_sink;
}

namespace swarm::drone {

class LogRing {
 public:
  explicit LogRing(size_t capacity = 2000);
  ~LogRing();
  LogRing(const LogRing&) = delete;
  LogRing& operator=(const LogRing&) = delete;

  /// Adds the ring to these component loggers (created if needed). Call while they are not logging.
  void attach(const std::vector<std::string>& logger_names);
  /// Takes the ring off the loggers it was attached to (also done by the destructor).
  void detach();
  /// The last `n` lines, oldest first, without line ends.
  std::vector<std::string> last(size_t n) const;

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> m_sink;
  std::vector<std::string> m_attached;
};

}  // namespace swarm::drone
