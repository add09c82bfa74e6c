#pragma once
// SignalWatcher: SIGINT/SIGTERM/SIGHUP delivered to a callback on one dedicated thread (sigwait),
// so daemons decide what a first and a second SIGTERM mean.

#include <functional>
#include <thread>

namespace swarm {

class SignalWatcher {
 public:
  /// Blocks the signals in the calling thread (call before starting other threads) and watches them.
  explicit SignalWatcher(std::function<void(int signal)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::function<void(int)> m_on_signal;
  std::thread m_thread;
  int m_wake_pipe[2] = {-1, -1};
};

}  // namespace swarm
