#include "drone/uploader.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace swarm::drone {
namespace {

UploadSettings settings() {
  UploadSettings s;
  s.key = "/etc/build-swarm/key";
  s.known_hosts = "/etc/build-swarm/known_hosts";
  s.connect_timeout = std::chrono::milliseconds(10'000);
  s.alive_interval = std::chrono::milliseconds(5'000);
  s.stall_timeout = std::chrono::milliseconds(1'500);
  return s;
}

TEST(UploaderTest, RsyncCommandLine) {
  auto argv = rsync_argv(settings(), UploadTarget{"orch", "swarm", 2222, "L7"}, {"./dev-libs/foo/foo-1.0-1.gpkg.tar"});
  ASSERT_GE(argv.size(), 6u);
  EXPECT_EQ(argv[0], "rsync");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--relative"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--timeout=2"), argv.end()) << "1.5 s rounds up";
  auto e = std::find(argv.begin(), argv.end(), "-e");
  ASSERT_NE(e, argv.end());
  const std::string& ssh = *(e + 1);
  for (const char* opt : {"ConnectTimeout=10", "ServerAliveInterval=5", "ServerAliveCountMax=3", "BatchMode=yes",
                          "StrictHostKeyChecking=yes", "UserKnownHostsFile=/etc/build-swarm/known_hosts", "-p 2222",
                          "-i /etc/build-swarm/key"})
    EXPECT_NE(ssh.find(opt), std::string::npos) << opt << " in " << ssh;
  EXPECT_EQ(argv[argv.size() - 2], "./dev-libs/foo/foo-1.0-1.gpkg.tar");
  EXPECT_EQ(argv.back(), "swarm@orch:L7/");
  for (const auto& a : argv) {
    EXPECT_EQ(a.find("--remove-source-files"), std::string::npos);
    EXPECT_EQ(a.find("--contimeout"), std::string::npos);
    EXPECT_NE(a, "-a") << "only the named file, nothing recursive";
  }
}

TEST(UploaderTest, Ipv6HostIsBracketed) {
  auto argv = rsync_argv(settings(), UploadTarget{"::1", "swarm", 22, "L1/"}, {"./a/b/c"});
  EXPECT_EQ(argv.back(), "swarm@[::1]:L1/");
}

TEST(UploaderTest, RefusesTargetsThatCouldEscapeOrInject) {
  EXPECT_TRUE(check_upload_target(UploadTarget{"orch.example", "swarm", 22, "lease-1/"}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"-oProxyCommand=x", "swarm", 22, "L/"}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"orch", "-l", 22, "L/"}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"orch", "swarm", 0, "L/"}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"orch", "swarm", 22, "/abs/"}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"orch", "swarm", 22, "../other/"}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"orch", "swarm", 22, "L/../../x"}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"orch", "swarm", 22, "L;rm"}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"orch", "swarm", 22, ""}).ok());
  EXPECT_FALSE(check_upload_target(UploadTarget{"or ch", "swarm", 22, "L/"}).ok());
}

}  // namespace
}  // namespace swarm::drone
