#include "drone/backoff.hpp"

#include <algorithm>

namespace swarm::drone {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : m_initial(std::max(initial, std::chrono::milliseconds(1))),
      m_max(std::max(max, m_initial)),
      m_current(m_initial),
      m_rng(seed) {}

std::chrono::milliseconds Backoff::next() {
  ++m_attempts;
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(m_current.count()) * jitter(m_rng)));
  m_current = std::min(m_current * 2, m_max);
  return std::max(delay, std::chrono::milliseconds(1));
}

void Backoff::reset() {
  m_current = m_initial;
  m_attempts = 0;
}

}  // namespace swarm::drone
