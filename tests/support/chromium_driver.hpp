#pragma once
// ChromiumDriver: a headless Chromium started by a test, driven through the DevTools protocol over
// --remote-debugging-pipe (fds 3 and 4, NUL-terminated JSON), enough to load a page, evaluate
// JavaScript in it and take a screenshot. Every read has a deadline.

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "support/test_support.hpp"

namespace swarm::test {

struct ChromiumOptions {
  std::filesystem::path executable = "/usr/bin/chromium";
  std::chrono::milliseconds command_timeout{20'000};  // one DevTools command, answer included
  int width = 1280;
  int height = 1100;
  std::filesystem::path log;  // Chromium's stdout and stderr; empty: /dev/null
};

/// Decodes standard base64 (RFC 4648 section 4, '=' padding optional); invalid on any other character.
Result<std::string> base64_decode(std::string_view text);

class ChromiumDriver {
 public:
  ~ChromiumDriver();
  ChromiumDriver(const ChromiumDriver&) = delete;
  ChromiumDriver& operator=(const ChromiumDriver&) = delete;

  /// Starts Chromium headless with a fresh profile and checks that the protocol answers; error if it cannot.
  static Result<std::unique_ptr<ChromiumDriver>> start(ChromiumOptions options = {});
  /// Opens a page (first call) and navigates it to `url`, waiting for its load event.
  Status navigate(const std::string& url);
  /// Evaluates `js` in the page, awaiting a promise; the value (returnByValue) or the exception as an error.
  Result<nlohmann::json> evaluate(const std::string& js);
  /// Polls `js` until it evaluates to true or `deadline` passes; whether it did.
  bool wait_until(const std::string& js, std::chrono::milliseconds deadline);
  /// Writes a PNG screenshot of the page to `path`.
  Status screenshot(const std::filesystem::path& path);
  /// Sends one DevTools command (to the page's session when `to_page`) and returns its `result`.
  Result<nlohmann::json> call(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                              bool to_page = true);
  /// Uncaught exceptions and console errors the page reported so far, one line each.
  std::vector<std::string> page_errors();
  /// Asks the browser to close, then kills its process group; idempotent.
  void stop() noexcept;
  /// Changes the limit for each following DevTools command (a test of timeouts shortens it briefly).
  void set_command_timeout(std::chrono::milliseconds timeout) { m_options.command_timeout = timeout; }
  /// The browser's process id (also its process group), -1 once stopped.
  pid_t pid() const { return m_pid; }

 private:
  explicit ChromiumDriver(ChromiumOptions options);
  Status launch();
  Status send(const nlohmann::json& message);
  /// Reads one message into `out` before `deadline`; events are also queued in m_events.
  Status read_message(nlohmann::json& out, std::chrono::steady_clock::time_point deadline);
  /// Waits for an event `method` of the page session; consumes it from the queue.
  Status wait_event(const std::string& method, std::chrono::steady_clock::time_point deadline);
  void note_event(const nlohmann::json& event);

  ChromiumOptions m_options;
  TempDir m_profile;
  pid_t m_pid = -1;
  int m_fd = -1;  // our end of the socket pair Chromium sees as fds 3 and 4
  std::string m_buffer;
  int64_t m_next_id = 1;
  std::string m_session;
  std::deque<nlohmann::json> m_events;
  std::vector<std::string> m_errors;
};

}  // namespace swarm::test
