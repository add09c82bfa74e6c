#include "drone/local_fingerprint.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace swarm::drone {
namespace {

namespace fs = std::filesystem;

class LocalFingerprintTest : public ::testing::Test {
 protected:
  Fingerprint collect(const std::string& command) {
    FingerprintSources s;
    s.emerge_info_command = command;
    s.portage_dir = m_dir / "etc-portage";
    s.timeout = std::chrono::seconds(20);
    return collect_fingerprint(m_runner, s, m_dir / "scratch");
  }
  test::TempDir m_dir;
  PosixProcessRunner m_runner;
};

TEST_F(LocalFingerprintTest, EveryEmergeInfoSampleGivesAFullFingerprint) {
  test::write_file(m_dir / "etc-portage/package.use/foo", "dev-libs/foo bar\n");
  int samples = 0;
  for (const auto& item : fs::directory_iterator(test::shared_dir() / "fixtures/emerge")) {
    const std::string name = item.path().filename().string();
    if (name.rfind("emerge-info-", 0) != 0) continue;
    ++samples;
    Fingerprint fp = collect("/bin/cat " + item.path().string());
    EXPECT_EQ(fp.values.count(kFingerprintErrorKey), 0u) << name << ": " << fp.values[kFingerprintErrorKey];
    EXPECT_FALSE(fp.values["CHOST"].empty()) << name;
    EXPECT_FALSE(fp.values["CFLAGS"].empty()) << name;
    EXPECT_FALSE(fp.values["USE"].empty()) << name;
    EXPECT_EQ(fp.values[kPortageConfigHashKey], hash_portage_config(m_dir / "etc-portage")) << name;
    EXPECT_EQ(fp.to_json().at("hash"), fp.hash());
  }
  EXPECT_GE(samples, 3);
}

TEST_F(LocalFingerprintTest, TheStandInEmergeInfoToo) {
  Fingerprint fp = collect((test::source_dir() / "tests/support/fake-emerge").string() + " --info");
  EXPECT_EQ(fp.values["CHOST"], "x86_64-pc-linux-gnu");
  EXPECT_EQ(fp.values.count(kFingerprintErrorKey), 0u);
  EXPECT_FALSE(fp.values["CPU_FLAGS_X86"].empty());
}

TEST_F(LocalFingerprintTest, FailuresAreRecordedNotFatal) {
  Fingerprint missing = collect("/nonexistent/emerge --info");
  EXPECT_EQ(missing.values.count(kFingerprintErrorKey), 1u);
  EXPECT_EQ(missing.values.count(kPortageConfigHashKey), 1u);
  Fingerprint garbage = collect("/bin/echo hello");
  EXPECT_EQ(garbage.values.count(kFingerprintErrorKey), 1u);
  EXPECT_NE(missing.hash(), collect("/bin/cat " + test::fixture("emerge-info-01-portage-3.0.72-amd64-23.0-nomultilib-systemd.txt").string()).hash());
}

}  // namespace
}  // namespace swarm::drone
