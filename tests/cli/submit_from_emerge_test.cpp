// `build-swarm submit --from-emerge F` against a fake gateway: packages in merge order, the --tree
// dependency edges as deps, what is printed.

#include <map>
#include <set>

#include "build-swarm/submission.hpp"
#include "cli_fixture.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

const char* const kTreeFixture = "emerge-pretend-03-tree-atuv-wine-funtoo-blocker-2018.txt";
const char* const kWorldFixture = "emerge-pretend-01-uDN-world-123pkgs-2023.txt";

std::map<std::string, std::set<std::string>> deps_by_atom(const json& packages) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& p : packages) {
    auto& deps = out[p["atom"].get<std::string>()];
    for (const auto& d : p["deps"]) deps.insert(d.get<std::string>());
  }
  return out;
}

TEST_F(CliTest, SubmitFromEmergeTreeSendsTheDependencyGraph) {
  auto tree = test::fixture(kTreeFixture);
  auto r = admin({"submit", "--from-emerge", tree.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  json body = body_of(gateway.last("POST", "/api/v1/queue"));
  const json& packages = body["packages"];
  ASSERT_EQ(packages.size(), 21u);
  // Merge order: the reverse of the printed order; atoms keep the slot and repository printed.
  EXPECT_EQ(packages.front()["atom"], "app-emulation/wine-gecko-2.47-r1:2.47::nokit");
  EXPECT_EQ(packages.back()["atom"], "virtual/wine-0-r6::nokit");
  size_t edges = 0;
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < packages.size(); ++i) {
    position[packages[i]["atom"].get<std::string>()] = i;
    edges += packages[i]["deps"].size();
    EXPECT_EQ(packages[i]["atom"].get<std::string>().find('<'), std::string::npos) << "a blocker was sent";
  }
  EXPECT_EQ(edges, 16u);
  auto deps = deps_by_atom(packages);
  EXPECT_EQ(deps["app-emulation/wine-vanilla-3.11:3.11::nokit"],
            (std::set<std::string>{
                "app-emulation/vkd3d-1.0::nokit", "app-emulation/wine-desktop-common-20150204::nokit",
                "media-sound/mpg123-1.25.7::media-kit", "dev-perl/XML-Simple-2.220.0::perl-kit",
                "app-emulation/wine-mono-4.7.1:4.7.1::nokit", "app-emulation/wine-gecko-2.47-r1:2.47::nokit"}));
  EXPECT_EQ(deps["virtual/wine-0-r6::nokit"], (std::set<std::string>{"app-emulation/wine-vanilla-3.11:3.11::nokit"}));
  EXPECT_EQ(deps["x11-libs/xcb-util-image-0.4.0::xorg-kit"],
            (std::set<std::string>{"x11-libs/xcb-util-0.4.0::xorg-kit"}));
  EXPECT_TRUE(deps["x11-libs/xcb-util-keysyms-0.4.0::xorg-kit"].empty());
  for (const auto& [atom, ds] : deps)
    for (const auto& d : ds) {
      ASSERT_TRUE(position.count(d)) << d << " is not a submitted atom";
      EXPECT_LT(position[d], position[atom]) << atom << " is submitted before its dependency " << d;
    }
  EXPECT_EQ(packages[position["x11-libs/xcb-util-0.4.0::xorg-kit"]]["rebuild"], true);
  EXPECT_EQ(packages[position["virtual/wine-0-r6::nokit"]]["rebuild"], false);
  EXPECT_NE(r.out.find("Submitted 21 packages and 16 dependency edges (6 to rebuild, 1 blocker skipped) as run 7:"),
            std::string::npos)
      << r.out;
}

TEST_F(CliTest, SubmitFromEmergeWithoutTreeSaysSoAndKeepsTheMergeOrder) {
  auto world = test::fixture(kWorldFixture);
  auto r = admin({"submit", "--from-emerge", world.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: no dependency edges in " + world.string() +
                       ": run emerge with --tree to let the swarm schedule by dependencies"),
            std::string::npos)
      << r.err;
  json body = body_of(gateway.last("POST", "/api/v1/queue"));
  ASSERT_EQ(body["packages"].size(), 123u);
  EXPECT_EQ(body["packages"][0]["atom"], "dev-libs/libffi-3.4.4-r2:0/8::gentoo");
  EXPECT_EQ(body["packages"][1]["atom"], "sys-apps/baselayout-2.14-r1::gentoo");
  int rebuilds = 0;
  for (const auto& p : body["packages"]) {
    rebuilds += p["rebuild"].get<bool>();
    EXPECT_TRUE(p["deps"].empty()) << p;
    EXPECT_EQ(p["atom"].get<std::string>().find('<'), std::string::npos) << "a blocker was sent: " << p;
  }
  EXPECT_EQ(rebuilds, 12);
  EXPECT_NE(r.out.find("Submitted 123 packages and 0 dependency edges (12 to rebuild, 1 blocker skipped) as run 7"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("warning"), std::string::npos) << "stdout carries only the command's output";
}

TEST_F(CliTest, SubmitFromEmergeJsonAddsWhatWasRead) {
  auto r = admin({"--json", "submit", "--from-emerge", test::fixture(kTreeFixture).string()});
  ASSERT_EQ(r.code, 0) << r.err;
  json answer = json::parse(r.out);
  EXPECT_EQ(answer["run"], 7);
  EXPECT_EQ(answer["from_emerge"],
            (json{{"packages", 21}, {"edges", 16}, {"rebuilds", 6}, {"blockers_skipped", 1}, {"tree", true}}));
}

TEST_F(CliTest, SubmitFromEmergeRejectsWhatIsNotAMergeList) {
  auto not_emerge = dir / "x.txt";
  test::write_file(not_emerge, "hello\n");
  auto r = admin({"submit", "--from-emerge", not_emerge.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(not_emerge.string()), std::string::npos) << r.err;
  for (const auto& call : gateway.calls()) EXPECT_NE(call.target, "/api/v1/queue") << "nothing is submitted";
}

TEST(SubmissionTest, EmergeTreeDepsNameTheSubmittedAtoms) {
  EmergeSummary s;
  auto p = packages_from_emerge(
      "These are the packages that would be merged, in reverse order:\n"
      "[ebuild  N     ] app-misc/top-1.0::gentoo  0 KiB\n"
      "[binary   R    ]  sys-libs/low-3.1-r1-4:0/3 \n"
      "[nomerge       ] sys-libs/low-3.1-r1-4:0/3 \n"
      "[ebuild  N     ]  dev-libs/zdep-1.0::gentoo  0 KiB\n",
      &s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].atom, "dev-libs/zdep-1.0::gentoo");
  EXPECT_EQ((*p)[1].atom, "sys-libs/low-3.1-r1:0/3");
  EXPECT_EQ((*p)[1].deps, std::vector<std::string>{"dev-libs/zdep-1.0::gentoo"});
  EXPECT_TRUE((*p)[1].rebuild);
  EXPECT_EQ((*p)[2].deps, std::vector<std::string>{"sys-libs/low-3.1-r1:0/3"});
  EXPECT_TRUE(s.tree);
  EXPECT_EQ(s.edges, 2u);
  EXPECT_EQ(s.rebuilds, 1u);
}

}  // namespace
}  // namespace swarm::cli
