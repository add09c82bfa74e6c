// GpgSigner: gpg --detach-sign / --clearsign with the orchestrator's own --homedir, as Portage's
// binpkg-signing runs it (make.globals: --armor, --digest-algo SHA512, --local-user KEY, --batch --no-tty).
#include "orchestrator/signer.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/crypto.hpp"

namespace swarm::orch {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kShownOutput = 2000;

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = line.find(':', start);
    out.push_back(line.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) return out;
    start = colon + 1;
  }
}

Result<std::string> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error(ErrorKind::io, "cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_whole(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) return make_error(ErrorKind::io, "cannot write " + p.string());
  return {};
}

// Removes the listed files when the scope ends.
struct TempFiles {
  std::vector<fs::path> paths;
  ~TempFiles() {
    for (const auto& p : paths) ::unlink(p.c_str());
  }
};

// The home must be a directory of ours that only we can read: gpg warns about anything looser.
Status check_home(const fs::path& home) {
  struct stat st {};
  if (::lstat(home.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return make_error(ErrorKind::not_found, "GnuPG home " + home.string() +
                                                  " does not exist: create the signing key with scripts/make-signing-key.sh");
    return errno_error("cannot stat GnuPG home " + home.string(), errno);
  }
  if (!S_ISDIR(st.st_mode)) return make_error(ErrorKind::invalid, "GnuPG home " + home.string() + " is not a directory");
  if (st.st_uid != ::geteuid())
    return make_error(ErrorKind::invalid, "GnuPG home " + home.string() + " is owned by uid " +
                                              std::to_string(st.st_uid) + ", not by this user");
  if ((st.st_mode & 07777) != 0700 && ::chmod(home.c_str(), 0700) != 0)
    return errno_error("cannot make GnuPG home " + home.string() + " mode 0700", errno);
  return {};
}

}  // namespace

std::vector<SecretKey> parse_secret_keys(const std::string& colons) {
  std::vector<SecretKey> keys;
  bool want_fpr = false;
  std::istringstream in(colons);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto f = split_fields(line);
    if (f[0] == "sec") {
      SecretKey key;
      const std::string validity = f.size() > 1 ? f[1] : "";
      const std::string caps = f.size() > 11 ? f[11] : "";
      key.can_sign = validity != "r" && validity != "e" && validity != "i" && caps.find('S') != std::string::npos &&
                     caps.find('D') == std::string::npos;
      keys.push_back(key);
      want_fpr = true;
    } else if (f[0] == "fpr" && want_fpr) {
      if (f.size() > 9) keys.back().fingerprint = f[9];
      want_fpr = false;  // the first fpr after sec is the primary key's; subkeys follow
    } else if (f[0] == "ssb") {
      want_fpr = false;
    }
  }
  std::erase_if(keys, [](const SecretKey& k) { return k.fingerprint.empty(); });
  return keys;
}

GpgSigner::GpgSigner(GpgSignerOptions options, std::shared_ptr<ProcessRunner> runner)
    : m_options(std::move(options)), m_runner(std::move(runner)) {}

Result<std::unique_ptr<GpgSigner>> GpgSigner::open(GpgSignerOptions options, std::shared_ptr<ProcessRunner> runner) {
  if (options.key.empty())
    return make_error(ErrorKind::invalid, "no signing key given (--signing-key FINGERPRINT, or --no-signing)");
  if (options.key.front() == '-' || options.key.find_first_of(" \t\r\n") != std::string::npos)
    return make_error(ErrorKind::invalid, "invalid signing key '" + options.key + "'");
  if (Status s = check_home(options.gnupg_home); !s) return s.error();
  std::error_code ec;
  fs::create_directories(options.work_dir, ec);
  std::unique_ptr<GpgSigner> signer(new GpgSigner(std::move(options), std::move(runner)));
  const auto& o = signer->m_options;

  auto listing = signer->run({"--with-colons", "--list-secret-keys"}, "list the secret keys");
  if (!listing) return listing.error();
  auto keys = parse_secret_keys(*listing);
  auto wanted = signer->run({"--with-colons", "--list-secret-keys", "--", o.key}, "find the signing key");
  if (!wanted)
    return make_error(ErrorKind::not_found, "signing key " + o.key + " has no secret key in " + o.gnupg_home.string() +
                                                " (create one with scripts/make-signing-key.sh): " + wanted.error().message);
  auto found = parse_secret_keys(*wanted);
  if (found.size() != 1)
    return make_error(ErrorKind::invalid, "signing key '" + o.key + "' names " + std::to_string(found.size()) +
                                              " secret keys in " + o.gnupg_home.string() + ": give its full fingerprint");
  if (!found[0].can_sign)
    return make_error(ErrorKind::invalid, "signing key " + found[0].fingerprint + " cannot sign (revoked, expired, disabled or no signing capability)");
  signer->m_fingerprint = found[0].fingerprint;

  // A test signature: a passphrase, a stub key or an agent that does not start shows up now, not at the first upload.
  if (auto probe = signer->clearsign("build-swarm signing check\n"); !probe)
    return make_error(probe.error().kind, "signing key " + signer->m_fingerprint + " cannot sign: " + probe.error().message);

  std::vector<std::string> args{"--armor", "--export-options", "export-minimal"};
  fs::path out = signer->temp_path("export");
  TempFiles temps{{out}};
  args.insert(args.end(), {"--output", out.string(), "--export", "--", signer->m_fingerprint});
  for (const auto& k : keys)
    if (k.fingerprint != signer->m_fingerprint) args.push_back(k.fingerprint);
  if (auto r = signer->run(args, "export the public keys"); !r) return r.error();
  auto text = slurp(out);
  if (!text) return text.error();
  if (text->find("-----BEGIN PGP PUBLIC KEY BLOCK-----") == std::string::npos)
    return make_error(ErrorKind::internal, "gpg exported no public key for " + signer->m_fingerprint);
  signer->m_public_keys = std::move(*text);
  return signer;
}

fs::path GpgSigner::temp_path(const std::string& stem) const {
  return m_options.work_dir / ("gpg-" + stem + "-" + random_token(8) + ".tmp");
}

Result<std::string> GpgSigner::run(const std::vector<std::string>& args, const std::string& what) {
  ProcessSpec spec;
  spec.argv = {m_options.gpg, "--homedir", m_options.gnupg_home.string(), "--batch", "--no-tty", "--pinentry-mode",
               "loopback", "--yes"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env_set = {{"LC_ALL", "C"}};
  spec.env_unset = {"GNUPGHOME", "GPG_AGENT_INFO"};
  spec.output_file = temp_path("output");
  spec.timeout = m_options.timeout;
  TempFiles temps{{spec.output_file}};
  ProcessResult r = m_runner->run(spec);
  std::string output = tail_of_file(spec.output_file, 1 << 20);
  if (r.success()) return output;
  std::string shown = output.size() > kShownOutput ? output.substr(output.size() - kShownOutput) : output;
  while (!shown.empty() && (shown.back() == '\n' || shown.back() == ' ')) shown.pop_back();
  ErrorKind kind = r.timed_out ? ErrorKind::timeout : ErrorKind::internal;
  std::string why = r.started ? describe(r) : r.error;
  return make_error(kind, "gpg cannot " + what + " (" + why + ")" + (shown.empty() ? "" : ": " + shown));
}

Result<std::string> GpgSigner::sign(const fs::path& input, const char* mode, const std::string& what) {
  fs::path out = temp_path("signature");
  TempFiles temps{{out}};
  auto r = run({"--armor", "--digest-algo", "SHA512", "--local-user", m_fingerprint.empty() ? m_options.key : m_fingerprint,
                mode, "--output", out.string(), "--", input.string()},
               what);
  if (!r) return r.error();
  return slurp(out);
}

Result<std::string> GpgSigner::sign_detached(const fs::path& file) {
  std::lock_guard lock(m_mutex);
  auto sig = sign(file, "--detach-sign", "sign " + file.filename().string());
  if (!sig) return sig.error();
  if (!sig->starts_with("-----BEGIN PGP SIGNATURE-----"))
    return make_error(ErrorKind::internal, "gpg wrote no armored signature for " + file.filename().string());
  return sig;
}

Result<std::string> GpgSigner::clearsign(const std::string& text) {
  std::lock_guard lock(m_mutex);
  fs::path in = temp_path("text");
  TempFiles temps{{in}};
  if (Status s = write_whole(in, text); !s) return s.error();
  auto signed_text = sign(in, "--clearsign", "clear-sign the Manifest");
  if (!signed_text) return signed_text.error();
  if (!signed_text->starts_with("-----BEGIN PGP SIGNED MESSAGE-----"))
    return make_error(ErrorKind::internal, "gpg wrote no clear-signed message");
  return signed_text;
}

}  // namespace swarm::orch
