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
  std::string kind = event;
  if (kind.empty() && parsed.is_object()) {
    if (auto it = parsed.find("kind"); it != parsed.end() && it->is_string()) kind = it->get<std::string>();
  }
  if (kind.empty()) kind = "message";
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

void EventRelay::run(const std::string& url) {
  auto log = component_logger("gateway");
  HttpClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(3000);
  HttpClient client(url, o);
  while (!m_stop) {
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
    m_cv.wait_for(lock, m_retry, [this] { return m_stop.load(); });
  }
}

}  // namespace swarm::gateway
