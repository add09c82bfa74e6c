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
  std::string text;
  text += "# /etc/portage/binrepos.conf/" + name + ".conf: the build-swarm binhost at " + url + "\n";
  text += "# Portage checks gpkg signatures by default (verify-signature = true) and refuses unsigned\n";
  text += "# packages at unpack time. If this binhost signs its packages, import its key (getuto,\n";
  text += "# /etc/portage/gnupg) and leave the line below commented; if it does not, uncomment it.\n";
  text += "[" + name + "]\n";
  text += "priority = " + std::to_string(priority) + "\n";
  text += "sync-uri = " + url + "\n";
  text += "# verify-signature = false\n";
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
