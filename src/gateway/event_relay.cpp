#include "gateway/event_relay.hpp"

#include "common/http_client.hpp"
#include "common/logging.hpp"

namespace swarm::gateway {

using nlohmann::json;

EventRelay::EventRelay(OrchestratorPool& pool, EventHub& hub, std::shared_ptr<Clock> clock,
                       std::chrono::milliseconds retry, std::chrono::milliseconds idle_timeout)
    : m_pool(pool), m_hub(hub), m_clock(std::move(clock)), m_retry(retry), m_idle_timeout(idle_timeout) {}

EventRelay::~EventRelay() { stop(); }

json EventRelay::envelope(const std::string& orchestrator_name, const std::string& url, const std::string& event,
                          const std::string& data, int64_t ts_ms) {
  json parsed = json::parse(data, nullptr, false);
  // Orchestrators name every SSE event "event" and put what happened in data.kind.
  std::string kind;
  if (parsed.is_object()) {
    if (auto it = parsed.find("kind"); it != parsed.end() && it->is_string()) kind = it->get<std::string>();
  }
  if (kind.empty()) kind = event.empty() ? "message" : event;
  return {{"source", "orchestrator"}, {"orchestrator", orchestrator_name}, {"url", url}, {"kind", kind},
          {"ts_ms", ts_ms}, {"data", parsed.is_discarded() ? json(data) : parsed}};
}

void EventRelay::start() {
  for (const auto& url : m_pool.urls()) m_threads.emplace_back([this, url] { run(url); });
}

void EventRelay::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  for (auto& t : m_threads)
    if (t.joinable()) t.join();
  m_threads.clear();
}

void EventRelay::wake() {
  {
    std::lock_guard lock(m_mutex);
    ++m_wakeups;
  }
  m_cv.notify_all();
}

void EventRelay::run(const std::string& url) {
  auto log = component_logger("gateway");
  HttpClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(3000);
  HttpClient client(url, o);
  while (!m_stop) {
    uint64_t seen = 0;
    {
      std::lock_guard lock(m_mutex);
      seen = m_wakeups;  // taken before looking, so a wake-up in between is not lost
    }
    auto state = m_pool.find(url);
    if (state && state->up) {
      std::string name = state->name;
      auto st = client.stream_events(
          "/api/v1/events",
          [&](const std::string& event, const std::string& data) {
            m_hub.publish(envelope(name, url, event, data, m_clock->now_unix_ms()));
          },
          m_stop, m_idle_timeout);
      if (!st && !m_stop) log->debug("event stream of {} ended: {}", url, st.error().message);
    }
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, m_retry, [&] { return m_stop.load() || m_wakeups != seen; });
  }
}

}  // namespace swarm::gateway
