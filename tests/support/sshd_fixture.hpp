#pragma once
// SshdFixture: a real OpenSSH server on a free loopback port for upload tests, with generated host
// and user keys and the orchestrator's restriction (rrsync -wo -no-lock into STAGING/<drone>).
// Never touches the system's own sshd: its own config, keys, pid file and port.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace swarm::test {

class SshdFixture {
 public:
  /// Uploads land in `staging_root`/`drone_name` (created).
  SshdFixture(std::filesystem::path staging_root, std::string drone_name);
  ~SshdFixture();
  SshdFixture(const SshdFixture&) = delete;
  SshdFixture& operator=(const SshdFixture&) = delete;

  /// Also accepts uploads from `name` (its own key, into STAGING/<name>); call before start().
  void add_drone(const std::string& name) { m_more_drones.push_back(name); }
  /// The private key `name` uploads with (the first drone's is user_key()).
  std::filesystem::path user_key(const std::string& name) const {
    return name == m_drone ? user_key() : m_dir.path() / ("user_key-" + name);
  }

  /// Generates keys and config, starts `sshd -D -e` and waits until the port accepts; false with
  /// `error()` set when it cannot.
  bool start();
  /// Stops sshd (continuing it first if stopped). Idempotent.
  void stop();

  uint16_t port() const { return m_port; }
  pid_t pid() const { return m_pid; }
  /// The private key the drone uploads with.
  std::filesystem::path user_key() const { return m_dir.path() / "user_key"; }
  /// known_hosts pinning this server's host key as [127.0.0.1]:PORT.
  std::filesystem::path known_hosts() const { return m_dir.path() / "known_hosts"; }
  /// STAGING/<drone>: the rrsync root.
  std::filesystem::path staging_dir() const { return m_staging_root / m_drone; }
  /// The login name (the current user).
  const std::string& user() const { return m_user; }
  const std::string& error() const { return m_error; }
  /// sshd's own stderr, for failure messages.
  std::string log() const;

  /// The listener and every process below it (connection handlers, rrsync, rsync).
  std::vector<pid_t> process_tree() const;
  /// Sends `sig` to the listener and all its descendants (SIGSTOP/SIGCONT to simulate a hang).
  void signal_tree(int sig) const;

 private:
  TempDir m_dir;
  std::filesystem::path m_staging_root;
  std::string m_drone;
  std::vector<std::string> m_more_drones;
  std::string m_user;
  std::string m_error;
  uint16_t m_port = 0;
  pid_t m_pid = -1;
};

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
uint16_t free_loopback_port();

}  // namespace swarm::test
