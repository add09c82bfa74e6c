#pragma once
// GpgSigner: signs packages with the binhost's OpenPGP key by running gpg, the tool Portage itself
// signs and verifies with (make.globals BINPKG_GPG_SIGNING_BASE_COMMAND), through the process
// runner: argv only, a timeout on every call. The key lives in the orchestrator's own GnuPG home.

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/gpkg.hpp"
#include "common/process_runner.hpp"
#include "common/result.hpp"

namespace swarm::orch {

struct GpgSignerOptions {
  std::filesystem::path gnupg_home;  // --homedir; made 0700
  std::string key;                   // fingerprint or key id of a secret key in gnupg_home
  std::filesystem::path work_dir;    // temp files, named *.tmp
  std::chrono::milliseconds timeout{120000};
  std::string gpg = "gpg";
};

class GpgSigner final : public PackageSigner {
 public:
  /// Checks the home and the key (a secret key able to sign, no passphrase: a test signature is made),
  /// and exports the public keys to serve; every failure says what to do.
  static Result<std::unique_ptr<GpgSigner>> open(GpgSignerOptions options, std::shared_ptr<ProcessRunner> runner);

  Result<std::string> sign_detached(const std::filesystem::path& file) override;
  Result<std::string> clearsign(const std::string& text) override;

  /// The signing key's primary fingerprint (40 upper-case hex digits for a v4 key).
  const std::string& fingerprint() const { return m_fingerprint; }
  /// ASCII-armored public keys of every secret key in the home, the signing key's included: during a
  /// rotation clients can import the next key before the switch.
  const std::string& public_keys() const { return m_public_keys; }

 private:
  GpgSigner(GpgSignerOptions options, std::shared_ptr<ProcessRunner> runner);
  /// Runs gpg with the common options and `args`; its output (stdout+stderr) in the error on failure.
  Result<std::string> run(const std::vector<std::string>& args, const std::string& what);
  Result<std::string> sign(const std::filesystem::path& input, const char* mode, const std::string& what);
  std::filesystem::path temp_path(const std::string& stem) const;

  GpgSignerOptions m_options;
  std::shared_ptr<ProcessRunner> m_runner;
  std::mutex m_mutex;  // one gpg at a time on the home, as Portage's flock does
  std::string m_fingerprint;
  std::string m_public_keys;
};

/// The fingerprints of the secret keys in a `gpg --with-colons --list-secret-keys` listing, each with
/// whether it can sign now (not revoked, expired or disabled; usable 'S' capability).
struct SecretKey {
  std::string fingerprint;
  bool can_sign = false;
};
std::vector<SecretKey> parse_secret_keys(const std::string& colons);

}  // namespace swarm::orch
