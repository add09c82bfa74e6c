#include "common/emerge_pretend.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/test_support.hpp"

namespace swarm {
namespace {

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

}  // namespace
}  // namespace swarm
