// Not run by default (DISABLED_): the drone's upload path (SHA-256 pass + rsync over ssh into rrsync)
// against plain rsync of the same 100 MB file over the same sshd. Run with
//   ./build/tests/drone_tests --gtest_also_run_disabled_tests --gtest_filter='*UploadBench*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "common/crypto.hpp"
#include "drone/uploader.hpp"
#include "support/sshd_fixture.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using Seconds = std::chrono::duration<double>;

TEST(UploadBench, DISABLED_DroneUploadPathVersusPlainRsync) {
  TempDir dir;
  SshdFixture sshd(dir / "staging", "bench");
  ASSERT_TRUE(sshd.start()) << sshd.error();
  ASSERT_EQ(run_shell("mkdir -p " + (dir / "pkg/cat/pn").string() + " && head -c 100M /dev/urandom > " +
                      (dir / "pkg/cat/pn/pn-1.0-1.gpkg.tar").string()),
            0);
  drone::UploadSettings s;
  s.key = sshd.user_key();
  s.known_hosts = sshd.known_hosts();
  PosixProcessRunner runner;
  drone::Uploader uploader(runner, s);
  const std::string ssh = "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" +
                          sshd.known_hosts().string() + " -p " + std::to_string(sshd.port()) + " -i " +
                          sshd.user_key().string();
  std::vector<double> drone_s, plain_s;
  for (int round = 0; round < 5; ++round) {
    const std::string lease = "L" + std::to_string(round);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(sha256_file_hex(dir / "pkg/cat/pn/pn-1.0-1.gpkg.tar").ok());
    ASSERT_TRUE(uploader
                    .upload(dir / "pkg", {"./cat/pn/pn-1.0-1.gpkg.tar"},
                            UploadTarget{"127.0.0.1", sshd.user(), sshd.port(), lease + "/"}, dir / "t.log", nullptr)
                    .ok());
    drone_s.push_back(Seconds(std::chrono::steady_clock::now() - t0).count());
    t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(run_shell("cd " + (dir / "pkg").string() + " && rsync -e '" + ssh + "' cat/pn/pn-1.0-1.gpkg.tar " +
                        sshd.user() + "@127.0.0.1:P" + std::to_string(round) + ".bin >/dev/null 2>&1"),
              0);
    plain_s.push_back(Seconds(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(drone_s.begin(), drone_s.end());
  std::sort(plain_s.begin(), plain_s.end());
  const double ratio = drone_s[2] / plain_s[2];
  std::printf("100 MB upload, median of 5: drone path %.3f s, plain rsync %.3f s, ratio %.3f\n", drone_s[2],
              plain_s[2], ratio);
  EXPECT_LE(ratio, 1.10);
}

}  // namespace
}  // namespace swarm::test
