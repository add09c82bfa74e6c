#include "common/emerge_pretend.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "support/test_support.hpp"

namespace swarm {
namespace {

std::vector<std::string> text_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<PretendEntry> parse_pretend_fixture(const std::string& name) {
  auto r = parse_emerge_pretend(test::read_file(test::fixture(name)));
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::vector<PretendEntry>{};
}

std::map<std::string, int> count_by(const std::vector<PretendEntry>& entries, bool flags) {
  std::map<std::string, int> counts;
  for (const auto& e : entries) ++counts[flags ? e.kind + " " + e.flags : e.kind];
  return counts;
}

const PretendEntry* find(const std::vector<PretendEntry>& entries, const std::string& atom) {
  for (const auto& e : entries) {
    if (e.atom == atom) return &e;
  }
  return nullptr;
}

// Counts from fixtures/emerge/SOURCES.md.
TEST(EmergePretend, WorldUpdate123Packages) {
  auto entries = parse_pretend_fixture("emerge-pretend-01-uDN-world-123pkgs-2023.txt");
  EXPECT_EQ(entries.size(), 124u);
  EXPECT_EQ(count_by(entries, false), (std::map<std::string, int>{{"ebuild", 123}, {"blocks", 1}}));
  EXPECT_EQ(count_by(entries, true), (std::map<std::string, int>{{"ebuild U", 93},
                                                                 {"ebuild N", 14},
                                                                 {"ebuild NS", 2},
                                                                 {"ebuild R", 1},
                                                                 {"ebuild R~", 3},
                                                                 {"ebuild rR", 8},
                                                                 {"ebuild rU", 2},
                                                                 {"blocks b", 1}}));
  int rebuilds = 0;
  std::set<std::string> repos;
  for (const auto& e : entries) {
    rebuilds += e.rebuild;
    if (e.kind == "ebuild") repos.insert(e.repo);
    EXPECT_EQ(e.build_id, 0);
  }
  EXPECT_EQ(rebuilds, 12);  // "12 reinstalls"
  EXPECT_EQ(repos, (std::set<std::string>{"gentoo", "brave-overlay"}));

  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries[0].atom, "dev-libs/libffi-3.4.4-r2");
  EXPECT_EQ(entries[0].kind, "ebuild");
  EXPECT_EQ(entries[0].flags, "U");
  EXPECT_FALSE(entries[0].rebuild);
  EXPECT_EQ(entries[0].repo, "gentoo");

  const auto* kernel = find(entries, "sys-kernel/gentoo-kernel-bin-6.1.67");
  ASSERT_NE(kernel, nullptr);
  EXPECT_EQ(kernel->flags, "NS");
  const auto* brave = find(entries, "www-client/brave-bin-1.61.109");
  ASSERT_NE(brave, nullptr);
  EXPECT_EQ(brave->repo, "brave-overlay");
  const auto* cups = find(entries, "net-print/cups-filters-1.28.17-r2");
  ASSERT_NE(cups, nullptr);
  EXPECT_TRUE(cups->rebuild);
  const auto* blocker = find(entries, "<dev-libs/gobject-introspection-1.78.1");
  ASSERT_NE(blocker, nullptr);
  EXPECT_EQ(blocker->kind, "blocks");
  EXPECT_EQ(blocker->flags, "b");
}

TEST(EmergePretend, BinaryPackagesWithBuildIds) {
  auto entries = parse_pretend_fixture("emerge-pretend-02-binary-getbinpkg-falkon-blocker-2026.txt");
  EXPECT_EQ(entries.size(), 141u);
  EXPECT_EQ(count_by(entries, true),
            (std::map<std::string, int>{{"binary N", 134}, {"binary R", 5}, {"binary UD", 1}, {"blocks B", 1}}));
  for (const auto& e : entries) {
    EXPECT_EQ(e.repo, "");
    if (e.kind == "binary") {
      EXPECT_GT(e.build_id, 0) << e.atom;
    }
  }
  const auto* libdrm = find(entries, "x11-libs/libdrm-2.4.127");
  ASSERT_NE(libdrm, nullptr);
  EXPECT_EQ(libdrm->build_id, 2);
  EXPECT_EQ(libdrm->flags, "UD");
  const auto* zlib = find(entries, "sys-libs/zlib-1.3.1-r1");
  ASSERT_NE(zlib, nullptr);
  EXPECT_EQ(zlib->build_id, 17);
  EXPECT_TRUE(zlib->rebuild);
  const auto* colord = find(entries, "acct-group/colord-0-r2");
  ASSERT_NE(colord, nullptr);
  EXPECT_EQ(colord->build_id, 1);
  const auto* blocker = find(entries, "sys-apps/systemd");
  ASSERT_NE(blocker, nullptr);
  EXPECT_EQ(blocker->kind, "blocks");
  EXPECT_EQ(entries.back().atom, "sys-apps/systemd");
}

TEST(EmergePretend, TreeOutputSkipsNomergeParents) {
  auto entries = parse_pretend_fixture("emerge-pretend-03-tree-atuv-wine-funtoo-blocker-2018.txt");
  EXPECT_EQ(entries.size(), 22u);
  EXPECT_EQ(count_by(entries, true), (std::map<std::string, int>{{"ebuild N", 15}, {"ebuild R", 6}, {"blocks B", 1}}));
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries[0].atom, "virtual/wine-0-r6");
  EXPECT_EQ(entries[0].repo, "nokit");
  // Indented lines, with a slot.
  const auto* wine = find(entries, "app-emulation/wine-vanilla-3.11");
  ASSERT_NE(wine, nullptr);
  EXPECT_EQ(wine->flags, "N");
  EXPECT_EQ(wine->slot, "3.11");
  EXPECT_EQ(wine->depth, 1);
  EXPECT_EQ(wine->full_atom(), "app-emulation/wine-vanilla-3.11:3.11::nokit");
  const auto* xcb = find(entries, "x11-libs/xcb-util-0.4.0");
  ASSERT_NE(xcb, nullptr);
  EXPECT_TRUE(xcb->rebuild);
  EXPECT_EQ(xcb->repo, "xorg-kit");
  EXPECT_EQ(find(entries, "x11-wm/i3-4.14.1"), nullptr);  // [nomerge]
  EXPECT_NE(find(entries, "<=media-libs/vulkan-loader-1.1.70.0-r999"), nullptr);
}

TEST(EmergePretend, StripsColours) {
  auto r = parse_emerge_pretend(
      "[\x1b[32;01mebuild\x1b[0m  \x1b[32;01mN\x1b[0m     ] \x1b[32;01mdev-libs/foo-1.2:0/1::gentoo\x1b[0m  USE=\"a\" "
      "10 KiB\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].atom, "dev-libs/foo-1.2");
  EXPECT_EQ((*r)[0].flags, "N");
  EXPECT_EQ((*r)[0].repo, "gentoo");
}

TEST(EmergePretend, EmptyListWhenEmergeSaysSo) {
  auto r = parse_emerge_pretend("Calculating dependencies... done!\n\nTotal: 0 packages, Size of downloads: 0 KiB\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  auto nothing =
      parse_emerge_pretend("Calculating dependencies... done!\n>>> No outdated packages were found on your system.\n");
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->empty());
}

TEST(EmergePretend, RejectsBadInput) {
  auto none = parse_emerge_pretend("hello\nworld\n[Yes/No] y\n");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::invalid);

  auto bad = parse_emerge_pretend("Calculating dependencies... done!\n[ebuild  N     ] not-an-atom  0 KiB\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("not-an-atom"), std::string::npos);

  // A build id is only accepted on binary lines.
  EXPECT_FALSE(parse_emerge_pretend("[ebuild  N     ] x11-libs/libdrm-2.4.127-2\n").ok());
  EXPECT_FALSE(parse_emerge_pretend("[ebuild  N     ]\n").ok());
  EXPECT_FALSE(parse_emerge_pretend("[ebuild  N     ] -bad/atom-1.0\n").ok());
}

// ---- parse_emerge_graph ----

std::set<PretendEdge> edge_set(const PretendGraph& g) { return {g.edges.begin(), g.edges.end()}; }

std::vector<std::string> atoms_of(const PretendGraph& g) {
  std::vector<std::string> out;
  for (const auto& p : g.packages) out.push_back(p.atom);
  return out;
}

PretendGraph graph_of_fixture(const std::string& name) {
  auto r = parse_emerge_graph(test::read_file(test::fixture(name)));
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : PretendGraph{};
}

// Every dependency comes before its dependents in the merge order.
void expect_merge_order_respects_edges(const PretendGraph& g) {
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < g.packages.size(); ++i) position[g.packages[i].atom] = i;
  for (const auto& e : g.edges) {
    ASSERT_TRUE(position.count(e.dependent) && position.count(e.dependency)) << e.dependent << " -> " << e.dependency;
    EXPECT_LT(position[e.dependency], position[e.dependent]) << e.dependent << " -> " << e.dependency;
  }
}

// Edges verified by reading the fixture: Portage indents one space per level after "] "; the
// [nomerge] lines of wine-vanilla, vkd3d and XML-Simple are those packages of the list shown again
// as parents; i3, virtualbox, qtx11extras and qtgui are installed and have no submitted ancestor.
TEST(EmergeGraph, TreeFixtureGivesTheEdgesPortagePrinted) {
  auto g = graph_of_fixture("emerge-pretend-03-tree-atuv-wine-funtoo-blocker-2018.txt");
  EXPECT_TRUE(g.tree);
  EXPECT_EQ(g.packages.size(), 21u);  // "Total: 21 packages (15 new, 6 reinstalls)"
  EXPECT_EQ(g.blockers, 1u);
  const std::string wine = "virtual/wine-0-r6", vanilla = "app-emulation/wine-vanilla-3.11",
                    vkd3d = "app-emulation/vkd3d-1.0", xml_simple = "dev-perl/XML-Simple-2.220.0",
                    cursor = "x11-libs/xcb-util-cursor-0.1.3-r1", image = "x11-libs/xcb-util-image-0.4.0",
                    desktop = "app-emulation/wine-desktop-common-20150204", mpg123 = "media-sound/mpg123-1.25.7";
  EXPECT_EQ(edge_set(g), (std::set<PretendEdge>{
                             {wine, vanilla},
                             {vanilla, vkd3d},
                             {cursor, image},
                             {image, "x11-libs/xcb-util-0.4.0"},
                             {vanilla, desktop},
                             {desktop, "app-eselect/eselect-wine-1.1"},
                             {vkd3d, "dev-util/vulkan-headers-1.1.77.0-r1"},
                             {vkd3d, "dev-util/spirv-headers-1.3.1_pre20180710"},
                             {vkd3d, "media-libs/vulkan-loader-1.1.70.0-r1"},
                             {vanilla, mpg123},
                             {mpg123, "app-eselect/eselect-mpg123-0.1"},
                             {vanilla, xml_simple},
                             {xml_simple, "dev-perl/XML-SAX-Expat-0.510.0"},
                             {xml_simple, "virtual/perl-Storable-2.560.0-r2"},
                             {vanilla, "app-emulation/wine-mono-4.7.1"},
                             {vanilla, "app-emulation/wine-gecko-2.47-r1"},
                         }));
  EXPECT_EQ(g.edges.size(), 16u);
  // Merge order is the printed order reversed.
  ASSERT_EQ(g.packages.size(), 21u);
  EXPECT_EQ(g.packages.front().full_atom(), "app-emulation/wine-gecko-2.47-r1:2.47::nokit");
  EXPECT_EQ(g.packages.back().full_atom(), "virtual/wine-0-r6::nokit");
  expect_merge_order_respects_edges(g);
  // The reinstalls under installed parents are submitted, with no edge to those parents.
  auto atoms = atoms_of(g);
  for (const char* a : {"x11-libs/xcb-util-renderutil-0.3.9-r1", "x11-libs/xcb-util-wm-0.4.1-r1",
                        "x11-libs/xcb-util-keysyms-0.4.0", "x11-libs/xcb-util-cursor-0.1.3-r1"}) {
    EXPECT_NE(std::find(atoms.begin(), atoms.end(), a), atoms.end()) << a;
    for (const auto& e : g.edges) EXPECT_NE(e.dependency, a) << "no submitted package needs " << a;
  }
  int rebuilds = 0;
  for (const auto& p : g.packages) rebuilds += p.rebuild;
  EXPECT_EQ(rebuilds, 6);
  for (const auto& a : {"x11-wm/i3-4.14.1", "app-emulation/virtualbox-5.2.12", "dev-qt/qtgui-5.9.4-r3"})
    EXPECT_EQ(std::find(atoms.begin(), atoms.end(), a), atoms.end()) << a << " is installed, not submitted";
}

TEST(EmergeGraph, PlainFixturesHaveNoEdgesAndKeepThePrintedOrder) {
  auto world = graph_of_fixture("emerge-pretend-01-uDN-world-123pkgs-2023.txt");
  EXPECT_FALSE(world.tree);
  EXPECT_EQ(world.packages.size(), 123u);  // "Total: 123 packages"
  EXPECT_EQ(world.edges.size(), 0u);
  EXPECT_EQ(world.blockers, 1u);
  ASSERT_FALSE(world.packages.empty());
  EXPECT_EQ(world.packages.front().full_atom(), "dev-libs/libffi-3.4.4-r2:0/8::gentoo");
  EXPECT_EQ(world.packages[1].full_atom(), "sys-apps/baselayout-2.14-r1::gentoo");

  auto binary = graph_of_fixture("emerge-pretend-02-binary-getbinpkg-falkon-blocker-2026.txt");
  EXPECT_FALSE(binary.tree);
  EXPECT_EQ(binary.packages.size(), 140u);
  EXPECT_EQ(binary.edges.size(), 0u);
  EXPECT_EQ(binary.blockers, 1u);
  ASSERT_FALSE(binary.packages.empty());
  EXPECT_EQ(binary.packages.front().full_atom(), "x11-misc/compose-tables-1.8.12");  // the build id is not the atom's
  EXPECT_EQ(binary.packages.front().build_id, 1);
}

// Written after output.py and output_helpers.py (_ordered_tree_display, _tree_display): a binary
// with a slot, an installed [nomerge] parent inside the tree and one at the top, a satisfied
// blocker with the uninstall it causes and the upgrade that resolves it, [nomerge] lines of
// packages of the list shown again as parents.
constexpr const char* kHandTree = R"(
These are the packages that would be merged, in reverse order:

Calculating dependencies... done!
[ebuild  N     ] app-misc/top-1.0::gentoo  USE="foo -bar" 10 KiB
[ebuild     U  ]  dev-libs/mid-2.0:2/2.0::gentoo [1.9:2/1.9::gentoo] USE="-test" 20 KiB
[binary   R    ]   sys-libs/low-3.1-r1-4:0/3 
[nomerge       ]  dev-libs/installed-5.0::gentoo  USE="ssl" 
[ebuild   R    ]   dev-libs/rebuilt-1.2::local  USE="X*" 0 KiB
[blocks b      ]  <dev-libs/old-2 ("<dev-libs/old-2" is soft blocking app-misc/top-1.0)
[uninstall     ]   dev-libs/old-1.5::gentoo 
[ebuild     U  ]   dev-libs/old-2.1::gentoo [1.5::gentoo] 5 KiB
[nomerge       ] x11-wm/i3-4.14.1::gentoo  USE="-doc" 
[ebuild  N     ]  dev-libs/orphan-1::gentoo  0 KiB
[nomerge       ] dev-libs/mid-2.0:2/2.0::gentoo  USE="-test" 
[ebuild  N     ]  dev-libs/leaf-0.9::gentoo  0 KiB
[nomerge       ] sys-libs/low-3.1-r1-4:0/3 
[ebuild  N     ]  dev-libs/zdep-1.0::gentoo  0 KiB

Total: 8 packages (2 upgrades, 4 new, 2 reinstalls, 1 binary), Size of downloads: 35 KiB
Conflict: 1 block
)";

TEST(EmergeGraph, HandWrittenTree) {
  auto g = parse_emerge_graph(kHandTree);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_TRUE(g->tree);
  EXPECT_EQ(g->blockers, 1u);
  EXPECT_EQ(atoms_of(*g), (std::vector<std::string>{"dev-libs/zdep-1.0", "dev-libs/leaf-0.9", "dev-libs/orphan-1",
                                                    "dev-libs/old-2.1", "dev-libs/rebuilt-1.2", "sys-libs/low-3.1-r1",
                                                    "dev-libs/mid-2.0", "app-misc/top-1.0"}));
  EXPECT_EQ(g->edges, (std::vector<PretendEdge>{
                          {"app-misc/top-1.0", "dev-libs/mid-2.0"},
                          {"dev-libs/mid-2.0", "sys-libs/low-3.1-r1"},
                          {"app-misc/top-1.0", "dev-libs/rebuilt-1.2"},  // through the installed package
                          {"app-misc/top-1.0", "dev-libs/old-2.1"},      // through the blocker it resolves
                          {"dev-libs/mid-2.0", "dev-libs/leaf-0.9"},
                          {"sys-libs/low-3.1-r1", "dev-libs/zdep-1.0"},
                      }));
  expect_merge_order_respects_edges(*g);
  const auto& low = g->packages[5];
  EXPECT_EQ(low.full_atom(), "sys-libs/low-3.1-r1:0/3");
  EXPECT_EQ(low.kind, "binary");
  EXPECT_EQ(low.build_id, 4);
  EXPECT_EQ(low.depth, 2);
  EXPECT_TRUE(low.rebuild);
  EXPECT_TRUE(g->packages[4].rebuild);
  EXPECT_EQ(g->packages[4].full_atom(), "dev-libs/rebuilt-1.2::local");
  EXPECT_EQ(g->packages[6].full_atom(), "dev-libs/mid-2.0:2/2.0::gentoo");

  // The same tree indented two spaces per level, with colours and without the header: same graph.
  std::string wide;
  for (const auto& line : text_lines(kHandTree)) {
    if (line.rfind("These are", 0) == 0) continue;
    auto close = line.find("] ");
    if (line.empty() || line[0] != '[' || close == std::string::npos) {
      wide += line + "\n";
      continue;
    }
    auto atom = line.find_first_not_of(' ', close + 1);
    wide += "[\x1b[32;01m" + line.substr(1, close - 1) + "\x1b[0m] " + std::string(2 * (atom - close - 2), ' ') +
            "\x1b[32;01m" + line.substr(atom) + "\n";
  }
  auto g2 = parse_emerge_graph(wide);
  ASSERT_TRUE(g2.ok()) << g2.error().message;
  EXPECT_EQ(atoms_of(*g2), atoms_of(*g));
  EXPECT_EQ(g2->edges, g->edges);
}

TEST(EmergeGraph, OnePackagePrintedTwiceIsOneNode) {
  auto g = parse_emerge_graph(
      "[ebuild  N     ] a-b/top-1\n"
      "[ebuild  N     ]  a-b/dep-1\n"
      "[ebuild   R    ] a-b/dep-1\n"
      "[ebuild  N     ]  a-b/top-1\n");  // a dependency cycle, as a hand-edited list could hold
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(atoms_of(*g), (std::vector<std::string>{"a-b/dep-1", "a-b/top-1"}));
  EXPECT_TRUE(g->packages[0].rebuild);
  EXPECT_EQ(g->edges, (std::vector<PretendEdge>{{"a-b/top-1", "a-b/dep-1"}, {"a-b/dep-1", "a-b/top-1"}}));
}

TEST(EmergeGraph, FailsLikeTheListParser) {
  EXPECT_FALSE(parse_emerge_graph("hello\n").ok());
  EXPECT_FALSE(parse_emerge_graph("[ebuild  N     ]  not-an-atom\n").ok());
  auto empty = parse_emerge_graph("Total: 0 packages, Size of downloads: 0 KiB\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->packages.empty());
}

}  // namespace
}  // namespace swarm
