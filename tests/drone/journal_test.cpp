#include "drone/journal.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace swarm::drone {
namespace {

namespace fs = std::filesystem;

JournalEntry sample(const std::string& id, int64_t started = 100) {
  JournalEntry e;
  e.lease.lease_id = id;
  e.lease.fence = 7;
  e.lease.atom = "=dev-libs/foo-1.0";
  e.lease.attempt = 2;
  e.lease.upload = UploadTarget{"orch.example", "swarm", 2222, id + "/"};
  e.orchestrator = "http://orch:8080";
  e.started_unix = started;
  e.log_file = "/var/lib/build-swarm/drone/logs/dev-libs_foo-1.0/2.log";
  return e;
}

TEST(JournalTest, RoundTripsEveryField) {
  test::TempDir dir;
  Journal j(dir / "journal");
  ASSERT_TRUE(j.open().ok());
  JournalEntry e = sample("L1");
  e.stage = JournalStage::answered;
  e.binary = "dev-libs/foo/foo-1.0-3.gpkg.tar";
  e.sha256 = std::string(64, 'a');
  e.size = 12345;
  e.duration_s = 12.5;
  e.max_rss_mb = 300;
  e.exit_code = 0;
  e.log_uploaded = true;
  e.upload_rounds = 2;
  e.failure_excerpt = "make: *** Error 1\nERROR: dev-libs/foo-1.0::gentoo failed (compile phase): emake failed\n";
  e.build_pid = 4242;
  e.build_start_ticks = 987654321;
  e.answer = CompleteResponse{"ok", false, true, "sha256 mismatch"};
  ASSERT_TRUE(j.save(e).ok());
  auto back = j.load("L1");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->to_json(), e.to_json());
  EXPECT_EQ(back->stage, JournalStage::answered);
  ASSERT_TRUE(back->answer.has_value());
  EXPECT_TRUE(back->answer->retry_upload);
  EXPECT_EQ(back->lease.upload.port, 2222);
  EXPECT_EQ(back->build_pid, 4242);
  EXPECT_EQ(back->build_start_ticks, 987654321u);
  EXPECT_EQ(back->failure_excerpt, e.failure_excerpt);
}

TEST(JournalTest, KeepSetsTheRecordAsideWhereNoResumeFindsIt) {
  test::TempDir dir;
  Journal j(dir / "journal");
  ASSERT_TRUE(j.open().ok());
  ASSERT_TRUE(j.save(sample("K1")).ok());
  ASSERT_TRUE(j.keep("K1").ok());
  EXPECT_TRUE(fs::exists(dir / "journal" / "K1.kept"));
  EXPECT_TRUE(j.load_all().empty());
}

TEST(JournalTest, EachSaveReplacesTheRecordAndLeavesNoTempFile) {
  test::TempDir dir;
  Journal j(dir / "journal");
  ASSERT_TRUE(j.open().ok());
  JournalEntry e = sample("L1");
  for (auto stage : {JournalStage::leased, JournalStage::built, JournalStage::uploaded, JournalStage::completion_sent}) {
    e.stage = stage;
    ASSERT_TRUE(j.save(e).ok());
    EXPECT_EQ(j.load("L1")->stage, stage);
  }
  int files = 0;
  for (const auto& item : fs::directory_iterator(dir / "journal")) {
    ++files;
    EXPECT_EQ(item.path().filename(), "L1.json");
  }
  EXPECT_EQ(files, 1);
}

TEST(JournalTest, LoadAllSortsByStartAndSetsCorruptRecordsAside) {
  test::TempDir dir;
  Journal j(dir / "journal");
  ASSERT_TRUE(j.open().ok());
  ASSERT_TRUE(j.save(sample("late", 300)).ok());
  ASSERT_TRUE(j.save(sample("early", 100)).ok());
  test::write_file(dir / "journal" / "torn.json", "{\"lease\": {\"lease_id\"");
  test::write_file(dir / "journal" / "other.json", sample("mismatch").to_json().dump());
  std::vector<std::string> problems;
  auto all = j.load_all(&problems);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].lease.lease_id, "early");
  EXPECT_EQ(all[1].lease.lease_id, "late");
  EXPECT_EQ(problems.size(), 2u);
  EXPECT_TRUE(fs::exists(dir / "journal" / "torn.bad"));
  EXPECT_TRUE(fs::exists(dir / "journal" / "other.bad"));
  EXPECT_FALSE(fs::exists(dir / "journal" / "torn.json"));
}

TEST(JournalTest, RemoveForgetsAndMissingIsFine) {
  test::TempDir dir;
  Journal j(dir / "journal");
  ASSERT_TRUE(j.open().ok());
  ASSERT_TRUE(j.save(sample("L1")).ok());
  ASSERT_TRUE(j.remove("L1").ok());
  EXPECT_EQ(j.load("L1").error().kind, ErrorKind::not_found);
  EXPECT_TRUE(j.remove("L1").ok());
}

TEST(JournalTest, RefusesUnsafeLeaseIds) {
  test::TempDir dir;
  Journal j(dir / "journal");
  ASSERT_TRUE(j.open().ok());
  for (const char* bad : {"", "../x", "a/b", ".hidden", "-rf", "a b", "x\n"}) {
    EXPECT_FALSE(valid_lease_id(bad)) << bad;
    EXPECT_FALSE(j.save(sample(bad)).ok()) << bad;
  }
  EXPECT_TRUE(valid_lease_id("lease-42_a.b"));
  EXPECT_FALSE(valid_lease_id(std::string(129, 'a')));
  EXPECT_FALSE(j.load("../../etc/passwd").ok());
}

TEST(JournalTest, RejectsUnknownStages) {
  auto j = sample("L1").to_json();
  j["stage"] = "exploded";
  EXPECT_FALSE(JournalEntry::from_json(j).ok());
  j["stage"] = "built";
  j.erase("lease");
  EXPECT_FALSE(JournalEntry::from_json(j).ok());
}

}  // namespace
}  // namespace swarm::drone
