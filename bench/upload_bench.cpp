// Upload cost of the drone's path against plain rsync, same file, same sshd, same run.
// Usage: upload_bench [size_MiB] [rounds]   (default 100 MiB, 5 rounds; the median is reported)
// Drone path: Delivery::upload of an entry as a build leaves it (the log staged in the outbox, one
// `rsync --relative --ignore-times --timeout ... -e "ssh ..."` run for binary and log, and the
// binary's SHA-256 computed while rsync runs; the round fails unless that hash is right). Plain: `rsync -e "ssh ..." FILE USER@HOST:NAME` into the same rrsync root.
// The sshd is the tests' SshdFixture: a private one on a free loopback port with generated keys and
// the orchestrator's restriction (rrsync -wo -no-lock), as the orchestrator's install sets it up.

#include <fcntl.h>
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
#include "support/sshd_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using Seconds = std::chrono::duration<double>;

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

bool write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

int shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

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
  fs::create_directories(dir);
  struct Cleanup {
    fs::path d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{dir};
  swarm::test::SshdFixture sshd(dir / "staging", "bench");
  if (!sshd.start()) {
    std::fprintf(stderr, "upload_bench: %s\n", sshd.error().c_str());
    return 1;
  }
  const fs::path staging = sshd.staging_dir();

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
