#pragma once
// A real swarm-orchestrator process for integration tests, with a test-owned gateway key to sign
// drone and admin tickets, and helpers to stage gpkg uploads the way rsync would.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "support/daemon_process.hpp"
#include "support/test_support.hpp"

namespace swarm::test {

class OrchestratorFixture {
 public:
  explicit OrchestratorFixture(std::vector<std::string> extra_args = {});
  ~OrchestratorFixture();

  /// (Re)starts the orchestrator on the same data directory.
  void start();
  void kill9();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  HttpClient admin() const;
  HttpClient drone(const std::string& name, const std::string& fp = "") const;
  std::string ticket(const std::string& subject, const std::string& role, int64_t ttl_s = 600,
                     const std::string& audience = "orch", const std::string& fp = "") const;
  /// Submits atoms; returns the answer JSON.
  nlohmann::json submit(const std::vector<std::string>& atoms);
  /// POST /work with wait=0; the lease or nothing.
  std::optional<nlohmann::json> work(const std::string& drone);
  /// Writes a valid gpkg for `cpv` into the lease's staging directory; returns {path, sha256, size}.
  nlohmann::json stage(const std::string& drone, const nlohmann::json& lease, int64_t image_kb = 4);
  nlohmann::json complete(const std::string& drone, const nlohmann::json& lease, const nlohmann::json& staged);
  /// The current Packages served over HTTP.
  std::string packages();
  std::string state_of(const std::string& atom);
  std::filesystem::path data() const { return m_dir.path() / "data"; }
  std::filesystem::path dir() const { return m_dir.path(); }
  DaemonProcess& process() { return *m_proc; }

 private:
  TempDir m_dir;
  Ed25519Key m_key;
  std::vector<std::string> m_extra;
  std::unique_ptr<DaemonProcess> m_proc;
  uint16_t m_port = 0;
  int m_starts = 0;
};

}  // namespace swarm::test
