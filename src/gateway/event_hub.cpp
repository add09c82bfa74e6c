#include "gateway/event_hub.hpp"

#include <algorithm>

namespace swarm::gateway {

void EventHub::subscribe(std::shared_ptr<EventStream> stream) {
  std::lock_guard lock(m_mutex);
  stream->send_comment("build-swarm gateway events");
  m_streams.push_back(std::move(stream));
}

void EventHub::publish(const nlohmann::json& envelope) {
  std::string data = envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(m_mutex);
  m_recent.push_back(envelope);
  while (m_recent.size() > m_recent_limit) m_recent.pop_front();
  std::erase_if(m_streams, [&](const std::shared_ptr<EventStream>& s) { return !s->send_event("", data); });
}

std::vector<nlohmann::json> EventHub::recent(size_t limit) const {
  std::lock_guard lock(m_mutex);
  size_t n = std::min(limit, m_recent.size());
  return {m_recent.end() - static_cast<std::ptrdiff_t>(n), m_recent.end()};
}

void EventHub::keepalive() {
  std::lock_guard lock(m_mutex);
  std::erase_if(m_streams, [](const std::shared_ptr<EventStream>& s) { return !s->send_comment("keepalive"); });
}

size_t EventHub::subscribers() const {
  std::lock_guard lock(m_mutex);
  return static_cast<size_t>(std::count_if(m_streams.begin(), m_streams.end(), [](const auto& s) { return !s->closed(); }));
}

void EventHub::close_all() {
  std::vector<std::shared_ptr<EventStream>> streams;
  {
    std::lock_guard lock(m_mutex);
    streams.swap(m_streams);
  }
  for (auto& s : streams) s->close();
}

}  // namespace swarm::gateway
