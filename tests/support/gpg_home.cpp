#include "support/gpg_home.hpp"

#include <sys/stat.h>

#include "support/test_support.hpp"

namespace swarm::test {

namespace fs = std::filesystem;

namespace {
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
}  // namespace

GpgHome::GpgHome(fs::path dir) : m_dir(std::move(dir)) {
  fs::create_directories(m_dir);
  ::chmod(m_dir.c_str(), 0700);
}

GpgHome::~GpgHome() { run_shell("gpgconf --homedir " + q(m_dir) + " --kill all >/dev/null 2>&1"); }

std::string GpgHome::gpg(const std::string& args) {
  return "gpg --homedir " + q(m_dir) + " --batch --no-tty --pinentry-mode loopback " + args;
}

std::string GpgHome::generate_key(const std::string& uid, const std::string& passphrase) {
  fs::path out = m_dir / ("fpr-" + std::to_string(++m_files));
  std::string cmd = gpg("--passphrase '" + passphrase + "' --quick-gen-key '" + uid + "' ed25519 sign never") +
                    " >/dev/null 2>&1 && " +
                    gpg("--with-colons --list-secret-keys '" + uid + "'") + " 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}' > " +
                    q(out);
  // The agent forgets the passphrase it was just given: a protected key is as a server would find it.
  if (!passphrase.empty()) cmd += " && gpgconf --homedir " + q(m_dir) + " --kill gpg-agent";
  if (run_shell(cmd) != 0) return "";
  std::string fpr = read_file(out);
  while (!fpr.empty() && fpr.back() == '\n') fpr.pop_back();
  return fpr;
}

std::string GpgHome::export_key(const std::string& fingerprint) {
  fs::path out = m_dir / ("export-" + std::to_string(++m_files));
  if (run_shell(gpg("--armor --output " + q(out) + " --export " + fingerprint) + " 2>/dev/null") != 0) return "";
  return read_file(out);
}

bool GpgHome::import_keys(const std::string& armored) {
  fs::path in = m_dir / ("import-" + std::to_string(++m_files));
  write_file(in, armored);
  return run_shell(gpg("--import " + q(in)) + " >/dev/null 2>&1") == 0;
}

bool GpgHome::lsign(const std::string& fingerprint) {
  return run_shell(gpg("--yes --passphrase '' --quick-lsign-key " + fingerprint) + " >/dev/null 2>&1 && " +
                   gpg("--check-trustdb") + " >/dev/null 2>&1") == 0;
}

bool GpgHome::verify(const std::string& args) {
  fs::path status = m_dir / ("status-" + std::to_string(++m_files));
  // Portage's BINPKG_GPG_VERIFY_BASE_COMMAND, with the status lines in a file of their own.
  int rc = run_shell("gpg --verify --batch --no-tty --no-auto-check-trustdb --status-file " + q(status) +
                     " --homedir " + q(m_dir) + " " + args + " >/dev/null 2>&1");
  m_status = read_file(status);
  bool good = m_status.find("[GNUPG:] GOODSIG") != std::string::npos;
  bool trusted = m_status.find("[GNUPG:] TRUST_ULTIMATE") != std::string::npos ||
                 m_status.find("[GNUPG:] TRUST_FULLY") != std::string::npos;
  return rc == 0 && good && trusted;
}

bool GpgHome::portage_verify_detached(const std::string& signature, const std::string& data) {
  fs::path sig = m_dir / ("sig-" + std::to_string(++m_files));
  fs::path in = m_dir / ("data-" + std::to_string(++m_files));
  write_file(sig, signature);
  write_file(in, data);
  return verify(q(sig) + " - < " + q(in));
}

bool GpgHome::portage_verify_clearsigned(const std::string& text) {
  fs::path in = m_dir / ("signed-" + std::to_string(++m_files));
  write_file(in, text);
  return verify("--output - - < " + q(in));
}

}  // namespace swarm::test
