// Upload cost of the drone's path against plain rsync, same file, same sshd, same run.
// Usage: upload_bench [size_MiB] [rounds]   (default 100 MiB, 5 rounds; the median is reported)
// Drone path: Delivery::upload of an entry as a build leaves it (the log staged in the outbox, one
// `rsync --relative --ignore-times --timeout ... -e "ssh ..."` run for binary and log, and the
// binary's SHA-256 computed while rsync runs; the round fails unless that hash is right). Plain: `rsync -e "ssh ..." FILE USER@HOST:NAME` into the same rrsync root.
// The sshd is a private one on a free loopback port with generated keys and the orchestrator's
// restriction (rrsync -wo -no-lock), as the orchestrator's install sets it up.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/logging.hpp"
#include "common/process_runner.hpp"
#include "drone/delivery.hpp"
#include "drone/drone_config.hpp"
#include "drone/drone_state.hpp"
#include "drone/journal.hpp"
#include "drone/uploader.hpp"

namespace {

namespace fs = std::filesystem;
using Seconds = std::chrono::duration<double>;

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

bool write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool port_accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A private sshd in `dir`: logins with user_key run rrsync -wo -no-lock in `root`.
class BenchSshd {
 public:
  BenchSshd(fs::path dir, fs::path root) : m_dir(std::move(dir)), m_root(std::move(root)) {
    if (passwd* pw = ::getpwuid(::getuid())) m_user = pw->pw_name;
  }
  ~BenchSshd() { stop(); }
  BenchSshd(const BenchSshd&) = delete;
  BenchSshd& operator=(const BenchSshd&) = delete;

  /// Generates keys and config, starts sshd -D and waits until the port accepts; an error text or "".
  std::string start() {
    std::error_code ec;
    fs::create_directories(m_root, ec);
    fs::create_directories("/run/sshd", ec);  // sshd's privilege separation directory
    for (const char* key : {"host_key", "user_key"})
      if (shell("ssh-keygen -q -N '' -t ed25519 -C upload-bench -f " + quote(m_dir / key) + " </dev/null >/dev/null 2>&1"))
        return std::string("ssh-keygen failed for ") + key;
    write_text(m_dir / "authorized_keys", "restrict,command=\"/usr/bin/rrsync -wo -no-lock " + m_root.string() + "\" " +
                                              read_text(m_dir / "user_key.pub"));
    m_port = free_loopback_port();
    if (!m_port) return "no free port";
    std::ostringstream config;
    config << "ListenAddress 127.0.0.1\nPort " << m_port << "\nHostKey " << (m_dir / "host_key").string()
           << "\nAuthorizedKeysFile " << (m_dir / "authorized_keys").string() << "\nPidFile "
           << (m_dir / "sshd.pid").string()
           << "\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nLogLevel ERROR\n";
    write_text(m_dir / "sshd_config", config.str());
    const std::string config_path = (m_dir / "sshd_config").string(), log_path = (m_dir / "sshd.log").string();
    m_pid = ::fork();
    if (m_pid < 0) return "fork failed";
    if (m_pid == 0) {
      ::setpgid(0, 0);
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", config_path.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!port_accepts(m_port)) {
      int status = 0;
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        return "sshd exited: " + read_text(m_dir / "sshd.log");
      }
      if (std::chrono::steady_clock::now() > until) return "sshd did not listen: " + read_text(m_dir / "sshd.log");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::istringstream host(read_text(m_dir / "host_key.pub"));
    std::string type, key;
    host >> type >> key;
    write_text(known_hosts(), "[127.0.0.1]:" + std::to_string(m_port) + " " + type + " " + key + "\n");
    return "";
  }

  /// Stops sshd (its whole process group). Idempotent.
  void stop() {
    if (m_pid <= 0) return;
    ::kill(-m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }

  uint16_t port() const { return m_port; }
  const std::string& user() const { return m_user; }
  fs::path user_key() const { return m_dir / "user_key"; }
  fs::path known_hosts() const { return m_dir / "known_hosts"; }

 private:
  fs::path m_dir, m_root;
  std::string m_user;
  uint16_t m_port = 0;
  pid_t m_pid = -1;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const long mib = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100;
  const long rounds = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 5;
  if (mib <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: %s [size_MiB > 0] [rounds > 0]\n", argv[0]);
    return 2;
  }
  swarm::LogOptions log;
  log.level = "warn";
  swarm::setup_logging(log);

  const fs::path dir = fs::temp_directory_path() / ("upload_bench." + std::to_string(::getpid()));
  fs::create_directories(dir / "ssh");
  struct Cleanup {
    fs::path d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{dir};
  const fs::path staging = dir / "staging" / "bench";
  BenchSshd sshd(dir / "ssh", staging);
  if (auto err = sshd.start(); !err.empty()) {
    std::fprintf(stderr, "upload_bench: %s\n", err.c_str());
    return 1;
  }

  // The binary and the build log as a build leaves them: PKGDIR/CAT/PN/FILE, work-dir/logs/...
  swarm::drone::DroneConfig config;
  config.name = "bench";
  config.pkgdir = dir / "pkgdir";
  config.work_dir = dir / "work";
  config.upload_key = sshd.user_key();
  config.known_hosts = sshd.known_hosts();
  const std::string rel = "dev-libs/big/big-1.0-1.gpkg.tar";
  fs::create_directories((config.pkgdir / rel).parent_path());
  fs::create_directories(config.work_dir / "logs" / "dev-libs_big-1.0");
  if (shell("head -c " + std::to_string(mib) + "M /dev/urandom > " + quote(config.pkgdir / rel))) {
    std::fprintf(stderr, "upload_bench: cannot write the test file\n");
    return 1;
  }
  const fs::path build_log = config.work_dir / "logs" / "dev-libs_big-1.0" / "1.log";
  std::string log_text;
  for (int i = 0; i < 400; ++i) log_text += ">>> Compiling source in /var/tmp/portage/dev-libs/big-1.0/work ...\n";
  write_text(build_log, log_text);

  auto clock = swarm::system_clock();
  swarm::PosixProcessRunner runner(clock);
  swarm::drone::UploadSettings settings;
  settings.key = config.upload_key;
  settings.known_hosts = config.known_hosts;
  settings.connect_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.upload_connect_timeout_s * 1000));
  settings.alive_interval = std::chrono::milliseconds(static_cast<int64_t>(config.upload_alive_interval_s * 1000));
  settings.stall_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.staging_stall_timeout_s * 1000));
  settings.overall_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.upload_timeout_s * 1000));
  swarm::drone::Uploader uploader(runner, settings);
  swarm::drone::DroneState state(config.name, *clock);
  swarm::drone::Delivery delivery(config, state, uploader, *clock);

  const std::string ssh = "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" +
                          sshd.known_hosts().string() + " -p " + std::to_string(sshd.port()) + " -i " +
                          sshd.user_key().string();
  const auto expected_sha = swarm::sha256_file_hex(config.pkgdir / rel);
  if (!expected_sha) {
    std::fprintf(stderr, "cannot hash %s: %s\n", rel.c_str(), expected_sha.error().message.c_str());
    return 1;
  }
  auto drone_round = [&](const std::string& lease) {
    const auto t0 = std::chrono::steady_clock::now();
    swarm::drone::JournalEntry entry;  // as the build leaves it: no hash yet
    entry.lease.lease_id = lease;
    entry.lease.atom = "=dev-libs/big-1.0";
    entry.lease.upload = swarm::UploadTarget{"127.0.0.1", sshd.user(), sshd.port(), lease};
    entry.binary = rel;
    entry.log_file = build_log.string();
    if (delivery.upload(entry, true, 1) != swarm::drone::StepEnd::done) return -1.0;
    const double took = Seconds(std::chrono::steady_clock::now() - t0).count();
    return entry.sha256 == *expected_sha ? took : -1.0;
  };
  auto plain_round = [&](const std::string& name) {
    const auto t0 = std::chrono::steady_clock::now();
    if (shell("cd " + quote(config.pkgdir) + " && rsync -e '" + ssh + "' " + rel + " " + sshd.user() +
              "@127.0.0.1:" + name + " >/dev/null 2>&1"))
      return -1.0;
    return Seconds(std::chrono::steady_clock::now() - t0).count();
  };

  // One warm-up of each (page cache, ssh start-up paths), then alternating rounds; every round
  // writes a fresh destination, so rsync never takes the delta path.
  if (drone_round("warm") < 0 || plain_round("warm.bin") < 0) {
    std::fprintf(stderr, "upload_bench: the warm-up upload failed (see %s)\n", (config.work_dir / "logs/upload.log").c_str());
    return 1;
  }
  std::vector<double> drone_s, plain_s;
  for (long r = 0; r < rounds; ++r) {
    const bool drone_first = r % 2 == 0;
    for (int k = 0; k < 2; ++k) {
      const bool drone_now = (k == 0) == drone_first;
      const std::string id = (drone_now ? "L" : "P") + std::to_string(r);
      const double t = drone_now ? drone_round(id) : plain_round(id + ".bin");
      if (t < 0) {
        std::fprintf(stderr, "upload_bench: round %ld (%s) failed\n", r, drone_now ? "drone" : "plain");
        return 1;
      }
      (drone_now ? drone_s : plain_s).push_back(t);
      std::error_code ec;
      fs::remove_all(staging / id, ec);
      fs::remove(staging / (id + ".bin"), ec);
    }
  }
  const double d = median(drone_s), p = median(plain_s), ratio = d / p;
  std::printf("%ld MiB upload over loopback sshd (rrsync), median of %ld rounds:\n", mib, rounds);
  std::printf("  drone path (Delivery::upload + sha256):  %.3f s  [min %.3f, max %.3f]\n", d,
              *std::min_element(drone_s.begin(), drone_s.end()), *std::max_element(drone_s.begin(), drone_s.end()));
  std::printf("  plain rsync:                            %.3f s  [min %.3f, max %.3f]\n", p,
              *std::min_element(plain_s.begin(), plain_s.end()), *std::max_element(plain_s.begin(), plain_s.end()));
  // Each round's pair ran back to back: their ratio is less exposed to load drifting during the run.
  std::vector<double> paired;
  for (size_t i = 0; i < drone_s.size(); ++i) paired.push_back(drone_s[i] / plain_s[i]);
  std::printf("  ratio of medians %.3f, median of paired ratios %.3f (target <= 1.10): %s\n", ratio, median(paired),
              ratio <= 1.10 ? "ok" : "ABOVE TARGET");
  return 0;
}
