#pragma once
// Backoff: retry delays that double from an initial value up to a maximum, with +-20% jitter so a
// fleet restarted together does not retry in lockstep.

#include <chrono>
#include <cstdint>
#include <random>

namespace swarm::drone {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed = std::random_device{}());

  /// The next delay (jittered), then doubles the base up to the maximum.
  std::chrono::milliseconds next();
  /// Back to the initial delay after a success.
  void reset();
  int attempts() const { return m_attempts; }

 private:
  std::chrono::milliseconds m_initial;
  std::chrono::milliseconds m_max;
  std::chrono::milliseconds m_current;
  int m_attempts = 0;
  std::mt19937_64 m_rng;
};

}  // namespace swarm::drone
