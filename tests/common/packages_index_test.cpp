#include "common/packages_index.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace swarm {
namespace {

const PackagesEntry* find_cpv(const PackagesIndex& index, const std::string& cpv) {
  for (const auto& e : index.packages) {
    auto it = e.find("CPV");
    if (it != e.end() && it->second == cpv) return &e;
  }
  return nullptr;
}

TEST(PackagesIndex, ParsesAmd64Fixture) {
  auto text = test::read_file(test::fixture("binhost-Packages-01-amd64-17.1-systemd-clang-2023.txt"));
  auto r = parse_packages(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& index = *r;
  EXPECT_EQ(index.header.at("PACKAGES"), "161");
  EXPECT_EQ(index.packages.size(), 161u);
  EXPECT_EQ(index.header.at("VERSION"), "0");
  EXPECT_EQ(index.header.at("TIMESTAMP"), "1689963671");
  EXPECT_EQ(index.header.at("PROFILE"), "default/linux/amd64/17.1/systemd/clang/merged-usr");

  const auto* adm = find_cpv(index, "acct-group/adm-0-r2");
  ASSERT_NE(adm, nullptr);
  EXPECT_EQ(adm->at("BUILD_ID"), "1");
  EXPECT_EQ(adm->at("BUILD_TIME"), "1689961396");
  EXPECT_EQ(adm->at("PATH"), "acct-group/adm/adm-0-r2-1.xpak");
  EXPECT_EQ(adm->at("SIZE"), "9839");
  EXPECT_EQ(adm->at("USE"), "abi_x86_64 amd64 elibc_glibc kernel_linux");
  EXPECT_EQ(adm->at("REPO"), "gentoo");
  for (const auto& e : index.packages) EXPECT_TRUE(e.count("PATH")) << e.at("CPV");
}

TEST(PackagesIndex, ParsesOldArmFixture) {
  auto text = test::read_file(test::fixture("binhost-Packages-02-arm-armv6j-2013.txt"));
  auto r = parse_packages(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header.at("PACKAGES"), "49");
  EXPECT_EQ(r->packages.size(), 49u);
  EXPECT_EQ(r->header.at("CHOST"), "armv6j-hardfloat-linux-gnueabi");
  EXPECT_EQ(r->header.at("SYNC"), "rsync://rsync.gentoo.org/gentoo-portage");
  const auto* ctags = find_cpv(*r, "app-admin/eselect-ctags-1.14");
  ASSERT_NE(ctags, nullptr);
  EXPECT_EQ(ctags->at("DESC"), "Manages ctags implementations");
  EXPECT_EQ(ctags->at("RDEPEND"), ">=app-admin/eselect-1.2.3");
  EXPECT_EQ(ctags->count("BUILD_ID"), 0u);
  EXPECT_NE(find_cpv(*r, "app-arch/lbzip2-2.2-r1"), nullptr);
}

TEST(PackagesIndex, FixturesRoundTripThroughFormat) {
  for (const char* name :
       {"binhost-Packages-01-amd64-17.1-systemd-clang-2023.txt", "binhost-Packages-02-arm-armv6j-2013.txt"}) {
    auto first = parse_packages(test::read_file(test::fixture(name)));
    ASSERT_TRUE(first.ok()) << name << ": " << first.error().message;
    std::string text = format_packages(*first);
    auto second = parse_packages(text);
    ASSERT_TRUE(second.ok()) << name << ": " << second.error().message;
    EXPECT_EQ(second->header, first->header) << name;
    ASSERT_EQ(second->packages.size(), first->packages.size()) << name;
    // Formatting is a fixed point.
    EXPECT_EQ(format_packages(*second), text) << name;
    for (const auto& e : first->packages) {
      const auto* other = find_cpv(*second, e.at("CPV"));
      ASSERT_NE(other, nullptr);
      if (!e.count("BUILD_ID")) {
        EXPECT_EQ(*other, e);
      }
    }
  }
}

TEST(PackagesIndex, FormatSortsAndCounts) {
  PackagesIndex index;
  index.header = {{"VERSION", "0"}, {"TIMESTAMP", "100"}, {"PACKAGES", "99"}};
  index.packages = {
      {{"CPV", "b/y-1"}, {"BUILD_ID", "10"}, {"PATH", "b/y/y-1-10.gpkg.tar"}},
      {{"CPV", "b/y-1"}, {"BUILD_ID", "9"}, {"PATH", "b/y/y-1-9.gpkg.tar"}, {"SLOT", ""}},
      {{"CPV", "a/x-2"}, {"PATH", "a/x/x-2-1.gpkg.tar"}, {"BUILD_ID", "1"}},
  };
  EXPECT_EQ(format_packages(index),
            "PACKAGES: 3\nTIMESTAMP: 100\nVERSION: 0\n\n"
            "BUILD_ID: 1\nCPV: a/x-2\nPATH: a/x/x-2-1.gpkg.tar\n\n"
            "BUILD_ID: 9\nCPV: b/y-1\nPATH: b/y/y-1-9.gpkg.tar\n\n"
            "BUILD_ID: 10\nCPV: b/y-1\nPATH: b/y/y-1-10.gpkg.tar\n\n");
}

TEST(PackagesIndex, ToleratesBlankLinesAndCrlf) {
  auto r = parse_packages("\n\nVERSION: 0\r\nTIMESTAMP: 5\r\n\r\n\r\nCPV: a/b-1\nUSE:\n\n\n\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header.at("TIMESTAMP"), "5");
  ASSERT_EQ(r->packages.size(), 1u);
  EXPECT_EQ(r->packages[0].at("USE"), "");
  // A header with no packages is a valid, empty binhost.
  auto empty = parse_packages("VERSION: 0\nTIMESTAMP: 1\nPACKAGES: 0\n\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->packages.empty());
}

TEST(PackagesIndex, RejectsMalformedInput) {
  auto garbage = parse_packages("VERSION: 0\nTIMESTAMP: 1\n\nCPV: a/b-1\nthis is not a field\n");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().kind, ErrorKind::invalid);
  EXPECT_NE(garbage.error().message.find("line 5"), std::string::npos) << garbage.error().message;

  auto no_space = parse_packages("VERSION:0\n");
  ASSERT_FALSE(no_space.ok());
  EXPECT_NE(no_space.error().message.find("line 1"), std::string::npos);

  auto bad_key = parse_packages("VERSION: 0\n\nCPV: a/b-1\nBAD KEY: x\n");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.error().message.find("line 4"), std::string::npos);

  auto no_cpv = parse_packages("VERSION: 0\n\nCPV: a/b-1\n\nPATH: a/b/b-1.gpkg.tar\nSIZE: 3\n");
  ASSERT_FALSE(no_cpv.ok());
  EXPECT_NE(no_cpv.error().message.find("line 5"), std::string::npos) << no_cpv.error().message;
  EXPECT_NE(no_cpv.error().message.find("CPV"), std::string::npos);

  auto repeated = parse_packages("VERSION: 0\n\nCPV: a/b-1\nCPV: a/b-2\n");
  ASSERT_FALSE(repeated.ok());
  EXPECT_NE(repeated.error().message.find("line 4"), std::string::npos);

  EXPECT_FALSE(parse_packages("").ok());
  EXPECT_FALSE(parse_packages("\n\n  \n").ok());
  EXPECT_FALSE(parse_packages(": value\n").ok());
}

TEST(PackagesIndex, FindBuiltEntryPicksHighestBuildIdNotBeforeStart) {
  PackagesIndex index;
  index.header = {{"VERSION", "0"}};
  index.packages = {
      {{"CPV", "dev-libs/foo-1.0"},
       {"BUILD_ID", "1"},
       {"BUILD_TIME", "1000"},
       {"PATH", "dev-libs/foo/foo-1.0-1.gpkg.tar"}},
      {{"CPV", "dev-libs/foo-1.0"},
       {"BUILD_ID", "3"},
       {"BUILD_TIME", "2000"},
       {"PATH", "dev-libs/foo/foo-1.0-3.gpkg.tar"}},
      {{"CPV", "dev-libs/foo-1.0"},
       {"BUILD_ID", "2"},
       {"BUILD_TIME", "2500"},
       {"PATH", "dev-libs/foo/foo-1.0-2.gpkg.tar"}},
      {{"CPV", "dev-libs/foo-1.1"},
       {"BUILD_ID", "9"},
       {"BUILD_TIME", "3000"},
       {"PATH", "dev-libs/foo/foo-1.1-9.gpkg.tar"}},
      {{"CPV", "dev-libs/foo-1.0"},
       {"BUILD_ID", "7"},
       {"BUILD_TIME", "bogus"},
       {"PATH", "dev-libs/foo/foo-1.0-7.gpkg.tar"}},
  };
  auto e = find_built_entry(index, "dev-libs/foo-1.0", 1500);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->at("BUILD_ID"), "3");
  EXPECT_EQ(e->at("PATH"), "dev-libs/foo/foo-1.0-3.gpkg.tar");

  // A start exactly at BUILD_TIME counts.
  e = find_built_entry(index, "dev-libs/foo-1.0", 2500);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->at("BUILD_ID"), "2");

  EXPECT_FALSE(find_built_entry(index, "dev-libs/foo-1.0", 2501).has_value());
  EXPECT_FALSE(find_built_entry(index, "dev-libs/foo", 0).has_value());
  e = find_built_entry(index, "dev-libs/foo-1.0", 0);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->at("BUILD_ID"), "3");
}

TEST(PackagesIndex, FindBuiltEntryInFixture) {
  auto r = parse_packages(test::read_file(test::fixture("binhost-Packages-01-amd64-17.1-systemd-clang-2023.txt")));
  ASSERT_TRUE(r.ok());
  auto e = find_built_entry(*r, "acct-group/adm-0-r2", 1689961396);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->at("PATH"), "acct-group/adm/adm-0-r2-1.xpak");
  EXPECT_FALSE(find_built_entry(*r, "acct-group/adm-0-r2", 1689961397).has_value());
}

TEST(PackagesIndex, RemoveEntryByPath) {
  PackagesIndex index;
  index.header = {{"VERSION", "0"}, {"PACKAGES", "2"}};
  index.packages = {
      {{"CPV", "a/b-1"}, {"PATH", "a/b/b-1-1.gpkg.tar"}},
      {{"CPV", "a/b-1"}, {"PATH", "a/b/b-1-2.gpkg.tar"}},
  };
  ASSERT_TRUE(remove_entry(index, "a/b/b-1-1.gpkg.tar").ok());
  ASSERT_EQ(index.packages.size(), 1u);
  EXPECT_EQ(index.packages[0].at("PATH"), "a/b/b-1-2.gpkg.tar");
  EXPECT_EQ(index.header.at("PACKAGES"), "1");
  auto again = remove_entry(index, "a/b/b-1-1.gpkg.tar");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace swarm
