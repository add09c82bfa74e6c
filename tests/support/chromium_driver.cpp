#include "support/chromium_driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace swarm::test {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

constexpr size_t kMaxQueuedEvents = 2000;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int remaining_ms(SteadyTime deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string exception_text(const json& details) {
  if (details.contains("exception") && details["exception"].contains("description"))
    return details["exception"]["description"].get<std::string>();
  return details.value("text", std::string("exception"));
}

}  // namespace

Result<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return make_error(ErrorKind::invalid, "base64: bad length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = base64_value(c);
    if (v < 0) return make_error(ErrorKind::invalid, std::string("base64: bad character '") + c + "'");
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

ChromiumDriver::ChromiumDriver(ChromiumOptions options) : m_options(std::move(options)) {}

ChromiumDriver::~ChromiumDriver() { stop(); }

Result<std::unique_ptr<ChromiumDriver>> ChromiumDriver::start(ChromiumOptions options) {
  std::unique_ptr<ChromiumDriver> d(new ChromiumDriver(std::move(options)));
  if (auto st = d->launch(); !st) return st.error();
  // Start-up may be slow on a loaded machine: the first answer gets at least 30 s.
  auto command_timeout = d->m_options.command_timeout;
  d->m_options.command_timeout = std::max(command_timeout, std::chrono::milliseconds(30'000));
  auto version = d->call("Browser.getVersion", json::object(), false);
  d->m_options.command_timeout = command_timeout;
  if (!version) return make_error(version.error().kind, "chromium did not answer: " + version.error().message);
  return d;
}

Status ChromiumDriver::launch() {
  if (access(m_options.executable.c_str(), X_OK) != 0)
    return make_error(ErrorKind::not_found, m_options.executable.string() + " is not executable");
  // One socket pair seen by Chromium as both fds 3 and 4: sockets let us write with MSG_NOSIGNAL.
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return make_error(ErrorKind::io, std::string("socketpair: ") + std::strerror(errno));
  std::vector<std::string> args = {
      m_options.executable.string(),
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--no-proxy-server",
      "--mute-audio",
      "--hide-scrollbars",
      "--window-size=" + std::to_string(m_options.width) + "," + std::to_string(m_options.height),
      "--user-data-dir=" + m_profile.path().string(),
      "--remote-debugging-pipe",
      "about:blank"};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log = m_options.log.empty() ? std::string("/dev/null") : m_options.log.string();

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 4);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawn(&m_pid, m_options.executable.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    m_pid = -1;
    return make_error(ErrorKind::io, "cannot start " + m_options.executable.string() + ": " + std::strerror(rc));
  }
  m_fd = sv[0];
  return {};
}

Status ChromiumDriver::send(const json& message) {
  if (m_fd < 0) return make_error(ErrorKind::io, "chromium is not running");
  std::string data = message.dump();
  data.push_back('\0');
  size_t done = 0;
  auto deadline = std::chrono::steady_clock::now() + m_options.command_timeout;
  while (done < data.size()) {
    pollfd p{m_fd, POLLOUT, 0};
    int r = poll(&p, 1, remaining_ms(deadline));
    if (r == 0) return make_error(ErrorKind::timeout, "chromium does not read its commands");
    if (r < 0 && errno == EINTR) continue;
    ssize_t n = ::send(m_fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return make_error(ErrorKind::io, std::string("writing to chromium: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return {};
}

Status ChromiumDriver::read_message(json& out, SteadyTime deadline) {
  while (true) {
    auto nul = m_buffer.find('\0');
    if (nul != std::string::npos) {
      std::string text = m_buffer.substr(0, nul);
      m_buffer.erase(0, nul + 1);
      out = json::parse(text, nullptr, false);
      if (out.is_discarded()) return make_error(ErrorKind::protocol, "chromium sent bad JSON: " + text.substr(0, 200));
      if (!out.contains("id")) note_event(out);
      return {};
    }
    if (m_fd < 0) return make_error(ErrorKind::io, "chromium is not running");
    pollfd p{m_fd, POLLIN, 0};
    int r = poll(&p, 1, remaining_ms(deadline));
    if (r == 0) return make_error(ErrorKind::timeout, "no message from chromium before the deadline");
    if (r < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorKind::io, std::string("poll: ") + std::strerror(errno));
    }
    std::array<char, 65536> chunk;
    ssize_t n = recv(m_fd, chunk.data(), chunk.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      close(m_fd);
      m_fd = -1;  // Chromium is gone: later calls fail at once instead of waiting out their deadline
      return make_error(ErrorKind::io, "chromium closed the DevTools pipe");
    }
    m_buffer.append(chunk.data(), static_cast<size_t>(n));
  }
}

void ChromiumDriver::note_event(const json& event) {
  std::string method = event.value("method", std::string());
  const json& params = event.contains("params") ? event["params"] : json::object();
  if (method == "Runtime.exceptionThrown" && params.contains("exceptionDetails")) {
    m_errors.push_back("exception: " + exception_text(params["exceptionDetails"]));
  } else if (method == "Runtime.consoleAPICalled" && params.value("type", std::string()) == "error") {
    std::string line = "console.error:";
    for (const auto& a : params.value("args", json::array()))
      line += " " + (a.contains("value") ? a["value"].dump() : a.value("description", std::string("?")));
    m_errors.push_back(line);
  } else if (method == "Log.entryAdded" && params.contains("entry") && params["entry"].value("level", "") == "error") {
    m_errors.push_back("log: " + params["entry"].value("text", std::string()) + " " +
                       params["entry"].value("url", std::string()));
  }
  m_events.push_back(event);
  if (m_events.size() > kMaxQueuedEvents) m_events.pop_front();
}

Result<json> ChromiumDriver::call(const std::string& method, const json& params, bool to_page) {
  if (to_page && m_session.empty()) return make_error(ErrorKind::invalid, method + ": no page open (navigate first)");
  int64_t id = m_next_id++;
  json message = {{"id", id}, {"method", method}, {"params", params}};
  if (to_page) message["sessionId"] = m_session;
  if (auto st = send(message); !st) return st.error();
  auto deadline = std::chrono::steady_clock::now() + m_options.command_timeout;
  while (true) {
    json reply;
    if (auto st = read_message(reply, deadline); !st)
      return make_error(st.error().kind, method + ": " + st.error().message);
    if (!reply.contains("id") || reply["id"] != id) continue;
    if (reply.contains("error"))
      return make_error(ErrorKind::protocol, method + ": " + reply["error"].value("message", reply["error"].dump()));
    return reply.value("result", json::object());
  }
}

Status ChromiumDriver::wait_event(const std::string& method, SteadyTime deadline) {
  auto matches = [&](const json& e) {
    return e.value("method", std::string()) == method && e.value("sessionId", std::string()) == m_session;
  };
  for (auto it = m_events.begin(); it != m_events.end(); ++it) {
    if (matches(*it)) {
      m_events.erase(it);
      return {};
    }
  }
  while (true) {
    json message;
    if (auto st = read_message(message, deadline); !st)
      return make_error(st.error().kind, method + ": " + st.error().message);
    if (!message.contains("id") && matches(message)) {
      m_events.pop_back();  // note_event queued it last
      return {};
    }
  }
}

Status ChromiumDriver::navigate(const std::string& url) {
  if (m_session.empty()) {
    auto target = call("Target.createTarget", {{"url", "about:blank"}}, false);
    if (!target) return target.error();
    auto attached = call("Target.attachToTarget", {{"targetId", (*target)["targetId"]}, {"flatten", true}}, false);
    if (!attached) return attached.error();
    m_session = (*attached)["sessionId"].get<std::string>();
    for (const char* domain : {"Page.enable", "Runtime.enable", "Log.enable"})
      if (auto r = call(domain); !r) return r.error();
    auto metrics =
        call("Emulation.setDeviceMetricsOverride",
             {{"width", m_options.width}, {"height", m_options.height}, {"deviceScaleFactor", 1}, {"mobile", false}});
    if (!metrics) return metrics.error();
  }
  // Load events of an earlier document must not satisfy this navigation.
  std::erase_if(m_events, [](const json& e) { return e.value("method", std::string()) == "Page.loadEventFired"; });
  auto nav = call("Page.navigate", {{"url", url}});
  if (!nav) return nav.error();
  if (!nav->value("errorText", std::string()).empty())
    return make_error(ErrorKind::io, "navigating to " + url + ": " + (*nav)["errorText"].get<std::string>());
  if (auto st = wait_event("Page.loadEventFired", std::chrono::steady_clock::now() + m_options.command_timeout); !st)
    return st;
  if (!wait_until("document.readyState === 'complete' && location.href !== 'about:blank'", m_options.command_timeout))
    return make_error(ErrorKind::timeout, "page " + url + " did not finish loading");
  return {};
}

Result<json> ChromiumDriver::evaluate(const std::string& js) {
  auto r = call("Runtime.evaluate", {{"expression", js}, {"returnByValue", true}, {"awaitPromise", true}});
  if (!r) return r.error();
  if (r->contains("exceptionDetails"))
    return make_error(ErrorKind::invalid,
                      "evaluating `" + js.substr(0, 120) + "`: " + exception_text((*r)["exceptionDetails"]));
  const json& value = (*r)["result"];
  return value.contains("value") ? value["value"] : json();
}

bool ChromiumDriver::wait_until(const std::string& js, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    auto r = evaluate(js);
    if (r && *r == true) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    // Between tries, wait on the pipe (collecting events) rather than sleeping blindly.
    auto pause = std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    json message;
    while (read_message(message, pause)) {
    }
    if (m_fd < 0) return false;
  }
}

Status ChromiumDriver::screenshot(const fs::path& path) {
  auto shot = call("Page.captureScreenshot", {{"format", "png"}, {"captureBeyondViewport", true}});
  if (!shot) return shot.error();
  auto png = base64_decode(shot->value("data", std::string()));
  if (!png) return png.error();
  try {
    write_file(path, *png);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::io, e.what());
  }
  return {};
}

std::vector<std::string> ChromiumDriver::page_errors() { return m_errors; }

void ChromiumDriver::stop() noexcept {
  if (m_pid <= 0) return;
  int status = 0;
  bool reaped = false;
  try {
    // Browser.close lets Chromium flush its profile; the kill below catches whatever remains.
    if (m_fd >= 0) (void)send({{"id", m_next_id++}, {"method", "Browser.close"}, {"params", json::object()}});
    reaped = wait_for([&] { return waitpid(m_pid, &status, WNOHANG) == m_pid; }, std::chrono::seconds(5));
  } catch (...) {
    reaped = false;  // out of memory at worst: go straight to the kill
  }
  ::kill(-m_pid, SIGKILL);
  if (!reaped) waitpid(m_pid, &status, 0);
  if (m_fd >= 0) close(m_fd);
  m_fd = -1;
  m_pid = -1;
}

}  // namespace swarm::test
