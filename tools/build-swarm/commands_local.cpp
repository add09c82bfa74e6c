#include "build-swarm/cli.hpp"
#include "build-swarm/commands.hpp"

namespace swarm::cli {

int cmd_fingerprint(const CommandContext& ctx, const FingerprintSource& source) {
  auto fp = local_fingerprint(ctx.runner, source);
  if (!fp) return fail(ctx, "fingerprint: " + fp.error().message);
  if (ctx.json) {
    ctx.out << fp->to_json().dump() << "\n";
    return kExitOk;
  }
  for (const auto& [key, value] : fp->values) ctx.out << key << "=" << value << "\n";
  ctx.out << "hash=" << fp->hash() << "\n";
  return kExitOk;
}

Result<std::string> binrepos_snippet(const std::string& orchestrator_url, int priority, const std::string& name) {
  std::string url = orchestrator_url;
  bool http = url.rfind("http://", 0) == 0, https = url.rfind("https://", 0) == 0;
  std::string rest = url.substr(http ? 7 : https ? 8 : 0);
  if ((!http && !https) || rest.empty() || rest.front() == '/' || url.find_first_of(" \t\r\n") != std::string::npos)
    return make_error(ErrorKind::invalid,
                      "'" + orchestrator_url + "' is not an http:// or https:// URL of an orchestrator");
  if (name.empty() ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != std::string::npos)
    return make_error(ErrorKind::invalid, "repository name '" + name + "' must be letters, digits, '_' or '-'");
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() < 8 || url.substr(url.size() - 8) != "/binhost") url += "/binhost";
  const std::string key_url = url.substr(0, url.size() - 8) + "/api/v1/signing-key";
  const std::string gpg = "gpg --homedir /etc/portage/gnupg --batch";
  std::string text;
  text += "# /etc/portage/binrepos.conf/" + name + ".conf: the build-swarm binhost at " + url + "\n";
  text += "#\n";
  text += "# Portage verifies gpkg signatures (verify-signature = true, the default since 3.0.78) and refuses\n";
  text += "# unsigned packages. The orchestrator signs every package with its OpenPGP key; trust that key once\n";
  text += "# in Portage's keyring, as root, on every client and drone (docs/SIGNING.md):\n";
  text += "#\n";
  text += "#   getuto   # creates /etc/portage/gnupg and its local trust key (emerge --getbinpkg runs it too)\n";
  text += "#   curl -fsS -o /root/" + name + "-signing-key.asc " + key_url + "\n";
  text += "#   " + gpg + " --show-keys /root/" + name + "-signing-key.asc\n";
  text += "#       # compare each fingerprint with the orchestrator's, learnt out of band (its log says\n";
  text += "#       # \"signing packages with OpenPGP key FPR\"; the answer's X-Signing-Key-Fingerprint header)\n";
  text += "#   " + gpg + " --import /root/" + name + "-signing-key.asc\n";
  text += "#   " + gpg + " --yes --pinentry-mode loopback --passphrase-file /etc/portage/gnupg/pass \\\n";
  text += "#       --quick-lsign-key FPR          # certify with the local trust key: the key becomes valid\n";
  text += "#   " + gpg + " --check-trustdb\n";
  text += "#   chmod ugo+r /etc/portage/gnupg/trustdb.gpg   # Portage verifies as nobody:nogroup\n";
  text += "#\n";
  text += "# Check: " + gpg + " --list-keys FPR   shows the uid as [  full  ];\n";
  text += "# Portage refuses \"signed with a known key of undefined trust\" until the lsign is done.\n";
  text += "# The URL serves every key of the orchestrator (during a key rotation, two): lsign each of them.\n";
  text += "[" + name + "]\n";
  text += "priority = " + std::to_string(priority) + "\n";
  text += "sync-uri = " + url + "\n";
  text += "verify-signature = true\n";
  text += "# Only for an orchestrator run without a signing key (--no-signing): verify-signature = false\n";
  return text;
}

int cmd_binhost_client_config(const CommandContext& ctx, const std::string& url, int priority,
                              const std::string& name) {
  auto text = binrepos_snippet(url, priority, name);
  if (!text) return usage(ctx.err, "binhost client-config: " + text.error().message);
  ctx.out << *text;
  return kExitOk;
}

}  // namespace swarm::cli
