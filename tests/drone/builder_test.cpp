// Builder: the ebuild tree's real revision (git HEAD or metadata/timestamp.commit) decides whether a
// lease may build, after the sync command was given the revision to reach.

#include <gtest/gtest.h>

#include "common/process_runner.hpp"
#include "drone/builder.hpp"
#include "support/test_support.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using drone::Builder;
using drone::BuilderSettings;
using drone::revision_matches;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class BuilderRevisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(m_dir / "repo");
    fs::create_directories(m_dir / "work");
    // The stand-in sync records the revision it was given, then does what `sync.action` says.
    write_file(m_dir / "sync.action", "");
    write_file(m_dir / "sync.sh", "#!/bin/sh\necho \"$SWARM_REPO_REVISION\" >> " + (m_dir / "syncs").string() +
                                      "\n. " + (m_dir / "sync.action").string() + "\n");
    fs::permissions(m_dir / "sync.sh", fs::perms::owner_all);
  }

  Builder builder() {
    BuilderSettings s;
    s.sync_command = {(m_dir / "sync.sh").string()};
    s.repo_dir = m_dir / "repo";
    s.pkgdir = m_dir / "pkgdir";
    s.work_dir = m_dir / "work";
    s.sync_timeout = scaled(std::chrono::milliseconds(20'000));
    s.revision_timeout = scaled(std::chrono::milliseconds(20'000));
    return Builder(s, m_runner, *m_clock);
  }

  /// Commits a change in the git repository and returns the new HEAD.
  std::string commit(const std::string& content) {
    const std::string git = "git -C " + (m_dir / "repo").string() + " -c user.name=t -c user.email=t@example.org ";
    write_file(m_dir / "repo" / "file", content);
    EXPECT_EQ(run_shell(git + "add file && " + git + "commit -q -m c"), 0);
    EXPECT_EQ(run_shell("git -C " + (m_dir / "repo").string() + " rev-parse HEAD > " + (m_dir / "head").string()), 0);
    return trimmed(read_file(m_dir / "head"));
  }

  void git_init() { ASSERT_EQ(run_shell("git init -q " + (m_dir / "repo").string()), 0); }

  std::string syncs() const { return fs::exists(m_dir / "syncs") ? read_file(m_dir / "syncs") : ""; }

  TempDir m_dir;
  std::shared_ptr<Clock> m_clock = system_clock();
  PosixProcessRunner m_runner{system_clock()};
};

TEST(RevisionMatchesTest, ExactOrAnAbbreviationOfSevenOrMore) {
  const std::string full = "0123456789abcdef0123456789abcdef01234567";
  EXPECT_TRUE(revision_matches(full, full));
  EXPECT_TRUE(revision_matches("0123456", full));
  EXPECT_TRUE(revision_matches("0123456789ABCDEF", full));
  EXPECT_FALSE(revision_matches("012345", full)) << "too short to name a commit";
  EXPECT_FALSE(revision_matches("deadbeef", full));
  EXPECT_FALSE(revision_matches(full + "0", full));
  EXPECT_FALSE(revision_matches("", full));
  EXPECT_FALSE(revision_matches(full, ""));
}

TEST_F(BuilderRevisionTest, GitHeadIsTheTreesRevision) {
  git_init();
  const std::string head = commit("one");
  auto b = builder();
  auto rev = b.tree_revision();
  ASSERT_TRUE(rev.ok()) << rev.error().message;
  EXPECT_EQ(*rev, head);
}

TEST_F(BuilderRevisionTest, TreeAlreadyAtTheRevisionBuildsWithoutSync) {
  git_init();
  const std::string head = commit("one");
  auto b = builder();
  EXPECT_TRUE(b.reach_revision(head, m_dir / "log", nullptr).ok());
  EXPECT_TRUE(b.reach_revision(head.substr(0, 10), m_dir / "log", nullptr).ok()) << "an abbreviation matches";
  EXPECT_EQ(syncs(), "");
  EXPECT_EQ(b.local_revision(), head);
}

TEST_F(BuilderRevisionTest, SyncIsGivenTheRevisionAndTheTreeIsCheckedAfterwards) {
  git_init();
  const std::string first = commit("one");
  commit("two");
  // The sync checks out the revision it is given.
  write_file(m_dir / "sync.action",
             "git -C " + (m_dir / "repo").string() + " checkout -q \"$SWARM_REPO_REVISION\" || exit 1\n");
  auto b = builder();
  auto st = b.reach_revision(first, m_dir / "log", nullptr);
  EXPECT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(syncs(), first + "\n");
  EXPECT_EQ(b.local_revision(), first);
}

TEST_F(BuilderRevisionTest, ASyncThatDoesNotReachTheRevisionFails) {
  git_init();
  const std::string head = commit("one");
  auto b = builder();  // the sync exits 0 and changes nothing, like /bin/true
  auto st = b.reach_revision("deadbeef", m_dir / "log", nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(head), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("deadbeef"), std::string::npos) << st.error().message;
  EXPECT_EQ(syncs(), "deadbeef\n");
  EXPECT_NE(read_file(m_dir / "log").find("the lease needs deadbeef"), std::string::npos);
  EXPECT_EQ(b.local_revision(), "") << "nothing recorded for a revision never reached";
}

TEST_F(BuilderRevisionTest, WithoutGitTimestampCommitsFirstWordIsTheRevision) {
  const std::string rev = "fedcba9876543210fedcba9876543210fedcba98";
  fs::create_directories(m_dir / "repo" / "metadata");
  write_file(m_dir / "repo" / "metadata" / "timestamp.commit", rev + " 1700000000 +0000\n");
  auto b = builder();
  auto got = b.tree_revision();
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, rev);
  EXPECT_TRUE(b.reach_revision(rev, m_dir / "log", nullptr).ok());
  EXPECT_EQ(syncs(), "");
  EXPECT_FALSE(b.reach_revision("0123456789", m_dir / "log", nullptr).ok());
  EXPECT_EQ(syncs(), "0123456789\n");

  // A sync that writes the wanted revision's timestamp.commit reaches it.
  write_file(m_dir / "sync.action", "echo \"$SWARM_REPO_REVISION 1700000001 +0000\" > " +
                                        (m_dir / "repo" / "metadata" / "timestamp.commit").string() + "\n");
  EXPECT_TRUE(b.reach_revision("0123456789", m_dir / "log", nullptr).ok());
}

TEST_F(BuilderRevisionTest, ATreeWithoutARevisionCannotMatch) {
  auto b = builder();
  EXPECT_FALSE(b.tree_revision().ok());
  EXPECT_FALSE(b.reach_revision("deadbeef", m_dir / "log", nullptr).ok());
}

}  // namespace
}  // namespace swarm::test
