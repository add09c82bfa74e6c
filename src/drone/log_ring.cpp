#include "drone/log_ring.hpp"

#include <algorithm>
#include <mutex>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "common/logging.hpp"

namespace swarm::drone {

LogRing::LogRing(size_t capacity) : m_sink(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(capacity)) {
  m_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l [%n] %v");
}

LogRing::~LogRing() { detach(); }

void LogRing::attach(const std::vector<std::string>& logger_names) {
  for (const auto& name : logger_names) {
    auto logger = component_logger(name);
    auto& sinks = logger->sinks();
    if (std::find(sinks.begin(), sinks.end(), m_sink) != sinks.end()) continue;
    sinks.push_back(m_sink);
    m_attached.push_back(name);
  }
}

void LogRing::detach() {
  for (const auto& name : m_attached) {
    if (auto logger = spdlog::get(name)) {
      auto& sinks = logger->sinks();
      sinks.erase(std::remove(sinks.begin(), sinks.end(), m_sink), sinks.end());
    }
  }
  m_attached.clear();
}

std::vector<std::string> LogRing::last(size_t n) const {
  std::vector<std::string> lines = m_sink->last_formatted(n);
  for (auto& line : lines)
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return lines;
}

}  // namespace swarm::drone
