// Building submissions, matching drone names, splitting commands, binrepos.conf text.

#include "build-swarm/submission.hpp"

#include <gtest/gtest.h>

#include "build-swarm/commands.hpp"
#include "build-swarm/drone_match.hpp"
#include "build-swarm/local_fingerprint.hpp"
#include "common/process_runner.hpp"
#include "support/test_support.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

TEST(SubmissionTest, NormalisesAtoms) {
  EXPECT_EQ(*normalize_atom("=dev-libs/foo-1.2-r1:0/1::gentoo"), "dev-libs/foo-1.2-r1:0/1::gentoo");
  EXPECT_EQ(*normalize_atom("  dev-libs/foo-1.2 "), "dev-libs/foo-1.2");
  for (const char* bad : {"", "dev-libs/foo", "foo-1.2", ">=dev-libs/foo-1.2", "dev-libs/foo-1.2; rm -rf /"})
    EXPECT_FALSE(normalize_atom(bad).ok()) << bad;
}

TEST(SubmissionTest, ListFilesNameTheBadLine) {
  auto ok = packages_from_list("# c\n\ndev-libs/a-1 # why\r\n=dev-libs/b-2\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].atom, "dev-libs/b-2");
  auto bad = packages_from_list("dev-libs/a-1\n\ndev-libs/b\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 3"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(packages_from_list("# only comments\n\n").ok());
}

TEST(SubmissionTest, GraphsAreCheckedEntryByEntry) {
  auto ok = packages_from_graph(R"({"packages":[{"atom":"=a-b/c-1","deps":["=a-b/d-2::gentoo"],"rebuild":true}]})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)[0].atom, "a-b/c-1");
  EXPECT_EQ((*ok)[0].deps, std::vector<std::string>{"a-b/d-2::gentoo"});
  EXPECT_TRUE((*ok)[0].rebuild);
  for (const char* bad :
       {"", "[]", "{}", R"({"packages":{}})", R"({"packages":[]})", R"({"packages":[{"deps":[]}]})",
        R"({"packages":[{"atom":"a-b/c-1","deps":["nope"]}]})", R"({"packages":[{"atom":"a-b/c-1","unknown":1}]})"})
    EXPECT_FALSE(packages_from_graph(bad).ok()) << bad;
}

TEST(SubmissionTest, EmergeOutputOfEveryFixture) {
  EmergeSummary s;
  auto p = packages_from_emerge(test::read_file(test::fixture("emerge-pretend-01-uDN-world-123pkgs-2023.txt")), &s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->size(), 123u);
  EXPECT_EQ(s.rebuilds, 12u);
  EXPECT_EQ(s.blockers_skipped, 1u);
  p = packages_from_emerge(test::read_file(test::fixture("emerge-pretend-02-binary-getbinpkg-falkon-blocker-2026.txt")),
                           &s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->size(), 140u);
  EXPECT_GE(s.blockers_skipped, 1u);
  EXPECT_FALSE(packages_from_emerge("Total: 0 packages, Size of downloads: 0 KiB\n").ok()) << "nothing to submit";
  EXPECT_FALSE(packages_from_emerge("random text\n").ok());
}

TEST(DroneMatchTest, PartialCaseInsensitiveExactWins) {
  json nodes = {{{"name", "build1"}, {"report_ip", "10.0.0.1"}},
                {{"name", "build10"}, {"report_ip", "10.0.0.10"}},
                {{"name", "Other"}, {"hostname", "box.lan"}, {"source_ip", "192.168.0.9"}}};
  EXPECT_EQ(match_drones(nodes, "BUILD").size(), 2u);
  EXPECT_EQ(match_drones(nodes, "build1").size(), 1u);
  EXPECT_EQ(match_drones(nodes, "10.0.0.1").front()["name"], "build1");
  EXPECT_EQ(match_drones(nodes, "10.0.0").size(), 2u);
  EXPECT_EQ(match_drones(nodes, "BOX").front()["name"], "Other");
  EXPECT_EQ(match_drones(nodes, "192.168").front()["name"], "Other");
  EXPECT_TRUE(match_drones(nodes, "zzz").empty());
  EXPECT_TRUE(match_drones(nodes, "").empty());
  EXPECT_TRUE(match_drones(json::array({1, "x", nullptr}), "x").empty());
  EXPECT_EQ(node_list({{"nodes", nodes}}).size(), 3u);
  EXPECT_EQ(describe_node(nodes[2]), "Other (box.lan, 192.168.0.9)");
}

TEST(SplitCommandTest, QuotesGroupWords) {
  EXPECT_EQ(*split_command("emerge --info"), (std::vector<std::string>{"emerge", "--info"}));
  EXPECT_EQ(*split_command(" cat  'a b'\"c\" "), (std::vector<std::string>{"cat", "a bc"}));
  EXPECT_EQ(*split_command("x ''"), (std::vector<std::string>{"x", ""}));
  EXPECT_FALSE(split_command("").ok());
  EXPECT_FALSE(split_command("cat 'open").ok());
}

TEST(LocalFingerprintTest, TimeoutAndMissingCommandFail) {
  PosixProcessRunner runner;
  FingerprintSource source;
  source.emerge_info_command = "/nonexistent/emerge --info";
  auto r = local_fingerprint(runner, source);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::io);
  source.emerge_info_command = "sleep 5";
  source.timeout = std::chrono::milliseconds(200);
  r = local_fingerprint(runner, source);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::timeout);
}

TEST(BinreposTest, SnippetForAnOrchestrator) {
  auto s = binrepos_snippet("http://orch:8080", 10, "swarm");
  ASSERT_TRUE(s.ok());
  EXPECT_NE(s->find("[swarm]\npriority = 10\nsync-uri = http://orch:8080/binhost\n"), std::string::npos) << *s;
  EXPECT_NE(s->find("verify-signature"), std::string::npos);
  EXPECT_NE(binrepos_snippet("https://orch/binhost/", 3, "amd64")->find("sync-uri = https://orch/binhost\n"),
            std::string::npos);
  for (const char* bad : {"orch:8080", "ftp://orch", "http://", "http:///x", "http://a b"})
    EXPECT_FALSE(binrepos_snippet(bad, 10, "swarm").ok()) << bad;
  EXPECT_FALSE(binrepos_snippet("http://orch", 10, "bad]name").ok());
}

}  // namespace
}  // namespace swarm::cli
