#pragma once
// Clock: the one source of time. Wall time for records and expiry, monotonic for deadlines.
// FakeClock lets tests move time without sleeping.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

namespace swarm {

class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock seconds since the epoch (records, ticket expiry, Packages TIMESTAMP).
  virtual int64_t now_unix() const = 0;
  /// Wall-clock milliseconds since the epoch.
  virtual int64_t now_unix_ms() const = 0;
  /// Monotonic time for deadlines; never goes back.
  virtual std::chrono::steady_clock::time_point now_steady() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_unix() const override;
  int64_t now_unix_ms() const override;
  std::chrono::steady_clock::time_point now_steady() const override;
};

/// A clock the test moves by hand; starts at a fixed date.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_unix_ms = 1'790'000'000'000) : m_ms(start_unix_ms) {}
  int64_t now_unix() const override { return m_ms.load() / 1000; }
  int64_t now_unix_ms() const override { return m_ms.load(); }
  std::chrono::steady_clock::time_point now_steady() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(m_ms.load()));
  }
  void advance(std::chrono::milliseconds d) { m_ms += d.count(); }
  void set_unix_ms(int64_t ms) { m_ms = ms; }

 private:
  std::atomic<int64_t> m_ms;
};

/// The process-wide system clock, for code that is not given one.
std::shared_ptr<Clock> system_clock();

}  // namespace swarm
