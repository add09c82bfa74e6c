#include "portage/portage_fixture.hpp"

#include <csignal>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "common/crypto.hpp"
#include "common/http_client.hpp"

namespace swarm::test {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path script() { return source_dir() / "scripts/portage-prefix.sh"; }

std::map<std::string, std::string> script_env() { return {{"SWARM_SHARED_DIR", shared_dir().string()}}; }

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A command that must succeed during set-up; throws with its output otherwise.
void must_run(const std::vector<std::string>& argv, const fs::path& log, std::chrono::seconds timeout = std::chrono::seconds(120)) {
  ProcessResult r = run_logged(argv, log, timeout, script_env());
  if (!r.success()) {
    std::string text;
    try {
      text = read_file(log);
    } catch (const std::exception&) {
    }
    throw std::runtime_error(argv.at(0) + " " + (argv.size() > 1 ? argv[1] : "") + ": " + describe(r) + "\n" + text);
  }
}

}  // namespace

ProcessResult run_logged(const std::vector<std::string>& argv, const fs::path& log, std::chrono::seconds timeout,
                         const std::map<std::string, std::string>& env) {
  PosixProcessRunner runner;
  ProcessSpec spec;
  spec.argv = argv;
  spec.output_file = log;
  spec.env_set = env;
  // Never the host's shell start-up files, nor a user's emerge defaults.
  spec.env_unset = {"BASH_ENV", "ENV", "EMERGE_DEFAULT_OPTS"};
  spec.timeout = scaled(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  return runner.run(spec);
}

const PortageSource& portage_source() {
  static PortageSource source;
  static std::once_flag once;
  std::call_once(once, [] {
    TempDir tmp;
    ProcessResult r = run_logged({"bash", script().string(), "find"}, tmp / "find.log", std::chrono::seconds(300), script_env());
    std::string out = r.started ? trimmed(read_file(tmp / "find.log")) : "";
    if (r.success() && !out.empty() && out.find('\n') == std::string::npos) {
      source.path = out;
    } else {
      source.why_not =
          "real Portage not found: set SWARM_PORTAGE_SRC to a Portage source tree, put ../shared/portage/ beside the "
          "project, or run on Gentoo (" + out + ")";
    }
  });
  return source;
}

void write_test_repos(const fs::path& dir) { must_run({"bash", script().string(), "repo", dir.string()}, dir.string() + ".log"); }

PortagePrefix::PortagePrefix(fs::path root, const Options& o) : m_root(std::move(root)) {
  std::vector<std::string> argv{"bash", script().string(), "create", m_root.string(),
                                "--repo", "swarmtest=" + (o.repos / "swarmtest").string(),
                                "--repo", "swarmlay=" + (o.repos / "swarmlay").string(),
                                "--verify-signature", o.verify_signature ? "yes" : "no"};
  if (!o.binhost.empty()) argv.insert(argv.end(), {"--binhost", o.binhost});
  for (const auto& line : o.make_conf) argv.insert(argv.end(), {"--extra-make-conf", line});
  must_run(argv, m_root.string() + ".create.log");
}

ProcessResult PortagePrefix::emerge(const std::vector<std::string>& args, const fs::path& log,
                                    std::chrono::seconds timeout) const {
  std::vector<std::string> argv{bin("emerge").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_logged(argv, log, timeout);
}

bool PortagePrefix::trust_key(const fs::path& key) const {
  // What getuto does for Gentoo's keys: a local key that is ultimately trusted signs (lsign) the
  // binhost's key, so Portage sees TRUST_FULLY; the keyring readable by the user gpg drops to.
  const std::string home = gnupg().string();
  fs::create_directories(gnupg());
  fs::permissions(gnupg(), fs::perms::owner_all);
  auto gpg = [&](std::vector<std::string> args, const std::string& step) {
    std::vector<std::string> argv{"gpg", "--homedir", home, "--batch", "--no-tty"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_logged(argv, m_root / ("gpg-" + step + ".log"), std::chrono::seconds(120)).success();
  };
  if (!gpg({"--passphrase", "", "--quick-gen-key", "Portage local trust key <portage@localhost>", "ed25519", "sign", "never"},
           "local-key"))
    return false;
  if (!gpg({"--import", key.string()}, "import")) return false;
  // The key's fingerprint from the file itself.
  fs::path listing = m_root / "gpg-show.log";
  if (!run_logged({"gpg", "--homedir", home, "--batch", "--with-colons", "--show-keys", key.string()}, listing,
                  std::chrono::seconds(60))
           .success())
    return false;
  std::string fpr;
  for (const auto& line : lines_of(listing)) {
    if (line.rfind("fpr:", 0) == 0) {
      fpr = line.substr(4);
      fpr.erase(0, fpr.find_first_not_of(':'));
      fpr = fpr.substr(0, fpr.find(':'));
      break;
    }
  }
  if (fpr.empty()) return false;
  if (!gpg({"--yes", "--quick-lsign-key", fpr}, "lsign")) return false;
  if (!gpg({"--check-trustdb"}, "trustdb")) return false;
  return run_logged({"chmod", "-R", "a+rX", home}, m_root / "chmod.log", std::chrono::seconds(30)).success();
}

bool PortagePrefix::installed(const std::string& cpv) const {
  std::error_code ec;
  return fs::is_directory(m_root / "var/db/pkg" / cpv, ec);
}

PortageSwarm::PortageSwarm(int n, int spare) {
  repos = dir / "repos";
  write_test_repos(repos);

  // The orchestrator's signing key, made here; only its public half leaves the orchestrator's home.
  fs::path orch_gnupg = dir / "orch" / "gnupg";
  fs::create_directories(orch_gnupg);
  fs::permissions(orch_gnupg, fs::perms::owner_all);
  must_run({"gpg", "--homedir", orch_gnupg.string(), "--batch", "--no-tty", "--passphrase", "", "--quick-gen-key",
            "build-swarm test binhost <swarm@example.invalid>", "ed25519", "sign", "never"},
           dir / "gpg-gen.log");
  must_run({"gpg", "--homedir", orch_gnupg.string(), "--batch", "--armor", "--output", public_key().string(), "--export"},
           dir / "gpg-export.log");

  fs::create_directories(dir / "orch" / "staging");
  fs::create_directories(dir / "gw");
  std::string tokens;
  for (int i = 1; i <= n + spare; ++i) {
    std::string name = "d" + std::to_string(i), token = random_token(16);
    tokens += name + " " + token + "\n";
    write_file(dir / (name + ".token"), token + "\n");
  }
  write_file(dir / "gw" / "tokens", tokens);
  auto gateway_args = [&](const std::string& listen, const std::string& orch) {
    std::vector<std::string> a{"--listen", listen, "--port-file", (dir / "gw.port").string(), "--data-dir",
                               (dir / "gw").string(), "--tokens-file", (dir / "gw" / "tokens").string(),
                               "--admin-token-file", (dir / "gw" / "admin.token").string(), "--poll-interval", "0.2",
                               "--heartbeat-interval", "1", "--config", "/dev/null"};
    if (!orch.empty()) a.insert(a.end(), {"--orchestrator", orch});
    return a;
  };
  gateway = std::make_unique<DaemonProcess>(executable("swarm-gateway"), gateway_args("127.0.0.1:0", ""), dir / "gateway.log");
  uint16_t gw_port = wait_for_port_file(dir / "gw.port", scaled(std::chrono::seconds(20)));
  if (!gw_port) throw std::runtime_error("gateway did not start:\n" + gateway->log_text());
  gateway_url = "http://127.0.0.1:" + std::to_string(gw_port);

  sshd = std::make_unique<SshdFixture>(dir / "orch" / "staging", "d1");
  for (int i = 2; i <= n + spare; ++i) sshd->add_drone("d" + std::to_string(i));
  if (!sshd->start()) throw std::runtime_error("sshd did not start: " + sshd->error());

  std::vector<std::string> orch_args{"--listen", "127.0.0.1:0", "--port-file", (dir / "orch.port").string(),
                                     "--data-dir", (dir / "orch").string(), "--gateway", gateway_url, "--name", "orch",
                                     "--upload-host", "127.0.0.1", "--upload-port", std::to_string(sshd->port()),
                                     "--upload-user", sshd->user(), "--maintenance-interval", "1",
                                     "--config", "/dev/null"};
  orch_args.insert(orch_args.end(), {"--gnupg-home", orch_gnupg.string(), "--signing-key", "swarm@example.invalid"});
  orchestrator = std::make_unique<DaemonProcess>(executable("swarm-orchestrator"), orch_args, dir / "orchestrator.log");
  uint16_t orch_port = wait_for_port_file(dir / "orch.port", scaled(std::chrono::seconds(20)));
  if (!orch_port) throw std::runtime_error("orchestrator did not start:\n" + orchestrator->log_text());
  orch_url = "http://127.0.0.1:" + std::to_string(orch_port);

  gateway->signal(SIGTERM);
  gateway->wait(scaled(std::chrono::seconds(10)));
  fs::remove(dir / "gw.port");
  gateway = std::make_unique<DaemonProcess>(executable("swarm-gateway"),
                                            gateway_args("127.0.0.1:" + std::to_string(gw_port), orch_url),
                                            dir / "gateway2.log");
  if (!wait_for_port_file(dir / "gw.port", scaled(std::chrono::seconds(20))))
    throw std::runtime_error("gateway did not restart:\n" + gateway->log_text());
  bool up = wait_for(
      [&] {
        auto r = HttpClient(gateway_url).get("/api/v1/status");
        return r && r->status == 200 && r->body.find("\"up\":true") != std::string::npos;
      },
      scaled(std::chrono::seconds(20)));
  if (!up) throw std::runtime_error("the gateway does not see the orchestrator:\n" + gateway->log_text());

  for (int i = 1; i <= n; ++i) add_drone();
}

int PortageSwarm::add_drone() {
  // Each drone: its own prefix whose binrepos.conf points at the swarm's binhost, verifying signatures,
  // and a user's EMERGE_DEFAULT_OPTS="--ask" that the drone must override.
  int index = static_cast<int>(drones.size());
  std::string name = "d" + std::to_string(index + 1);
  PortagePrefix::Options po;
  po.repos = repos;
  po.binhost = binhost_url();
  auto prefix = std::make_unique<PortagePrefix>(dir / (name + "-prefix"), po);
  if (!prefix->trust_key(public_key())) throw std::runtime_error(name + ": trusting the swarm's key failed");
  std::string emerge = prefix->bin("emerge").string();
  std::vector<std::string> args{"--gateway", gateway_url, "--name", name, "--token-file",
                                (dir / (name + ".token")).string(), "--report-ip", "127.0.0.1", "--emerge-command",
                                emerge, "--emerge-info-command", emerge + " --info", "--portage-dir",
                                prefix->etc_portage().string(), "--pkgdir", prefix->pkgdir().string(), "--work-dir",
                                (dir / (name + "-work")).string(), "--upload-key", sshd->user_key(name).string(),
                                "--known-hosts", sshd->known_hosts().string(), "--control-listen", "127.0.0.1:0",
                                "--sync-command", "/bin/true", "--config", "/dev/null"};
  drones.push_back(std::make_unique<DaemonProcess>(executable("swarm-drone"), args, dir / (name + ".log"),
                                                   std::map<std::string, std::string>{{"EMERGE_DEFAULT_OPTS", "--ask"}}));
  prefixes.push_back(std::move(prefix));
  return index;
}

void PortageSwarm::stop_drones() {
  for (auto& d : drones) d->signal(SIGTERM);
  for (auto& d : drones)
    if (!d->wait(scaled(std::chrono::seconds(60)))) d->kill();
}

PortageSwarm::~PortageSwarm() {
  std::vector<DaemonProcess*> all;
  for (auto& d : drones) all.push_back(d.get());
  all.push_back(orchestrator.get());
  all.push_back(gateway.get());
  for (auto* p : all) {
    if (!p) continue;
    p->signal(SIGTERM);
    if (!p->wait(std::chrono::seconds(20))) p->kill();
  }
}

ProcessResult PortageSwarm::cli(const std::vector<std::string>& args, const fs::path& log) const {
  std::vector<std::string> argv{executable("build-swarm").string(), "--gateway", gateway_url, "--admin-token-file",
                                (dir / "gw" / "admin.token").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_logged(argv, log, std::chrono::seconds(120));
}

json PortageSwarm::queue() const {
  auto r = HttpClient(orch_url).get("/api/v1/queue");
  if (!r || r->status != 200) return json::array();
  auto j = r->json();
  if (!j) return json::array();
  if (j->is_array()) return *j;
  for (const char* key : {"requests", "queue", "items"})
    if (j->contains(key)) return (*j)[key];
  return json::array();
}

json PortageSwarm::row(const std::string& cpv) const {
  for (const auto& r : queue()) {
    std::string atom = r.value("atom", "");
    if (atom == cpv || atom == "=" + cpv || atom.rfind(cpv + ":", 0) == 0 || atom.rfind("=" + cpv + ":", 0) == 0) return r;
  }
  return nullptr;
}

std::string PortageSwarm::logs() const {
  std::string out = "--- gateway\n" + gateway->log_text() + "\n--- orchestrator\n" + orchestrator->log_text();
  for (size_t i = 0; i < drones.size(); ++i) out += "\n--- d" + std::to_string(i + 1) + "\n" + drones[i]->log_text();
  return out;
}

}  // namespace swarm::test
