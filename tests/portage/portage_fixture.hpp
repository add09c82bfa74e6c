#pragma once
// Real Portage for tests: throwaway prefixes made by scripts/portage-prefix.sh (Portage run
// uninstalled from its source tree, as its own test suite does), the test ebuild repositories, an
// OpenPGP keyring per prefix, and a whole swarm whose drones build with real emerge.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/process_runner.hpp"
#include "support/daemon_process.hpp"
#include "support/sshd_fixture.hpp"
#include "support/test_support.hpp"

namespace swarm::test {

/// Where Portage's source is (or "system"), or why there is none.
struct PortageSource {
  std::string path;
  std::string why_not;
  bool found() const { return !path.empty(); }
};
/// Found once per test executable (unpacking ../shared/portage on first use).
const PortageSource& portage_source();

#define SKIP_WITHOUT_PORTAGE()                                                                            \
  do {                                                                                                   \
    if (!::swarm::test::portage_source().found()) GTEST_SKIP() << ::swarm::test::portage_source().why_not; \
  } while (0)

/// Writes the test repositories `swarmtest` (main) and `swarmlay` (overlay) into `dir`.
void write_test_repos(const std::filesystem::path& dir);

/// Runs a command to its end with a timeout (scaled), output to `log`; the result.
ProcessResult run_logged(const std::vector<std::string>& argv, const std::filesystem::path& log,
                         std::chrono::seconds timeout, const std::map<std::string, std::string>& env = {});

class PortagePrefix {
 public:
  struct Options {
    std::filesystem::path repos;  // holds swarmtest/ and swarmlay/
    std::string binhost;          // binrepos.conf sync-uri, empty for none
    bool verify_signature = true;
    std::vector<std::string> make_conf;  // extra lines
  };
  PortagePrefix(std::filesystem::path root, const Options& options);

  const std::filesystem::path& root() const { return m_root; }
  std::filesystem::path bin(const std::string& tool) const { return m_root / "bin" / tool; }
  std::filesystem::path pkgdir() const { return m_root / "var/cache/binpkgs"; }
  std::filesystem::path etc_portage() const { return m_root / "etc/portage"; }
  std::filesystem::path gnupg() const { return etc_portage() / "gnupg"; }

  /// Runs this prefix's emerge; its output goes to `log`.
  ProcessResult emerge(const std::vector<std::string>& args, const std::filesystem::path& log,
                       std::chrono::seconds timeout = std::chrono::seconds(900)) const;
  /// Makes Portage trust the armored public key `key` (the steps of `binhost client-config`); false if a
  /// gpg step fails.
  bool trust_key(const std::filesystem::path& key) const;
  /// Whether the package is installed in the prefix (its vdb entry exists).
  bool installed(const std::string& cpv) const;

 private:
  std::filesystem::path m_root;
};

/// gateway + orchestrator (signing with a key made in the test) + sshd + N drones on real emerge.
class PortageSwarm {
 public:
  /// `drones` running drones d1..dN; `spare` more names (tokens, upload keys) for add_drone().
  explicit PortageSwarm(int drones, int spare = 1);
  ~PortageSwarm();

  /// The orchestrator's binhost URL and signing key (armored public key file).
  std::string binhost_url() const { return orch_url + "/binhost"; }
  std::filesystem::path public_key() const { return dir / "swarm-key.asc"; }
  PortagePrefix& drone_prefix(int i) { return *prefixes.at(static_cast<size_t>(i)); }
  /// Starts the next drone (a fresh prefix); its index in drones/prefixes.
  int add_drone();
  /// SIGTERM to every running drone, waiting for each to exit.
  void stop_drones();
  /// Runs the build-swarm CLI as an admin; its output in `log`.
  ProcessResult cli(const std::vector<std::string>& args, const std::filesystem::path& log) const;
  nlohmann::json queue() const;
  /// The queue row of `cpv` (first match), or null.
  nlohmann::json row(const std::string& cpv) const;
  std::string logs() const;

  TempDir dir;
  std::string gateway_url, orch_url;
  std::unique_ptr<DaemonProcess> gateway, orchestrator;
  std::vector<std::unique_ptr<DaemonProcess>> drones;
  std::vector<std::unique_ptr<PortagePrefix>> prefixes;
  std::unique_ptr<SshdFixture> sshd;
  std::filesystem::path repos;
};

}  // namespace swarm::test
