#pragma once
// A throwaway GnuPG home for tests (mode 0700, its gpg-agent killed at the end), and the check
// Portage makes of a signature (lib/portage/gpkg.py checksum_helper: gpg --verify --status-fd,
// then GOODSIG and TRUST_FULLY or TRUST_ULTIMATE).

#include <filesystem>
#include <string>

namespace swarm::test {

class GpgHome {
 public:
  explicit GpgHome(std::filesystem::path dir);
  ~GpgHome();
  GpgHome(const GpgHome&) = delete;
  GpgHome& operator=(const GpgHome&) = delete;

  const std::filesystem::path& dir() const { return m_dir; }
  /// Generates an ed25519 signing key (no passphrase by default); returns its fingerprint ("" on failure).
  std::string generate_key(const std::string& uid, const std::string& passphrase = "");
  /// The armored public key.
  std::string export_key(const std::string& fingerprint);
  /// Imports armored keys; whether gpg succeeded.
  bool import_keys(const std::string& armored);
  /// Certifies a key with this home's own key (--quick-lsign-key) and updates the trust database:
  /// what a client does with a binhost key after getuto made its local trust key.
  bool lsign(const std::string& fingerprint);

  /// Portage's verdict on a detached signature of `data`.
  bool portage_verify_detached(const std::string& signature, const std::string& data);
  /// Portage's verdict on a clear-signed text.
  bool portage_verify_clearsigned(const std::string& text);
  /// gpg's status lines of the last verification (for failure messages).
  const std::string& last_status() const { return m_status; }

 private:
  std::string gpg(const std::string& args);  // the command prefix with --homedir
  bool verify(const std::string& args);

  std::filesystem::path m_dir;
  std::string m_status;
  int m_files = 0;
};

}  // namespace swarm::test
